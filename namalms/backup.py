"""Backups: one archive with the database, content/, the signing keys and the instance config.

``flask --app namalms backup create [FILE]`` writes a ``.tar.gz`` (mode 0600: it holds personal
data and private keys) with

- ``database/namalms.sqlite3`` – a consistent copy made with SQLite's online backup API, which
  includes what still sits in the write-ahead log (a plain file copy of a running database
  loses it), or ``database/namalms.pgdump`` – ``pg_dump --format=custom``;
- ``content/…`` – the authoring folder (the files ``content sync`` reads);
- ``keys/…`` – the certificate signing key ring (every key, the active one named in ``ACTIVE``);
- ``instance/config.py`` and ``instance/secret_key`` when they exist;
- ``manifest.json`` – what is in it, from which installation and schema revision, and the
  SHA-256 checksum and size of every other member.

``flask --app namalms backup restore FILE`` checks every checksum before it changes anything,
then restores into this installation. It refuses to overwrite data – a database with rows,
content or instance files that differ – unless ``--force`` is given. Keys are only ever added:
a restore never removes a key, so no certificate stops verifying.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Iterator

import click
from flask import Flask, current_app
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text
from sqlalchemy.engine import make_url

from namalms import keys
from namalms.certificates import keyring
from namalms.certificates.keyring import ACTIVE_FILE, KeyRing
from namalms.certificates.signing import public_key_pem
from namalms.extensions import db, reading
from namalms.unit_of_work import abandon

FORMAT = "namalms-backup"
VERSION = 1
MANIFEST = "manifest.json"
INSTANCE_FILES = ("config.py", "secret_key")
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do (English)."""


@dataclass
class RestoreReport:
    created_at: str
    dialect: str
    revision: str | None
    counts: dict[str, int]
    content_files: int
    keys_added: list[str]
    instance_files: list[str]
    notes: list[str] = field(default_factory=list)


# --- helpers --------------------------------------------------------------------------------------

def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sqlite_path(url) -> Path:
    database = url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _libpq(url) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment carrying it (so the
    password never shows in the process list)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    try:
        finished = subprocess.run(command, env=env, capture_output=True, text=True)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed; it is needed to {what} "
                          f"(Debian: apt install postgresql-client)") from None
    if finished.returncode != 0:
        raise BackupError(f"{command[0]} failed while trying to {what}: {finished.stderr.strip()[:2000]}")


def _database_url():
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])


def _schema_revision() -> str | None:
    try:
        with reading():
            return db.session.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception:  # no alembic table: a database that was never migrated
        abandon()
        return None


def _row_counts() -> dict[str, int]:
    """Rows per table of the app (tables that do not exist yet count as empty). Only reads: on
    SQLite it never takes the write lock, so a backup does not hold up a running server."""
    with reading():
        existing = set(sa_inspect(db.session.connection()).get_table_names())
        counts = {}
        for table in db.metadata.sorted_tables:
            if table.name in existing:
                counts[table.name] = db.session.scalar(text(f'SELECT count(*) FROM "{table.name}"')) or 0
    abandon()
    return counts


def _content_files(root: Path) -> Iterator[tuple[str, Path]]:
    """The files of content/ a backup holds: everything but hidden files (editor and staging
    leftovers such as ``.NAME.md.XXXX.tmp``, which the loader ignores as well)."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            yield relative.as_posix(), path


def _ring_files(ring: KeyRing) -> dict[str, bytes]:
    """The ring as files of a ring directory: private keys, public-only keys, ACTIVE."""
    files = {f"{kid}.pem": keyring.private_pem(key) for kid, key in ring.private.items()}
    for kid, key in ring.public.items():
        if kid not in ring.private:
            files[f"{kid}.pem"] = public_key_pem(key).encode("ascii")
    if ring.active_id:
        files[ACTIVE_FILE] = (ring.active_id + "\n").encode("ascii")
    return files


@contextmanager
def _private_directory(near: Path) -> Iterator[Path]:
    """A temporary directory (mode 0700) on the file system of ``near``."""
    near.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix=".namalms-backup-", dir=near))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# --- create -----------------------------------------------------------------------------------------

def default_archive_path(app: Flask) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%SZ")
    return Path(app.instance_path) / "backups" / f"namalms-backup-{stamp}.tar.gz"


def create_backup(target: Path) -> dict:
    """Write the backup archive to ``target`` (atomically, mode 0600); returns its manifest."""
    app = current_app._get_current_object()
    target = Path(target).resolve()
    if target.exists():
        raise BackupError(f"{target} exists already; choose another file name")
    url = _database_url()
    ring = keys.ring()
    with _private_directory(target.parent) as work:
        members: dict[str, Path] = {}
        dump = work / "database"
        dump.mkdir()
        if url.get_backend_name() == "sqlite":
            copy = dump / "namalms.sqlite3"
            _sqlite_online_copy(_sqlite_path(url), copy)
            members["database/namalms.sqlite3"] = copy
        elif url.get_backend_name() == "postgresql":
            copy = dump / "namalms.pgdump"
            uri, env = _libpq(url)
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={copy}",
                  f"--dbname={uri}"], env, "dump the database")
            members["database/namalms.pgdump"] = copy
        else:
            raise BackupError(f"cannot back up a {url.get_backend_name()} database")
        for relative, path in _content_files(Path(app.config["CONTENT_DIR"])):
            members[f"content/{relative}"] = path
        key_dir = work / "keys"
        key_dir.mkdir(mode=0o700)
        for name, data in _ring_files(ring).items():
            (key_dir / name).write_bytes(data)
            os.chmod(key_dir / name, 0o600)
            members[f"keys/{name}"] = key_dir / name
        for name in INSTANCE_FILES:
            path = Path(app.instance_path) / name
            if path.is_file():
                members[f"instance/{name}"] = path
        manifest = {
            "format": FORMAT, "version": VERSION,
            "created_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
            "database": {"dialect": url.get_backend_name(), "schema_revision": _schema_revision(),
                         "counts": _row_counts()},
            "keys": {"active_key_id": ring.active_id, "key_ids": ring.ids()},
            "files": {name: {"sha256": sha256_of(path), "size": path.stat().st_size}
                      for name, path in sorted(members.items())},
        }
        partial = work / "archive.tar.gz"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8"))
            for name, path in sorted(members.items()):
                _add_file(archive, name, path)
            raw.flush()
        os.replace(partial, target)
    return manifest


def _sqlite_online_copy(source: Path, destination: Path) -> None:
    """A consistent copy of a live SQLite database, WAL included (SQLite's online backup API)."""
    if not source.is_file():
        raise BackupError(f"the SQLite database {source} does not exist")
    reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    writer = sqlite3.connect(destination)
    try:
        reader.backup(writer)
    finally:
        writer.close()
        reader.close()


def _tar_info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = int(datetime.now(timezone.utc).timestamp())
    return info


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    archive.addfile(_tar_info(name, len(data)), io.BytesIO(data))


def _add_file(archive: tarfile.TarFile, name: str, path: Path) -> None:
    with open(path, "rb") as handle:
        archive.addfile(_tar_info(name, path.stat().st_size), handle)


# --- restore ----------------------------------------------------------------------------------------

def read_archive(archive_path: Path, into: Path) -> dict:
    """Unpack ``archive_path`` into ``into`` after checking every member against the manifest.

    Only regular files named in the manifest are accepted, by plain relative names; a member
    whose size or SHA-256 differs from the manifest refuses the whole archive.
    """
    archive_path = Path(archive_path)
    if not archive_path.is_file():
        raise BackupError(f"{archive_path} does not exist")
    try:
        with tarfile.open(archive_path, mode="r:gz") as archive:
            manifest_member = archive.getmember(MANIFEST)
            manifest = json.loads(archive.extractfile(manifest_member).read().decode("utf-8"))
            if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
                raise BackupError(f"{archive_path} is not a namalms backup of format version {VERSION}")
            expected = manifest.get("files", {})
            seen = set()
            for member in archive.getmembers():
                if member.name == MANIFEST:
                    continue
                name = member.name
                parts = PurePosixPath(name).parts
                if (not member.isfile() or name not in expected or name.startswith("/") or ".." in parts
                        or parts[0] not in ("database", "content", "keys", "instance")):
                    raise BackupError(f"{archive_path} holds an unexpected member {name!r}; refusing it")
                target = into.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                size = 0
                source = archive.extractfile(member)
                with open(target, "wb") as handle:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        handle.write(chunk)
                if digest.hexdigest() != expected[name]["sha256"] or size != expected[name]["size"]:
                    raise BackupError(f"{archive_path} is damaged: the checksum of {name} does not match "
                                      f"its manifest. Nothing was restored.")
                seen.add(name)
            missing = set(expected) - seen
            if missing:
                raise BackupError(f"{archive_path} is incomplete: {len(missing)} member(s) of the manifest are "
                                  f"missing (e.g. {sorted(missing)[0]}). Nothing was restored.")
    except (tarfile.TarError, KeyError, EOFError, OSError, ValueError) as error:
        if isinstance(error, BackupError):
            raise
        raise BackupError(f"{archive_path} cannot be read as a namalms backup ({error}). Nothing was restored.") \
            from None
    return manifest


def _known_revisions() -> set[str]:
    from namalms.config import PROJECT_ROOT

    revisions = set()
    for path in (PROJECT_ROOT / "migrations" / "versions").glob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("revision = "):
                revisions.add(line.split("=", 1)[1].strip().strip("'\""))
    return revisions


def _conflicts(manifest: dict) -> list[str]:
    """What a restore would overwrite in this installation (empty: it is safe without --force)."""
    app = current_app._get_current_object()
    found = []
    rows = {name: count for name, count in _row_counts().items() if count}
    if rows:
        found.append("the database holds data (" + ", ".join(f"{n} {t}" for t, n in sorted(rows.items())[:5]) + ")")
    root = Path(app.config["CONTENT_DIR"])
    wanted = {name[len("content/"):] for name in manifest["files"] if name.startswith("content/")}
    present = dict(_content_files(root))
    differing = [name for name in sorted(present)
                 if name not in wanted or sha256_of(present[name]) != manifest["files"][f"content/{name}"]["sha256"]]
    if differing:
        found.append(f"{len(differing)} file(s) in {root} differ from the backup (e.g. {differing[0]})")
    for name in INSTANCE_FILES:
        path = Path(app.instance_path) / name
        member = f"instance/{name}"
        if path.is_file() and member in manifest["files"] and sha256_of(path) != manifest["files"][member]["sha256"]:
            found.append(f"{path} differs from the backup")
    return found


def restore_backup(archive_path: Path, *, force: bool = False) -> RestoreReport:
    """Restore the archive into this installation (see the module docstring)."""
    app = current_app._get_current_object()
    url = _database_url()
    with _private_directory(Path(app.instance_path)) as work:
        manifest = read_archive(archive_path, work)
        database = manifest["database"]
        if database["dialect"] != url.get_backend_name():
            raise BackupError(f"the backup holds a {database['dialect']} database, this installation uses "
                              f"{url.get_backend_name()}; restore it into a {database['dialect']} installation")
        revision = database.get("schema_revision")
        if revision and revision not in _known_revisions():
            raise BackupError(f"the backup's schema revision {revision} is unknown to this version of namalms "
                              f"(the backup is newer); install the version that made it, then restore")
        conflicts = _conflicts(manifest)
        if conflicts and not force:
            raise BackupError("refusing to overwrite existing data: " + "; ".join(conflicts)
                              + ". Restore into an empty installation, or pass --force to replace it.")
        db.session.remove()
        db.engine.dispose()
        if url.get_backend_name() == "sqlite":
            _restore_sqlite(work / "database" / "namalms.sqlite3", _sqlite_path(url))
        else:
            uri, env = _libpq(url)
            _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
                  "--exit-on-error", f"--dbname={uri}", str(work / "database" / "namalms.pgdump")],
                 env, "restore the database")
        content_files = _restore_content(work / "content", Path(app.config["CONTENT_DIR"]))
        keys_added = _restore_keys(work / "keys", force=force)
        instance_files = _restore_instance(work / "instance", Path(app.instance_path))
    db.engine.dispose()
    notes = []
    if revision != _head_revision():
        notes.append("the code is newer than the backup: run `flask --app namalms db upgrade`")
    return RestoreReport(manifest["created_at"], database["dialect"], revision, database.get("counts", {}),
                         content_files, keys_added, instance_files, notes)


def _head_revision() -> str | None:
    """The newest migration of this code (the one no other revision names as its parent)."""
    from namalms.config import PROJECT_ROOT

    revisions, parents = set(), set()
    for path in (PROJECT_ROOT / "migrations" / "versions").glob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("revision = "):
                revisions.add(line.split("=", 1)[1].strip().strip("'\""))
            elif line.startswith("down_revision = "):
                parents.add(line.split("=", 1)[1].strip().strip("'\""))
    heads = revisions - parents
    return next(iter(heads)) if len(heads) == 1 else None


def _restore_sqlite(source: Path, target: Path) -> None:
    """Replace the target database's content page by page (online backup API, WAL-safe)."""
    from namalms.config import create_private_sqlite_file

    create_private_sqlite_file(f"sqlite:///{target}")
    reader = sqlite3.connect(source)
    writer = sqlite3.connect(target, timeout=30)
    try:
        reader.backup(writer)
    finally:
        writer.close()
        reader.close()


def _restore_content(source: Path, root: Path) -> int:
    """Make ``root`` hold exactly the backup's files (hidden files are left alone)."""
    root.mkdir(parents=True, exist_ok=True)
    wanted = {path.relative_to(source).as_posix(): path for path in source.rglob("*") if path.is_file()} \
        if source.is_dir() else {}
    for relative, _ in list(_content_files(root)):
        if relative not in wanted:
            (root / relative).unlink()
    for relative, path in wanted.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{target.name}.restore.tmp")
        shutil.copyfile(path, staged)
        os.replace(staged, target)
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return len(wanted)


def _restore_keys(source: Path, *, force: bool) -> list[str]:
    """Add the backup's keys to this installation's ring; never remove or replace one."""
    location = keys.signing_keys().location
    files = {path.name: path.read_bytes() for path in source.glob("*.pem")} if source.is_dir() else {}
    active_file = source / ACTIVE_FILE
    active = active_file.read_text(encoding="ascii").strip() if active_file.is_file() else None
    had_keys = keyring.has_keys(location)
    if keyring.is_single_file(location):
        if had_keys:
            present = keyring.read_ring(location)
            missing = [name for name in files if name.removesuffix(".pem") not in present.public]
            if missing:
                raise BackupError(f"this installation keeps one key file ({location}), the backup has other keys; "
                                  f"point NAMALMS_SIGNING_KEY_FILE at a key ring directory to restore them all")
            return []
        if len(files) != 1 or active is None:
            raise BackupError(f"the backup holds {len(files)} keys; point NAMALMS_SIGNING_KEY_FILE at a key ring "
                              f"directory (not the single file {location}) to restore them all")
        location.parent.mkdir(parents=True, exist_ok=True)
        location.write_bytes(files[f"{active}.pem"])
        os.chmod(location, 0o600)
        return [active]
    return keyring.import_keys(location, files, active if (force or not had_keys) else None)


def _restore_instance(source: Path, instance: Path) -> list[str]:
    restored = []
    for name in INSTANCE_FILES:
        path = source / name
        if path.is_file():
            target = instance / name
            staged = instance / f".{name}.restore.tmp"
            descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(path.read_bytes())
            os.replace(staged, target)
            restored.append(name)
    return restored


# --- command line ---------------------------------------------------------------------------------


@click.group("backup", help="Back up and restore database, content, keys and instance config in one archive.")
def backup_cli() -> None:
    pass


@backup_cli.command("create")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
def backup_create(file: str | None) -> None:
    """Write a backup archive (default: instance/backups/namalms-backup-<UTC time>.tar.gz)."""
    target = Path(file) if file else default_archive_path(current_app._get_current_object())
    try:
        manifest = create_backup(target)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    counts = manifest["database"]["counts"]
    content = sum(1 for name in manifest["files"] if name.startswith("content/"))
    click.echo(f"Backup written to {target} ({target.stat().st_size / 1_000_000:.1f} MB, readable by its owner only): "
               f"{manifest['database']['dialect']} database at revision {manifest['database']['schema_revision']} "
               f"({counts.get('user', 0)} users, {counts.get('certificate', 0)} certificates), {content} content "
               f"files, {len(manifest['keys']['key_ids'])} signing key(s). Copy it offsite; it holds personal data "
               f"and private keys, so encrypt it there.")


@backup_cli.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="replace the data of this installation (keys are only ever added)")
def backup_restore(file: str, force: bool) -> None:
    """Restore a backup archive into this installation (an empty one, unless --force)."""
    try:
        report = restore_backup(Path(file), force=force)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Restored the backup of {report.created_at}: {report.dialect} database at revision {report.revision} "
               f"({report.counts.get('user', 0)} users, {report.counts.get('certificate', 0)} certificates), "
               f"{report.content_files} content files, signing keys added: {', '.join(report.keys_added) or 'none'}, "
               f"instance files: {', '.join(report.instance_files) or 'none'}.")
    for note in report.notes:
        click.echo(f"Next: {note}")
    click.echo("Restart the app servers so that they read the restored keys and configuration.")
