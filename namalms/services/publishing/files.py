"""The content folder: where it is, checking a change on a copy of it, writing files back.

A change is checked by running the very checks of ``flask content check`` on a temporary copy
of ``content/`` with the change applied, so problems in other files are caught too.
"""
from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
from pathlib import Path

from flask import current_app

from namalms.content.listing import CourseListing, ListingError, read_listing, set_order_line, write_listing
from namalms.content.loader import load_tree
from namalms.services import ServiceError
from namalms.services.content_sync import latest_revision

MESSAGE_MAX = 500


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
    with tempfile.TemporaryDirectory(prefix="namalms-pruefung-") as temporary:
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
        return load_tree(candidate)


def write_files(changes: dict[str, bytes | None]) -> None:
    """Write content files atomically: a temporary file in the same folder, then ``os.replace``.

    All new files are staged before the first one replaces its original, so a full disk or a
    permission problem leaves every file as it was. None deletes a file.
    """
    root = content_root()
    staged: list[tuple[str, Path]] = []
    try:
        for relative, data in changes.items():
            if data is None:
                continue
            target = inside(root, relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            staged.append((temporary, target))
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temporary, target.stat().st_mode & 0o777 if target.exists() else 0o644)
    except OSError as error:
        for temporary, _ in staged:
            Path(temporary).unlink(missing_ok=True)
        raise ServiceError(f"Die Datei konnte nicht in den Inhaltsordner geschrieben werden "
                           f"({error.strerror or error}). Es wurde nichts veröffentlicht.") from None
    for temporary, target in staged:
        os.replace(temporary, target)
    for relative, data in changes.items():
        if data is None:
            inside(root, relative).unlink(missing_ok=True)


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
