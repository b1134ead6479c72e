"""Backup and restore round trip on SQLite and PostgreSQL: an old certificate still verifies and
`content sync` finds nothing to do; damaged archives and overwriting are refused."""
from __future__ import annotations

import io
import json
import stat
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from namalms import create_app
from namalms.config import normalise_database_url
from namalms.extensions import db
from namalms.models import Certificate, ContentRevision
from tests.conftest import app_config, drop_postgres_database, recreate_postgres_database
from tests.web.test_certificates import certificates_of, work_through

pytestmark = pytest.mark.both_databases  # its behaviour depends on the database


def empty_database(source_url: str, tmp_path: Path) -> str:
    """A second, empty database of the same kind, as on a freshly provisioned server."""
    if source_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    return recreate_postgres_database(source_url, f"{make_url(normalise_database_url(source_url)).database}_restore")


def drop_database(url: str) -> None:
    if not url.startswith("sqlite"):
        drop_postgres_database(url)


def fresh_installation(url: str, root: Path):
    """An app for a new server: its own instance folder, content folder and key ring location."""
    instance = root / "instance"
    return create_app(app_config(url, CONTENT_DIR=str(root / "content"),
                                 SIGNING_KEY_FILE=str(instance / "signing-keys")),
                      instance_path=str(instance))


def invoke(app, *args):
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
    return result


@pytest.fixture
def restored_url(app, tmp_path):
    url = empty_database(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path)
    yield url
    drop_database(url)


def test_a_backup_restores_into_an_empty_installation_and_everything_still_verifies(
        app, runner, learner, tmp_path, restored_url):
    work_through(learner, "grundlagenkurs")
    [certificate] = certificates_of(learner)
    code, number = certificate.verification_code, certificate.number
    revisions = db.session.scalar(select(func.count()).select_from(ContentRevision))
    (Path(app.instance_path) / "config.py").write_text("# Einstellungen dieser Installation\n")
    archive = tmp_path / "backup.tar.gz"

    created = runner.invoke(args=["backup", "create", str(archive)])
    assert created.exit_code == 0, created.output
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600, "personal data and private keys: owner only"
    with tarfile.open(archive) as bundle:
        manifest = json.load(bundle.extractfile("manifest.json"))
        names = set(bundle.getnames())
    assert set(manifest["files"]) | {"manifest.json"} == names
    assert all(len(entry["sha256"]) == 64 for entry in manifest["files"].values())
    assert manifest["database"]["counts"]["certificate"] == 1
    assert any(name.startswith("keys/") for name in names) and "instance/config.py" in names
    assert "content/grundlagenkurs/01-agenda-2030.md" in names

    target = fresh_installation(restored_url, tmp_path / "new-server")
    restored = invoke(target, "backup", "restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert "Restored the backup" in restored.output

    server = fresh_installation(restored_url, tmp_path / "new-server")  # the app servers restart
    client = server.test_client()
    page = client.get(f"/verify/{code}")
    assert page.status_code == 200 and "Gültig" in page.get_data(as_text=True)
    document = client.get(f"/verify/{code}.json")
    (tmp_path / "cert.json").write_bytes(document.data)
    verified = invoke(server, "certificates", "verify", str(tmp_path / "cert.json"))
    assert verified.exit_code == 0 and f"VALID: {number}" in verified.output, verified.output
    synced = invoke(server, "content", "sync")
    assert synced.exit_code == 0 and "0 new revision(s)" in synced.output, synced.output
    with server.app_context():
        assert db.session.scalar(select(func.count()).select_from(ContentRevision)) == revisions
        assert db.session.scalar(select(Certificate.number).where(Certificate.verification_code == code)) == number
        db.engine.dispose()
    assert (tmp_path / "new-server" / "instance" / "config.py").read_text().startswith("# Einstellungen")


def test_restore_refuses_to_overwrite_data_without_force(app, runner, learner, tmp_path):
    work_through(learner, "grundlagenkurs")
    archive = tmp_path / "backup.tar.gz"
    assert runner.invoke(args=["backup", "create", str(archive)]).exit_code == 0
    refused = runner.invoke(args=["backup", "restore", str(archive)])
    assert refused.exit_code == 1 and "refusing to overwrite existing data" in refused.output
    assert "--force" in refused.output


def test_a_damaged_archive_is_refused_before_anything_changes(app, runner, tmp_path, restored_url):
    archive = tmp_path / "backup.tar.gz"
    assert runner.invoke(args=["backup", "create", str(archive)]).exit_code == 0
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name == "content/programme.yml":
                data = data.replace(b"Pro-Zertifikat", b"Pfusch-Zertifikat")
            member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    server = fresh_installation(restored_url, tmp_path / "new-server")
    result = invoke(server, "backup", "restore", str(damaged))
    assert result.exit_code == 1 and "checksum of content/programme.yml does not match" in result.output
    assert not (tmp_path / "new-server" / "content" / "programme.yml").exists()


def test_an_sqlite_backup_holds_what_is_still_in_the_write_ahead_log(app, runner, learner, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        pytest.skip("SQLite's write-ahead log only")
    work_through(learner, "grundlagenkurs")
    wal = Path(make_url(url).database + "-wal")
    assert wal.exists() and wal.stat().st_size > 0, "committed rows wait in the WAL"
    archive = tmp_path / "backup.tar.gz"
    assert runner.invoke(args=["backup", "create", str(archive)]).exit_code == 0
    with tarfile.open(archive) as bundle:
        (tmp_path / "copy.sqlite3").write_bytes(bundle.extractfile("database/namalms.sqlite3").read())
    engine = create_engine(f"sqlite:///{tmp_path / 'copy.sqlite3'}")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM certificate")).scalar() == 1
    engine.dispose()
