"""What the trainer sees before and after publishing: learners with progress, the course overview."""
from __future__ import annotations

import posixpath
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select

from namalms.extensions import db
from namalms.models import ContentRevision, Course, Module, ModuleProgress
from namalms.services.content_sync import latest_revision


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


def content_overview(course_ids: Collection[str] | None = None) -> list[CourseOverview]:
    """Courses with their modules (active in course order, then retired), revisions and learners.

    ``course_ids`` limits it to these courses (a trainer's own); None means every course."""
    course_query, module_query = select(Course).order_by(Course.position), select(Module).order_by(Module.position)
    if course_ids is not None:
        course_query = course_query.where(Course.id.in_(list(course_ids)))
        module_query = module_query.where(Module.course_id.in_(list(course_ids)))
    courses = list(db.session.scalars(course_query))
    modules = list(db.session.scalars(module_query))
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
