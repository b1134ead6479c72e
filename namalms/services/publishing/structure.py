"""Course structure: move a module up or down, retire it. Both rewrite course.yml and the
``order:`` lines of the modules that move, as new revisions."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from namalms.content.listing import CourseListing
from namalms.extensions import db
from namalms.models import ContentRevision, Course, Module, User
from namalms.services import ServiceError
from namalms.services.audit import record_audit
from namalms.services.content_sync import latest_revision, publish_course, publish_module
from namalms.services.publishing.files import (
    check_candidate, course_source, read_course_listing, rewrite_course_listing, with_order, write_files,
)
from namalms.services.publishing.modules import get_module
from namalms.services.publishing.overview import affected_learners
from namalms.services.publishing.problems import ContentProblems


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
    lock_course(row.course_id)
    listing = read_course_listing(course_source(row.course_id))
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
    lock_course(row.course_id)
    listing = read_course_listing(course_source(row.course_id))
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
    changes: dict[str, bytes] = {course_revision.path: rewrite_course_listing(course_revision.source, listing).encode("utf-8")}
    moved: dict[str, int] = {}
    for position, module_id in enumerate(listing.ids, start=1):
        row = db.session.get(Module, module_id)
        if row is None or row.current_revision is None:
            continue
        current = row.current_revision
        if (current.meta or {}).get("order") != position:
            changes[current.path] = with_order(current.source, position).encode("utf-8")
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


def lock_course(course_id: str) -> list[Module]:
    """Lock a course and all its modules (reorder, retire and zip change several files)."""
    db.session.scalar(select(Course).where(Course.id == course_id).with_for_update()
                      .execution_options(populate_existing=True))
    return list(db.session.scalars(select(Module).where(Module.course_id == course_id).order_by(Module.id)
                                   .with_for_update().execution_options(populate_existing=True)))
