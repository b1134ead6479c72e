"""The content folder: where it is, checking a change on a copy of it, writing files back.

A change is checked by running the very checks of ``flask content check`` on a temporary copy
of ``content/`` with the change applied, so problems in other files are caught too.
"""
from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from namalms.content.listing import CourseListing, ListingError, read_listing, set_order_line, write_listing
from namalms.content.bounded import TooSlow, run_with_deadline
from namalms.content.loader import LoadResult, keep_parsed_modules, load_tree_seeded, parse_module, parsed_modules
from namalms.content.model import Problem
from namalms.content.recent import RecentResults
from namalms.extensions import db
from namalms.models import ContentWrite
from namalms.services import ServiceError
from namalms.services.content_sync import latest_revision

MESSAGE_MAX = 500
CHECK_PREFIX = "namalms-pruefung-"  # temporary copies of content/ for checking a change
log = logging.getLogger(__name__)


def content_root() -> Path:
    """The authoring folder the app writes back to (``CONTENT_DIR``)."""
    return Path(current_app.config["CONTENT_DIR"])


def inside(root: Path, relative: str) -> Path:
    """The absolute path of a content-relative path; refuses anything leaving the folder."""
    target = (root / relative).resolve()
    if target != root.resolve() and root.resolve() not in target.parents:
        raise ServiceError(f"Ungültiger Pfad „{relative}“.")
    return target


def check_candidate(changes: dict[str, bytes | None], *, replace_folder: str | None = None):
    """Run the full content check on ``content/`` with ``changes`` applied, in a temporary copy.

    ``changes`` maps content-relative paths to new bytes (None deletes); ``replace_folder``
    empties a course folder first (a zip upload replaces the whole folder). Returns the
    loader's result: every problem, or the candidate tree.
    """
    root = content_root()
    key = ("tree", str(root.resolve()), _fingerprint(root), replace_folder, check_timeout(),
           tuple(sorted((path, None if data is None else hashlib.sha256(data).hexdigest())
                        for path, data in changes.items())))
    try:
        return _checked.get(key, lambda: _check_candidate(root, changes, replace_folder))
    except TooSlow:
        return LoadResult(None, [Problem(".", 1, too_slow_message())])


def _check_candidate(root: Path, changes: dict[str, bytes | None], replace_folder: str | None):
    """The check itself (``TooSlow`` when it ran over its deadline)."""
    with tempfile.TemporaryDirectory(prefix=CHECK_PREFIX) as temporary:
        candidate = Path(temporary) / "content"
        if root.is_dir():
            shutil.copytree(root, candidate, ignore=shutil.ignore_patterns(".*"))
        else:
            candidate.mkdir()
        if replace_folder:
            shutil.rmtree(inside(candidate, replace_folder), ignore_errors=True)
        for relative, data in changes.items():
            target = inside(candidate, relative)
            if data is None:
                target.unlink(missing_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        # The child gets the modules this process parsed before, so it renders only what changed;
        # what it parses is kept here for the next check.
        modules = {path.relative_to(candidate).as_posix() for path in candidate.rglob("*.md")}
        result, parsed = bounded_check(load_tree_seeded, candidate, parsed_modules(modules))
        keep_parsed_modules(parsed)
        return result


# The last check results, by everything they depend on: checking the same text against the same
# content folder again ("Prüfen" pressed twice, "Veröffentlichen" after "Prüfen") answers at once.
# A check that ran out of time raises TooSlow and is not kept (the machine may just have been busy).
_checked = RecentResults(16)


def _fingerprint(root: Path) -> str:
    """A hash of every file below ``root`` (names and bytes, dot-files left out as by the check):
    a check result is only reused for exactly this content folder."""
    digest = hashlib.sha256()
    for folder, directories, files in os.walk(root):
        directories[:] = sorted(d for d in directories if not d.startswith("."))
        for name in sorted(f for f in files if not f.startswith(".")):
            path = os.path.join(folder, name)
            digest.update(os.path.relpath(path, root).encode("utf-8", "surrogateescape") + b"\0")
            try:
                with open(path, "rb") as handle:
                    digest.update(hashlib.sha256(handle.read()).digest())
            except OSError:
                digest.update(b"unreadable")
    return digest.hexdigest()


def check_timeout() -> float:
    return float(current_app.config.get("CONTENT_CHECK_TIMEOUT", 20))


def too_slow_message() -> str:
    return (f"Die Prüfung wurde nach {check_timeout():g} Sekunden abgebrochen: Der Text ist zu verschachtelt, um ihn "
            f"darzustellen (z. B. sehr tief verschachtelte Listen oder Zitate). Bitte vereinfachen Sie die Gliederung.")


def bounded_check(function, *args):
    """Run a content check (it renders Markdown) with the deadline CONTENT_CHECK_TIMEOUT, in a child
    process that is killed when it runs over (see namalms.content.bounded); ``TooSlow`` then."""
    return run_with_deadline(function, *args, seconds=check_timeout())


def parse_module_bounded(source: str, path: str, course_id: str):
    """``parse_module`` with the check's deadline; a text too slow to render is one German problem."""
    key = ("module", hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest(), path, course_id,
           check_timeout())
    try:
        module, problems = _checked.get(key, lambda: bounded_check(parse_module, source, path, course_id))
    except TooSlow:
        return None, [Problem(path, 1, too_slow_message())]
    return module, list(problems)


def write_files(changes: dict[str, bytes | None]) -> None:
    """Write content files back after the commit; the database is the commit point.

    Now: every new file is staged as a temporary file next to its target (so a full disk or a
    permission problem refuses the publication before anything is saved), and each change is
    recorded as a :class:`ContentWrite` row in the current transaction. After the commit the
    staged files replace their targets (``os.replace``, atomic) and the rows are deleted; after a
    rollback the staged files are removed. A process killed between commit and write leaves the
    rows, and :func:`complete_pending_writes` finishes them at the next start or ``content sync``.
    None deletes a file.
    """
    root = content_root()
    staged: list[tuple[Path, Path]] = []
    try:
        for relative, data in changes.items():
            if data is not None:
                staged.append((_stage(inside(root, relative), data), inside(root, relative)))
    except OSError as error:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise ServiceError(f"Die Datei konnte nicht in den Inhaltsordner geschrieben werden "
                           f"({error.strerror or error}). Es wurde nichts veröffentlicht.") from None
    rows = [ContentWrite(path=relative, data=data) for relative, data in changes.items()]
    db.session.add_all(rows)
    db.session.flush()
    deletions = [inside(root, relative) for relative, data in changes.items() if data is None]
    db.session.info.setdefault(_PENDING, []).append(
        _StagedWrite(staged, deletions, [(row.path, row.id) for row in rows]))


_PENDING = "namalms_content_writes"
STALE_AFTER = timedelta(minutes=10)


def _stage(target: Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file next to ``target`` (same file system, so the final
    ``os.replace`` is atomic) and return its path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    os.chmod(temporary, target.stat().st_mode & 0o777 if target.exists() else 0o644)
    return Path(temporary)


@dataclass
class _StagedWrite:
    """Files staged by one publication, waiting for its transaction to end."""

    staged: list[tuple[Path, Path]]
    deletions: list[Path]
    rows: list[tuple[str, int]]  # (path, ContentWrite id)

    def complete(self, bind) -> None:
        try:
            for temporary, target in self.staged:
                os.replace(temporary, target)
            for target in self.deletions:
                target.unlink(missing_ok=True)
        except OSError:
            log.exception("content write-back failed after the commit; it is retried at the next "
                          "start or `flask content sync`")
            self.discard()
            return
        _forget_writes(bind, self.rows)

    def discard(self) -> None:
        for temporary, _ in self.staged:
            temporary.unlink(missing_ok=True)


def _forget_writes(bind, rows: list[tuple[str, int]]) -> None:
    """Delete the completed rows – and any older row for the same file, which is now outdated."""
    with bind.connect() as connection:
        for path, row_id in rows:
            connection.execute(delete(ContentWrite).where(ContentWrite.path == path, ContentWrite.id <= row_id))
        connection.commit()


@event.listens_for(Session, "after_commit")
def _write_after_commit(session) -> None:
    for pending in session.info.pop(_PENDING, []):
        pending.complete(session.get_bind())


@event.listens_for(Session, "after_rollback")
def _discard_after_rollback(session) -> None:
    for pending in session.info.pop(_PENDING, []):
        pending.discard()


def complete_pending_writes() -> list[str]:
    """Finish write-backs that a killed process left behind: the newest row per file wins.

    Run at start (``wsgi.py``) and by ``flask content sync``; returns the paths written. The
    caller's unit of work commits the deletion of the rows.
    """
    root = content_root()
    rows = list(db.session.scalars(select(ContentWrite).order_by(ContentWrite.id).with_for_update()))
    newest = {row.path: row for row in rows}
    for path, row in newest.items():
        target = inside(root, path)
        if row.data is None:
            target.unlink(missing_ok=True)
        else:
            os.replace(_stage(target, row.data), target)
    for row in rows:
        db.session.delete(row)
    db.session.flush()
    return sorted(newest)


def remove_stale_temporaries(*, older_than: timedelta = STALE_AFTER) -> list[Path]:
    """Delete temporary files that a killed process left: staged files in ``content/``
    (``.NAME.md.XXXX.tmp``) and check copies (``namalms-pruefung-*`` in the temp folder).

    Only files older than ``older_than`` go, so a publication running in another worker right
    now keeps its files.
    """
    cutoff = time.time() - older_than.total_seconds()
    removed = []
    root = content_root()
    candidates = list(root.rglob(".*.tmp")) if root.is_dir() else []
    candidates += list(Path(tempfile.gettempdir()).glob(f"{CHECK_PREFIX}*"))
    for path in candidates:
        try:
            if path.lstat().st_mtime >= cutoff:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
        except OSError:
            continue
    return removed


def course_folder(course_id: str) -> str:
    """The folder of a course in ``content/``, from its published ``course.yml`` revision."""
    revision = latest_revision("course", course_id)
    if revision is None:
        raise ServiceError(f"Kurs „{course_id}“ ist unbekannt.", "course_id")
    return posixpath.dirname(revision.path)


def course_source(course_id: str) -> str:
    revision = latest_revision("course", course_id)
    if revision is None:
        raise ServiceError(f"Kurs „{course_id}“ ist unbekannt.", "course_id")
    return revision.source


def normalise_text(text: str) -> str:
    """Line endings as in git: browsers send CRLF from a textarea, Windows editors too."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def clean_message(message: str, *, required: bool = True) -> str:
    message = " ".join((message or "").split())
    if required and not message:
        raise ServiceError("Bitte beschreiben Sie die Änderung in einem kurzen Satz (z. B. „Tippfehler "
                           "in Abschnitt 2 korrigiert“) – er erscheint im Verlauf.", "message")
    if len(message) > MESSAGE_MAX:
        raise ServiceError(f"Die Beschreibung ist zu lang ({len(message)} Zeichen, höchstens {MESSAGE_MAX}).",
                           "message")
    return message


# --- course.yml and front matter edits, refused in German when the file cannot be edited --------

def read_course_listing(course_yml: str) -> CourseListing:
    try:
        return read_listing(course_yml)
    except ListingError as error:
        raise ServiceError(error.message) from None


def rewrite_course_listing(course_yml: str, listing: CourseListing) -> str:
    try:
        return write_listing(course_yml, listing)
    except ListingError as error:
        raise ServiceError(error.message) from None


def with_order(source: str, order: int) -> str:
    """The module source with its ``order:`` line set to ``order``."""
    try:
        return set_order_line(source, order)
    except ListingError as error:
        raise ServiceError(error.message) from None
