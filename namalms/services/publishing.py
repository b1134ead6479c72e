"""Publishing from the trainer workspace: the one service behind the web pages and the CLI.

Every change – a module edited in the browser, an uploaded ``.md`` file or course ``.zip``, an
image, a restored revision, a new, moved or retired module – goes the same way:

1. **Plan**: build the candidate tree (the current ``content/`` folder plus the change, in a
   temporary copy) and run the very checks of ``flask content check`` on it, so problems in other
   files (an id used twice, a missing image, ``order`` against ``course.yml``) are caught too.
2. **Refuse** with every problem (:class:`ContentProblems`) while any remains; refuse with
   :class:`ContentConflict` when somebody published the module since the editor was opened
   (checked again under a row lock inside the transaction).
3. **Publish**: new immutable revisions through :mod:`namalms.services.content_sync`, then write
   the files back into ``content/`` atomically (temporary file in the same folder + ``os.replace``)
   so a git checkout of ``content/`` stays the source. Files are written last, after the database
   flush: should the commit still fail, the folder is ahead of the database and
   ``flask content sync`` brings the database up to it – never the other way round.

Progress hangs on module ids: an edit that changes a module's id is refused; a module is never
deleted, only retired (kept as a file, listed under ``retired:`` in ``course.yml``).
Like every service this flushes and never commits; the caller commits once.
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from namalms.content import images as image_rules
from namalms.content.diffing import Diff, unified_diff
from namalms.content.loader import COURSE_FILE, ID_PATTERN, load_tree, parse_module, resolve_image_path
from namalms.content.model import ContentTree, CourseSource, ModuleSource, Problem
from namalms.content.render import render_markdown
from namalms.content.yamlnodes import LineDict, YamlError, load_yaml
from namalms.content.zipimport import ZipRejected, read_course_zip
from namalms.extensions import db
from namalms.formatting import format_datetime
from namalms.models import Asset, ContentRevision, Course, Module, ModuleProgress, User
from namalms.services import ServiceError
from namalms.services.audit import record_audit
from namalms.services.content_sync import asset_url, latest_revision, publish_course, publish_module, store_asset

MESSAGE_MAX = 500
_ID_LINE = re.compile(r"^id:[ \t]*[\"']?([^\s\"'#]+)[\"']?[ \t]*(?:#.*)?$", re.MULTILINE)
_ORDER_LINE = re.compile(r"^(order:[ \t]*)(\d+)([ \t]*(?:#.*)?)$")


# --- errors ----------------------------------------------------------------------------------


class ContentProblems(ServiceError):
    """Refused: the content with this change does not pass the content check."""

    def __init__(self, problems: list[Problem], plan=None):
        count = len(problems)
        super().__init__(f"Nicht veröffentlicht: {count} Problem{'e' if count != 1 else ''} gefunden. "
                         f"Bitte beheben und erneut prüfen.", "source")
        self.problems = problems
        self.plan = plan


class ContentConflict(ServiceError):
    """Refused: the module was published by somebody else since this edit started."""

    def __init__(self, plan, current: ContentRevision):
        who = current.author_label or "jemand anderes"
        when = format_datetime(current.created_at)
        super().__init__(
            f"Konflikt: Während Sie bearbeitet haben, hat {who} am {when} Revision {current.number} "
            f"dieses Moduls veröffentlicht. Ihre Fassung wurde nicht veröffentlicht und nichts wurde "
            f"überschrieben; Ihr Text steht unten im Editor. Vergleichen Sie ihn mit Revision "
            f"{current.number}, übernehmen Sie, was davon bleiben soll, und veröffentlichen Sie dann "
            f"erneut.", "base_revision_id")
        self.plan = plan
        self.current = current


class NothingChanged(ServiceError):
    """Nothing to publish: the text is the published one."""


# --- the content folder ----------------------------------------------------------------------


def content_root() -> Path:
    """The authoring folder the app writes back to (``CONTENT_DIR``)."""
    return Path(current_app.config["CONTENT_DIR"])


def _inside(root: Path, relative: str) -> Path:
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
            shutil.rmtree(_inside(candidate, replace_folder), ignore_errors=True)
        for relative, data in changes.items():
            target = _inside(candidate, relative)
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
            target = _inside(root, relative)
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
            _inside(root, relative).unlink(missing_ok=True)


def course_folder(course_id: str) -> str:
    """The folder of a course in ``content/``, from its published ``course.yml`` revision."""
    revision = latest_revision("course", course_id)
    if revision is None:
        raise ServiceError(f"Kurs „{course_id}“ ist unbekannt.", "course_id")
    return posixpath.dirname(revision.path)


def normalise_text(text: str) -> str:
    """Line endings as in git: browsers send CRLF from a textarea, Windows editors too."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def guess_module_id(text: str) -> tuple[str | None, int]:
    """The ``id:`` written in a module's front matter and its line, even if the file is broken."""
    match = _ID_LINE.search(text)
    if match is None:
        return None, 1
    return match.group(1), text.count("\n", 0, match.start()) + 1


def _clean_message(message: str, *, required: bool = True) -> str:
    message = " ".join((message or "").split())
    if required and not message:
        raise ServiceError("Bitte beschreiben Sie die Änderung in einem kurzen Satz (z. B. „Tippfehler "
                           "in Abschnitt 2 korrigiert“) – er erscheint im Verlauf.", "message")
    if len(message) > MESSAGE_MAX:
        raise ServiceError(f"Die Beschreibung ist zu lang ({len(message)} Zeichen, höchstens {MESSAGE_MAX}).",
                           "message")
    return message


# --- pure text edits of course.yml and module front matter -----------------------------------


def set_order_line(source: str, order: int) -> str:
    """The module source with its front matter line ``order: N`` set to ``order``."""
    lines = source.split("\n")
    if not lines or lines[0].strip().lstrip("\ufeff") != "---":
        raise ServiceError("Front Matter nicht gefunden – die Position kann nicht angepasst werden.")
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            break
        match = _ORDER_LINE.match(lines[index].rstrip("\r"))
        if match:
            ending = "\r" if lines[index].endswith("\r") else ""
            lines[index] = f"{match.group(1)}{order}{match.group(3)}{ending}"
            return "\n".join(lines)
    raise ServiceError("Zeile „order: …“ im Front Matter nicht gefunden – die Position kann nicht "
                       "angepasst werden.")


@dataclass
class CourseListing:
    """The module list of a course.yml: (id, required) in order, and the retired ids."""

    modules: list[tuple[str, bool]]
    retired: list[str]

    @property
    def ids(self) -> list[str]:
        return [module_id for module_id, _ in self.modules]


def read_listing(course_yml: str) -> CourseListing:
    """Read ``modules:`` and ``retired:`` of a (valid) course.yml."""
    try:
        node = load_yaml(course_yml)
    except YamlError as error:
        raise ServiceError(f"course.yml ist fehlerhaft (Zeile {error.line}): {error.message}") from None
    if not isinstance(node, dict):
        raise ServiceError("course.yml ist fehlerhaft.")
    modules = [(str(item["id"]), item.get("required", True) is not False)
               for item in node.get("modules") or () if isinstance(item, dict) and "id" in item]
    retired = [str(item) for item in node.get("retired") or () if isinstance(item, str)]
    return CourseListing(modules, retired)


def write_listing(course_yml: str, listing: CourseListing) -> str:
    """course.yml with its ``modules:`` (and ``retired:``) block rewritten from ``listing``.

    Everything else – texts, comments, other keys – stays byte for byte. Comments inside the
    module list itself are not kept.
    """
    node = load_yaml(course_yml)
    if not isinstance(node, LineDict) or "modules" not in node:
        raise ServiceError("course.yml hat keine Liste „modules:“.")
    lines = course_yml.split("\n")
    starts = sorted(node.line_of(key) for key in node)
    ranges = {key: _key_range(lines, node.line_of(key), starts) for key in ("modules", "retired") if key in node}
    block = ["modules:"]
    for module_id, is_required in listing.modules:
        block.append(f"  - id: {module_id}")
        if not is_required:
            block.append("    required: false")
    if listing.retired:
        block.append("retired:  # zurückgezogen: Datei bleibt, für neue Teilnehmende ausgeblendet")
        block.extend(f"  - {module_id}" for module_id in listing.retired)
    output: list[str] = []
    skip = set()
    for key, (first, last) in ranges.items():
        if key == "retired":
            skip.update(range(first, last + 1))
    first_modules, last_modules = ranges["modules"]
    for number, line in enumerate(lines, start=1):
        if number == first_modules:
            output.extend(block)
        if first_modules <= number <= last_modules or number in skip:
            continue
        output.append(line)
    return "\n".join(output)


def _key_range(lines: list[str], start: int, starts: list[int]) -> tuple[int, int]:
    """Lines (1-based, inclusive) of a top-level key's block, without trailing blanks/comments."""
    following = [line for line in starts if line > start]
    end = (following[0] - 1) if following else len(lines)
    while end > start and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    return start, end


# --- who is affected -------------------------------------------------------------------------


@dataclass
class Affected:
    """Learners with progress in a module: any progress, opened it, passed self-check, completed."""

    started: int = 0
    quiz_passed: int = 0
    completed: int = 0
    opened: int = 0


def affected_learners(module_ids: list[str]) -> dict[str, Affected]:
    """Count learners with progress per module (one query)."""
    if not module_ids:
        return {}
    rows = db.session.execute(
        select(ModuleProgress.module_id, func.count(), func.count(ModuleProgress.quiz_passed_at),
               func.count(ModuleProgress.completed_at), func.count(ModuleProgress.first_viewed_at))
        .where(ModuleProgress.module_id.in_(module_ids)).group_by(ModuleProgress.module_id))
    counts = {module_id: Affected(*numbers) for module_id, *numbers in rows}
    return {module_id: counts.get(module_id, Affected()) for module_id in module_ids}


# --- one module: plan, preview, publish ------------------------------------------------------


@dataclass
class ModulePlan:
    """A checked candidate version of one module file and what publishing it would do."""

    source: str
    path: str
    course_id: str
    module_id: str | None  # the existing module being edited; None for a new one
    base_revision_id: int | None
    problems: list[Problem] = field(default_factory=list)
    module: ModuleSource | None = None
    tree: ContentTree | None = None
    changes: dict[str, bytes] = field(default_factory=dict)
    current: ContentRevision | None = None
    affected: Affected = field(default_factory=Affected)

    @property
    def ok(self) -> bool:
        return not self.problems and self.module is not None

    @property
    def is_new(self) -> bool:
        return self.module_id is None

    @property
    def problems_here(self) -> list[Problem]:
        """Problems in the edited file itself (shown at their lines)."""
        return [p for p in self.problems if p.path == self.path]

    @property
    def problems_elsewhere(self) -> list[Problem]:
        """Problems in other files that this change causes or that were already there."""
        return [p for p in self.problems if p.path != self.path]

    @property
    def is_conflict(self) -> bool:
        """True when the module was published since the revision this edit started from."""
        return self.current is not None and self.base_revision_id != self.current.id

    @property
    def is_unchanged(self) -> bool:
        return self.current is not None and self.module is not None \
            and self.current.source_hash == self.module.source_hash

    @property
    def diff(self) -> Diff:
        """The change against the current revision (everything is new for a new module)."""
        return unified_diff(self.current.source if self.current else "", self.source)

    @property
    def quiz_changed(self) -> bool:
        if self.current is None or self.module is None:
            return False
        new_quiz = self.module.quiz.to_dict() if self.module.quiz else None
        return (self.current.meta or {}).get("quiz") != new_quiz


def get_module(module_id: str) -> Module:
    module = db.session.get(Module, module_id)
    if module is None or module.current_revision_id is None:
        raise ServiceError(f"Modul „{module_id}“ gibt es nicht.", "module_id")
    return module


def plan_module_edit(module_id: str, source: str, *, base_revision_id: int | None) -> ModulePlan:
    """Check an edited version of an existing module against the whole content tree."""
    row = get_module(module_id)
    if row.is_retired:
        raise ServiceError(f"Das Modul „{row.title}“ ist zurückgezogen und kann nicht bearbeitet werden.",
                           "module_id")
    current = row.current_revision
    source = normalise_text(source)
    plan = ModulePlan(source=source, path=current.path, course_id=row.course_id, module_id=module_id,
                      base_revision_id=base_revision_id, current=current,
                      affected=affected_learners([module_id])[module_id])
    written_id, id_line = guess_module_id(source)
    parsed, problems = parse_module(source, plan.path, row.course_id)
    written_id = parsed.id if parsed else written_id
    if written_id is not None and written_id != module_id:
        plan.problems = [Problem(plan.path, parsed.id_line if parsed else id_line, (
            f"Die id darf nicht geändert werden: Das Modul heißt „{module_id}“, hier steht „{written_id}“. "
            f"Der Fortschritt der Teilnehmenden hängt an der id. Für ein anderes Modul bitte "
            f"„Neues Modul“ verwenden."))]
        return plan
    if problems:
        plan.problems = problems
        return plan
    return _check_plan(plan, {plan.path: source.encode("utf-8")})


def new_module_skeleton(course_id: str) -> str:
    """A valid module file to start from: front matter with the next position, a short body."""
    folder = course_folder(course_id)
    listing = read_listing(_course_source(course_id))
    position = len(listing.modules) + 1
    prefix = listing.ids[0].split("-")[0] if listing.ids else course_id[:2]  # "gk-…" like its siblings
    return (
        "---\n"
        f"id: {prefix}-neues-modul-{position}\n"
        "title: Neues Modul\n"
        f"order: {position}\n"
        "minutes: 60\n"
        "summary: \"Ein Satz, worum es in diesem Modul geht.\"\n"
        "objectives:\n"
        "  - \"Sie können …\"\n"
        "sdgs: [11]\n"
        "workshop: false\n"
        "---\n\n"
        "## Einführung\n\n"
        f"Text folgt. (Neue Datei in {folder}/ – die id kann bis zur Veröffentlichung noch geändert werden.)\n"
    )


def _course_source(course_id: str) -> str:
    revision = latest_revision("course", course_id)
    if revision is None:
        raise ServiceError(f"Kurs „{course_id}“ ist unbekannt.", "course_id")
    return revision.source


def plan_new_module(course_id: str, source: str) -> ModulePlan:
    """Check a new module for a course: its file is created and it is appended to course.yml."""
    if db.session.get(Course, course_id) is None:
        raise ServiceError(f"Kurs „{course_id}“ ist unbekannt.", "course_id")
    folder = course_folder(course_id)
    source = normalise_text(source)
    course_yml = _course_source(course_id)
    listing = read_listing(course_yml)
    written_id, id_line = guess_module_id(source)
    slug = written_id if written_id and ID_PATTERN.match(written_id) else "neues-modul"
    path = _free_path(folder, f"{len(listing.modules) + 1:02d}-{slug}.md")
    plan = ModulePlan(source=source, path=path, course_id=course_id, module_id=None, base_revision_id=None)
    parsed, problems = parse_module(source, path, course_id)
    if problems:
        plan.problems = problems
        return plan
    existing = db.session.get(Module, parsed.id)
    if existing is not None:
        plan.problems = [Problem(path, parsed.id_line, (
            f"Die id „{parsed.id}“ ist schon vergeben (Modul „{existing.title}“"
            f"{', zurückgezogen' if existing.is_retired else ''}) – ein neues Modul braucht eine neue id."))]
        return plan
    listing.modules.append((parsed.id, True))
    changes = {path: source.encode("utf-8"),
               f"{folder}/{COURSE_FILE}": write_listing(course_yml, listing).encode("utf-8")}
    return _check_plan(plan, changes)


def _free_path(folder: str, name: str) -> str:
    root = content_root()
    stem, extension = posixpath.splitext(name)
    candidate, number = f"{folder}/{name}", 2
    while (root / candidate).exists():
        candidate = f"{folder}/{stem}-{number}{extension}"
        number += 1
    return candidate


def _check_plan(plan: ModulePlan, changes: dict[str, bytes]) -> ModulePlan:
    result = check_candidate(changes)
    plan.changes = changes
    plan.problems = list(result.problems)
    if result.tree is not None:
        plan.tree = result.tree
        written_id, _ = guess_module_id(plan.source)
        plan.module = result.tree.modules.get(plan.module_id or written_id or "")
    return plan


def plan_module_upload(filename: str, data: bytes, *, course_id: str | None = None) -> ModulePlan:
    """Check an uploaded ``.md`` file: an existing module (found by its id) or a new one."""
    if not filename.lower().endswith(".md"):
        raise ServiceError("Bitte eine Moduldatei mit der Endung .md hochladen (für ganze Kurse: .zip).", "file")
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        message = f"Datei ist nicht UTF-8-kodiert (Byte 0x{data[error.start]:02x}) – bitte als UTF-8 speichern"
        raise ContentProblems([Problem(filename, line, message)]) from None
    source = normalise_text(source)
    module_id, _ = guess_module_id(source)
    row = db.session.get(Module, module_id) if module_id else None
    if row is not None:
        if course_id and course_id != row.course_id:
            raise ServiceError(f"Das Modul „{module_id}“ gehört zum Kurs „{row.course_id}“, nicht zu "
                               f"„{course_id}“. Module können nicht zwischen Kursen verschoben werden.", "course_id")
        return plan_module_edit(module_id, source, base_revision_id=row.current_revision_id)
    if not course_id:
        raise ServiceError(f"Ein Modul mit der id „{module_id or '?'}“ gibt es noch nicht. Für ein neues "
                           f"Modul bitte den Kurs auswählen.", "course_id")
    return plan_new_module(course_id, source)


def publish_module_source(source: str, *, module_id: str | None = None, course_id: str | None = None,
                          base_revision_id: int | None = None, author: User | None = None,
                          author_label: str = "", message: str = "",
                          audit_action: str = "content_published", audit_data: dict | None = None) -> ContentRevision:
    """Publish a module text as a new revision and write the file back into ``content/``.

    ``module_id`` edits an existing module (``base_revision_id`` is the revision the edit
    started from); without it a new module is created in ``course_id``.
    """
    message = _clean_message(message)
    if module_id:
        plan = plan_module_edit(module_id, source, base_revision_id=base_revision_id)
    else:
        plan = plan_new_module(course_id or "", source)
    if not plan.ok:
        raise ContentProblems(plan.problems, plan)
    if module_id:
        row = _lock_module(module_id)
        if row.current_revision_id != base_revision_id:
            raise ContentConflict(plan, row.current_revision)
        if plan.is_unchanged:
            raise NothingChanged(f"Keine Änderung: Der Text entspricht der veröffentlichten Revision "
                                 f"{plan.current.number}.")
    try:
        revision = publish_module(plan.module, plan.tree.assets, author=author, author_label=author_label,
                                  message=message)
        if plan.is_new:
            publish_course(plan.tree.course(plan.course_id), author=author, author_label=author_label)
        db.session.flush()
    except IntegrityError:
        raise ServiceError("Gleichzeitig wurde dieses Modul von jemand anderem veröffentlicht. Bitte laden "
                           "Sie die Seite neu und prüfen Sie Ihre Änderung erneut.", "base_revision_id") from None
    write_files(plan.changes)
    record_audit("module_created" if plan.is_new else audit_action, actor=author,
                 actor_label=author_label, reason=message, target_type="module", target_id=plan.module.id,
                 data={"revision": revision.number, "source_hash": revision.source_hash, "path": plan.path,
                       "base_revision_id": base_revision_id, **(audit_data or {})})
    return revision


def _lock_module(module_id: str) -> Module:
    """The module row, locked until the commit (PostgreSQL), read fresh from the database."""
    return db.session.scalar(select(Module).where(Module.id == module_id).with_for_update()
                             .execution_options(populate_existing=True))


def _lock_course(course_id: str) -> list[Module]:
    """Lock a course and all its modules (reorder, retire and zip change several files)."""
    db.session.scalar(select(Course).where(Course.id == course_id).with_for_update()
                      .execution_options(populate_existing=True))
    return list(db.session.scalars(select(Module).where(Module.course_id == course_id).order_by(Module.id)
                                   .with_for_update().execution_options(populate_existing=True)))


def restore_revision(module_id: str, number: int, *, base_revision_id: int | None = None,
                     author: User | None = None, author_label: str = "", message: str = "") -> ContentRevision:
    """Publish an older revision's text again, as a new revision (the history stays complete).

    The ``order:`` line is set to the module's current position, since the course may have been
    reordered since; everything else is the old text. ``base_revision_id`` None means "current".
    """
    row = get_module(module_id)
    old = revision_of(module_id, number)
    if old.id == row.current_revision_id:
        raise NothingChanged(f"Revision {number} ist bereits die aktuelle Fassung.")
    source = old.source
    if (old.meta or {}).get("order") != row.position:
        source = set_order_line(source, row.position)
    return publish_module_source(
        source, module_id=module_id,
        base_revision_id=row.current_revision_id if base_revision_id is None else base_revision_id,
        author=author, author_label=author_label,
        message=_clean_message(message, required=False) or f"Revision {number} wiederhergestellt",
        audit_action="content_restored", audit_data={"restored_revision": number})


def plan_restore(module_id: str, number: int) -> ModulePlan:
    """The restore of a revision as a plan (to show its problems in the editor)."""
    row = get_module(module_id)
    old = revision_of(module_id, number)
    source = old.source
    if (old.meta or {}).get("order") != row.position:
        source = set_order_line(source, row.position)
    return plan_module_edit(module_id, source, base_revision_id=row.current_revision_id)


@dataclass
class Preview:
    """What the learner's module page needs, built from a plan instead of the database."""

    module: SimpleNamespace
    revision: SimpleNamespace
    quiz: object
    position: int
    count: int
    previous: Module | None
    following: Module | None


def preview_module(plan: ModulePlan, *, fallback_image_url: Callable[[str], str]) -> Preview:
    """Render the candidate exactly as the learner page will show it, without storing anything.

    Images already stored are served from ``/assets/`` as after publishing; others through
    ``fallback_image_url(path)`` (a trainer-only route reading the content folder).
    """
    if not plan.ok:
        raise ContentProblems(plan.problems, plan)
    source = plan.module
    assets = plan.tree.assets

    def resolve(src: str) -> str | None:
        path = resolve_image_path(source.path, src)
        data = assets.get(path) if path else None
        if data is None:
            return None
        sha = hashlib.sha256(data).hexdigest()
        return asset_url(sha, path) if db.session.get(Asset, sha) is not None else fallback_image_url(path)

    rendered = render_markdown(source.body, resolve_image=resolve)
    toc = [{"level": e.level, "anchor": e.anchor, "title": e.title} for e in rendered.toc]
    course = db.session.get(Course, source.course_id)
    module = SimpleNamespace(
        id=source.id, course_id=source.course_id, course=course, title=source.title, summary=source.summary,
        minutes=source.minutes, has_quiz=source.quiz is not None, has_workshop=source.has_workshop,
        workshop_title=source.workshop_title, pass_mark=source.quiz.pass_mark if source.quiz else None,
        is_retired=False, is_required=source.is_required)
    revision = SimpleNamespace(html=rendered.html, toc=toc, meta=source.meta_dict(), source=source.source)
    ids = list(plan.tree.course(source.course_id).module_ids)
    index = ids.index(source.id)
    previous = db.session.get(Module, ids[index - 1]) if index > 0 else None
    following = db.session.get(Module, ids[index + 1]) if index + 1 < len(ids) else None
    return Preview(module, revision, source.quiz, index + 1, len(ids), previous, following)


# --- history ---------------------------------------------------------------------------------


def revisions_of(module_id: str) -> list[ContentRevision]:
    """All revisions of a module, newest first."""
    return list(db.session.scalars(select(ContentRevision).filter_by(kind="module", key=module_id)
                                   .order_by(ContentRevision.number.desc())))


def revision_of(module_id: str, number: int) -> ContentRevision:
    revision = db.session.scalar(select(ContentRevision).filter_by(kind="module", key=module_id, number=number))
    if revision is None:
        raise ServiceError(f"Revision {number} von „{module_id}“ gibt es nicht.", "revision")
    return revision


# --- course structure: new order, retire -----------------------------------------------------


@dataclass
class StructureChange:
    """What a reorder or retirement changed, for the flash message and the audit log."""

    course_id: str
    moved: dict[str, int]  # module id → new position
    revisions: list[ContentRevision]


def move_module(module_id: str, direction: str, *, author: User | None = None,
                author_label: str = "") -> StructureChange:
    """Move a module one place up or down: course.yml and every affected ``order:`` line change."""
    if direction not in ("up", "down"):
        raise ServiceError("Unbekannte Richtung.", "direction")
    row = get_module(module_id)
    if row.is_retired:
        raise ServiceError("Ein zurückgezogenes Modul hat keine Position im Kurs.", "module_id")
    _lock_course(row.course_id)
    listing = read_listing(_course_source(row.course_id))
    ids = listing.ids
    index = ids.index(module_id)
    target = index - 1 if direction == "up" else index + 1
    if not 0 <= target < len(ids):
        raise ServiceError(f"„{row.title}“ steht schon an {'erster' if direction == 'up' else 'letzter'} Stelle.",
                           "direction")
    listing.modules[index], listing.modules[target] = listing.modules[target], listing.modules[index]
    change = _apply_listing(row.course_id, listing, author=author, author_label=author_label,
                            message=f"Reihenfolge geändert: „{row.title}“ "
                                    f"{'nach oben' if direction == 'up' else 'nach unten'}")
    record_audit("modules_reordered", actor=author, actor_label=author_label, target_type="course",
                 target_id=row.course_id, data={"module": module_id, "direction": direction,
                                                "positions": change.moved})
    return change


def retire_module(module_id: str, *, reason: str, author: User | None = None,
                  author_label: str = "") -> StructureChange:
    """Take a module out of its course for new learners; its file, progress and certificates stay.

    course.yml lists it under ``retired:`` instead of ``modules:``, so ``content sync`` keeps it
    retired; the following modules move up one place.
    """
    reason = " ".join((reason or "").split())
    if not reason:
        raise ServiceError("Bitte geben Sie einen Grund an – er steht im Prüfprotokoll.", "reason")
    row = get_module(module_id)
    if row.is_retired:
        raise ServiceError(f"„{row.title}“ ist bereits zurückgezogen.", "module_id")
    _lock_course(row.course_id)
    listing = read_listing(_course_source(row.course_id))
    if listing.ids == [module_id]:
        raise ServiceError("Das ist das einzige Modul des Kurses – ein Kurs braucht mindestens ein Modul.",
                           "module_id")
    listing.modules = [entry for entry in listing.modules if entry[0] != module_id]
    listing.retired.append(module_id)
    affected = affected_learners([module_id])[module_id]
    change = _apply_listing(row.course_id, listing, author=author, author_label=author_label,
                            message=f"Position angepasst: „{row.title}“ wurde zurückgezogen")
    row.is_retired = True
    db.session.flush()
    record_audit("module_retired", actor=author, actor_label=author_label, reason=reason,
                 target_type="module", target_id=module_id,
                 data={"course": row.course_id, "positions": change.moved, "learners_with_progress": affected.started,
                       "completed": affected.completed})
    return change


def _apply_listing(course_id: str, listing: CourseListing, *, author: User | None, author_label: str,
                   message: str) -> StructureChange:
    """Write a new module list: course.yml, the ``order:`` of every module that moved, revisions."""
    course_revision = latest_revision("course", course_id)
    changes: dict[str, bytes] = {course_revision.path: write_listing(course_revision.source, listing).encode("utf-8")}
    moved: dict[str, int] = {}
    for position, module_id in enumerate(listing.ids, start=1):
        row = db.session.get(Module, module_id)
        if row is None or row.current_revision is None:
            continue
        current = row.current_revision
        if (current.meta or {}).get("order") != position:
            changes[current.path] = set_order_line(current.source, position).encode("utf-8")
            moved[module_id] = position
    result = check_candidate(changes)
    if result.problems:
        raise ContentProblems(result.problems)
    tree = result.tree
    revisions = []
    publish_course(tree.course(course_id), author=author, author_label=author_label)
    for module_id in moved:
        revision = publish_module(tree.modules[module_id], tree.assets, author=author, author_label=author_label,
                                  message=message)
        if revision is not None:
            revisions.append(revision)
    db.session.flush()
    write_files(changes)
    return StructureChange(course_id, moved, revisions)


# --- images ----------------------------------------------------------------------------------


@dataclass
class ImageUpload:
    path: str
    name: str
    width: int
    height: int
    is_new: bool

    @property
    def markdown(self) -> str:
        """How a module of the course embeds the image."""
        return f"![Beschreibung des Bildes](img/{self.name})"


def course_images(course_id: str) -> list[str]:
    """The image file names in a course's ``img/`` folder."""
    folder = content_root() / course_folder(course_id) / "img"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def upload_image(course_id: str, filename: str, data: bytes, *, author: User | None = None,
                 author_label: str = "") -> ImageUpload:
    """Check, re-encode and store an image in ``<course>/img/`` and the asset table."""
    if db.session.get(Course, course_id) is None:
        raise ServiceError(f"Kurs „{course_id}“ ist unbekannt.", "course_id")
    try:
        clean = image_rules.clean_image(data)
    except image_rules.ImageRejected as error:
        raise ServiceError(f"„{filename}“: {error.message}", "image") from None
    name = image_rules.safe_image_name(filename, clean.extension)
    path = f"{course_folder(course_id)}/img/{name}"
    target = _inside(content_root(), path)
    if target.exists():
        if target.read_bytes() == clean.data:
            return ImageUpload(path, name, clean.width, clean.height, is_new=False)
        raise ServiceError(f"Im Kurs gibt es schon ein Bild „{name}“. Bitte geben Sie der Datei einen anderen "
                           f"Namen – veröffentlichte Module zeigen weiter das bisherige Bild.", "image")
    result = check_candidate({path: clean.data})
    if result.problems:
        raise ContentProblems(result.problems)
    store_asset(path, clean.data)
    db.session.flush()
    write_files({path: clean.data})
    record_audit("image_uploaded", actor=author, actor_label=author_label, target_type="course",
                 target_id=course_id, data={"path": path, "bytes": len(clean.data), "format": clean.format,
                                            "width": clean.width, "height": clean.height})
    return ImageUpload(path, name, clean.width, clean.height, is_new=True)


# --- a whole course as .zip ------------------------------------------------------------------


@dataclass
class ModuleStatus:
    id: str
    title: str
    status: str  # "neu", "geändert", "unverändert", "wird zurückgezogen"
    affected: Affected


@dataclass
class ZipPlan:
    """The check of an uploaded course folder and what publishing it would change."""

    filename: str
    problems: list[Problem] = field(default_factory=list)
    folder: str | None = None
    course_id: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    ignored: tuple[str, ...] = ()
    tree: ContentTree | None = None
    modules: list[ModuleStatus] = field(default_factory=list)
    revisions: list[ContentRevision] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.tree is not None

    @property
    def changed_count(self) -> int:
        return sum(1 for m in self.modules if m.status != "unverändert")


def plan_course_zip(filename: str, data: bytes) -> ZipPlan:
    """Check a zipped course folder against the whole content tree; nothing is written."""
    plan = ZipPlan(filename=filename)

    def refuse(message: str) -> ZipPlan:
        plan.problems.append(Problem(filename, 0, message))
        return plan

    if not filename.lower().endswith(".zip"):
        return refuse("Bitte eine ZIP-Datei (.zip) mit einem Kursordner hochladen.")
    try:
        archive = read_course_zip(data)
    except ZipRejected as error:
        plan.problems = [Problem(filename, 0, message) for message in error.problems]
        return plan
    plan.ignored = archive.ignored
    course_id = _zip_course_id(archive.files["course.yml"])
    if course_id is None:
        return refuse("course.yml: Die Kurs-id („id: …“) fehlt oder ist ungültig.")
    existing = latest_revision("course", course_id)
    existing_folder = posixpath.dirname(existing.path) if existing else None
    folder = archive.folder or existing_folder or course_id
    if existing_folder and folder != existing_folder:
        return refuse(f"Der Kurs „{course_id}“ liegt im Ordner „{existing_folder}“, die ZIP-Datei enthält den "
                      f"Ordner „{folder}“. Bitte den Ordner in der ZIP-Datei umbenennen.")
    if not ID_PATTERN.match(folder):
        return refuse(f"Ordnername „{folder}“ ist nicht erlaubt: Kleinbuchstaben, Ziffern und Bindestriche.")
    plan.folder, plan.course_id = folder, course_id
    root = content_root()
    for inner, content in archive.files.items():
        path = f"{folder}/{inner}"
        if inner.startswith("img/"):
            content = _zip_image(path, content, root, plan)
            if content is None:
                continue
        plan.files[path] = content
    if plan.problems:
        return plan
    on_disk = root / folder
    if on_disk.is_dir():
        plan.removed = sorted(p.relative_to(root).as_posix() for p in on_disk.rglob("*")
                              if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
                              and p.relative_to(root).as_posix() not in plan.files)
    result = check_candidate(plan.files, replace_folder=folder)
    plan.problems = list(result.problems) + _zip_missing_modules(plan, archive.files["course.yml"])
    if result.tree is None or plan.problems:
        return plan
    plan.tree = result.tree
    _zip_module_statuses(plan, result.tree.course(course_id))
    return plan


def _zip_missing_modules(plan: ZipPlan, course_yml: bytes) -> list[Problem]:
    """Modules of the course that the zip neither lists nor retires: never dropped silently."""
    try:
        listing = read_listing(course_yml.decode("utf-8"))
    except (UnicodeDecodeError, ServiceError):
        return []  # the content check reports the broken course.yml itself
    known = set(listing.ids) | set(listing.retired)
    rows = db.session.scalars(select(Module).where(Module.course_id == plan.course_id, Module.is_retired.is_(False))
                              .order_by(Module.position))
    return [Problem(f"{plan.folder}/{COURSE_FILE}", 0, (
        f"Modul „{row.id}“ („{row.title}“) fehlt in der ZIP-Datei. Module werden nie stillschweigend "
        f"entfernt: Nehmen Sie die Datei wieder auf oder tragen Sie das Modul in course.yml unter "
        f"„retired:“ ein, um es zurückzuziehen.")) for row in rows if row.id not in known]


def _zip_course_id(course_yml: bytes) -> str | None:
    try:
        node = load_yaml(course_yml.decode("utf-8"))
    except (UnicodeDecodeError, YamlError):
        return None
    value = node.get("id") if isinstance(node, dict) else None
    return value if isinstance(value, str) and ID_PATTERN.match(value) else None


def _zip_image(path: str, content: bytes, root: Path, plan: ZipPlan) -> bytes | None:
    """Unchanged images stay byte for byte; new ones are checked and re-encoded like uploads."""
    target = root / path
    if target.is_file() and target.read_bytes() == content:
        return content
    try:
        clean = image_rules.clean_image(content)
    except image_rules.ImageRejected as error:
        plan.problems.append(Problem(path, 0, error.message))
        return None
    suffix = posixpath.splitext(path)[1].lower()
    if suffix not in ((clean.extension, ".jpeg") if clean.format == "JPEG" else (clean.extension,)):
        plan.problems.append(Problem(path, 0, f"Der Inhalt ist ein {image_rules.FORMATS[clean.format][2]}-Bild, "
                                              f"die Endung „{suffix}“ passt nicht – bitte umbenennen."))
        return None
    return clean.data


def _zip_module_statuses(plan: ZipPlan, course: CourseSource) -> None:
    tree = plan.tree
    rows = {row.id: row for row in db.session.scalars(select(Module).where(Module.course_id == course.id))}
    counts = affected_learners([*course.module_ids, *course.retired_ids])
    for module in tree.modules_of(course.id):
        row = rows.get(module.id)
        current = row.current_revision if row else None
        if row is None:
            status = "neu"
        elif row.is_retired or current is None or current.source_hash != module.source_hash:
            status = "geändert"
        else:
            status = "unverändert"
        plan.modules.append(ModuleStatus(module.id, module.title, status, counts[module.id]))
    for module_id in course.retired_ids:
        row = rows.get(module_id)
        if row is not None and not row.is_retired:
            plan.modules.append(ModuleStatus(module_id, row.title, "wird zurückgezogen", counts[module_id]))


def publish_course_zip(filename: str, data: bytes, *, author: User | None = None, author_label: str = "",
                       message: str = "") -> ZipPlan:
    """Publish a zipped course folder: revisions for what changed, files written back, retirements."""
    message = _clean_message(message, required=False) or f"Kursordner aus {filename} übernommen"
    plan = plan_course_zip(filename, data)
    if not plan.ok:
        raise ContentProblems(plan.problems, plan)
    _lock_course(plan.course_id)
    tree = plan.tree
    course = tree.course(plan.course_id)
    try:
        publish_course(course, author=author, author_label=author_label)
        for module in tree.modules_of(course.id):
            revision = publish_module(module, tree.assets, author=author, author_label=author_label, message=message)
            if revision is not None:
                plan.revisions.append(revision)
        for module_id in course.retired_ids:
            row = db.session.get(Module, module_id)
            if row is not None:
                row.is_retired = True
        for path, content in plan.files.items():
            if path.startswith(f"{plan.folder}/img/"):
                store_asset(path, content)
        db.session.flush()
    except IntegrityError:
        raise ServiceError("Gleichzeitig wurde dieser Kurs von jemand anderem veröffentlicht. Bitte laden Sie "
                           "die ZIP-Datei erneut hoch.") from None
    write_files({**plan.files, **{path: None for path in plan.removed}})
    record_audit("content_uploaded", actor=author, actor_label=author_label, reason=message,
                 target_type="course", target_id=plan.course_id,
                 data={"file": filename, "revisions": [f"{r.key}#{r.number}" for r in plan.revisions],
                       "removed": plan.removed, "retired": list(course.retired_ids)})
    return plan


# --- the trainer's overview ------------------------------------------------------------------


@dataclass
class ModuleOverview:
    module: Module
    revision: ContentRevision | None
    affected: Affected
    is_first: bool
    is_last: bool


@dataclass
class CourseOverview:
    course: Course
    folder: str
    modules: list[ModuleOverview]
    retired: list[ModuleOverview]


def content_overview() -> list[CourseOverview]:
    """Courses with their modules (active in course order, then retired), revisions and learners."""
    courses = list(db.session.scalars(select(Course).order_by(Course.position)))
    modules = list(db.session.scalars(select(Module).order_by(Module.position)))
    revisions = {r.id: r for r in db.session.scalars(
        select(ContentRevision).where(ContentRevision.id.in_([m.current_revision_id for m in modules
                                                              if m.current_revision_id])))}
    counts = affected_learners([m.id for m in modules])
    overview = []
    for course in courses:
        own = [m for m in modules if m.course_id == course.id]
        active = [m for m in own if not m.is_retired]
        course_revision = latest_revision("course", course.id)
        folder = posixpath.dirname(course_revision.path) if course_revision else course.id
        overview.append(CourseOverview(
            course, folder,
            [ModuleOverview(m, revisions.get(m.current_revision_id), counts[m.id], i == 0, i == len(active) - 1)
             for i, m in enumerate(active)],
            [ModuleOverview(m, revisions.get(m.current_revision_id), counts[m.id], False, False)
             for m in own if m.is_retired]))
    return overview
