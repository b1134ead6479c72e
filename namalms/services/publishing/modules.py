"""One module: plan (check) an edit, a new module or an upload, preview it, publish it, restore.

Progress hangs on module ids: an edit that changes a module's id is refused.
"""
from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from namalms.content.diffing import Diff, unified_diff
from namalms.content.loader import (
    COURSE_FILE, ID_PATTERN, find_module_id, resolve_image_path, text_problem,
)
from namalms.content.model import ContentTree, ModuleSource, Problem
from namalms.content.render import render_markdown
from namalms.extensions import db
from namalms.models import Asset, ContentRevision, Course, Module, User
from namalms.services import ServiceError
from namalms.services.audit import record_audit
from namalms.services.content_sync import asset_url, publish_course, publish_module
from namalms.services.publishing.files import (
    check_candidate, clean_message, content_root, course_folder, course_source, normalise_text, parse_module_bounded,
    read_course_listing,
    rewrite_course_listing, with_order, write_files,
)
from namalms.services.publishing.overview import Affected, affected_learners
from namalms.services.publishing.problems import ContentConflict, ContentProblems, NothingChanged


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
    written_id, id_line = find_module_id(source)
    parsed, problems = parse_module_bounded(source, plan.path, row.course_id)
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
    listing = read_course_listing(course_source(course_id))
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


def plan_new_module(course_id: str, source: str) -> ModulePlan:
    """Check a new module for a course: its file is created and it is appended to course.yml."""
    if db.session.get(Course, course_id) is None:
        raise ServiceError(f"Kurs „{course_id}“ ist unbekannt.", "course_id")
    folder = course_folder(course_id)
    source = normalise_text(source)
    course_yml = course_source(course_id)
    listing = read_course_listing(course_yml)
    written_id, id_line = find_module_id(source)
    slug = written_id if written_id and ID_PATTERN.match(written_id) else "neues-modul"
    path = _free_path(folder, f"{len(listing.modules) + 1:02d}-{slug}.md")
    plan = ModulePlan(source=source, path=path, course_id=course_id, module_id=None, base_revision_id=None)
    parsed, problems = parse_module_bounded(source, path, course_id)
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
               f"{folder}/{COURSE_FILE}": rewrite_course_listing(course_yml, listing).encode("utf-8")}
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
        written_id, _ = find_module_id(plan.source)
        plan.module = result.tree.modules.get(plan.module_id or written_id or "")
    return plan


def plan_module_upload(filename: str, data: bytes, *, course_id: str | None = None) -> ModulePlan:
    """Check an uploaded ``.md`` file: an existing module (found by its id) or a new one."""
    if not filename.lower().endswith(".md"):
        raise ServiceError("Bitte eine Moduldatei mit der Endung .md hochladen (für ganze Kurse: .zip).", "file")
    refusal = text_problem(data, filename)
    if refusal is not None:  # before decoding or parsing anything
        raise ContentProblems([refusal])
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        message = f"Datei ist nicht UTF-8-kodiert (Byte 0x{data[error.start]:02x}) – bitte als UTF-8 speichern"
        raise ContentProblems([Problem(filename, line, message)]) from None
    source = normalise_text(source)
    module_id, _ = find_module_id(source)
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
    message = clean_message(message)
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
        source = with_order(source, row.position)
    return publish_module_source(
        source, module_id=module_id,
        base_revision_id=row.current_revision_id if base_revision_id is None else base_revision_id,
        author=author, author_label=author_label,
        message=clean_message(message, required=False) or f"Revision {number} wiederhergestellt",
        audit_action="content_restored", audit_data={"restored_revision": number})


def plan_restore(module_id: str, number: int) -> ModulePlan:
    """The restore of a revision as a plan (to show its problems in the editor)."""
    row = get_module(module_id)
    old = revision_of(module_id, number)
    source = old.source
    if (old.meta or {}).get("order") != row.position:
        source = with_order(source, row.position)
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


def revisions_of(module_id: str) -> list[ContentRevision]:
    """All revisions of a module, newest first."""
    return list(db.session.scalars(select(ContentRevision).filter_by(kind="module", key=module_id)
                                   .order_by(ContentRevision.number.desc())))


def revision_of(module_id: str, number: int) -> ContentRevision:
    revision = db.session.scalar(select(ContentRevision).filter_by(kind="module", key=module_id, number=number))
    if revision is None:
        raise ServiceError(f"Revision {number} von „{module_id}“ gibt es nicht.", "revision")
    return revision
