"""The courses and their modules (and the names of regions and districts) as plain data, loaded
once per content state and process.

The catalogue, course pages and the dashboard show the same course structure to everyone; it
changes only when content is published. So it is read in two queries when the content stamp
changes (see :mod:`namalms.content_cache`) and otherwise served from the process, leaving only the
learner's own rows (enrolments, progress) to query per request.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from namalms import content_cache
from namalms.extensions import db
from namalms.models import Course, District, Region


@dataclass(frozen=True)
class ModuleInfo:
    id: str
    course_id: str
    title: str
    summary: str
    position: int
    minutes: int
    is_required: bool
    has_workshop: bool
    workshop_title: str | None
    has_quiz: bool
    pass_mark: int | None
    is_retired: bool


@dataclass(frozen=True)
class CourseInfo:
    id: str
    title: str
    short_title: str
    description_html: str
    audience_html: str
    position: int
    modules: tuple[ModuleInfo, ...]  # by position, retired ones included

    @property
    def active_modules(self) -> list[ModuleInfo]:
        return [m for m in self.modules if not m.is_retired]


def courses() -> tuple[CourseInfo, ...]:
    """Every course in catalogue order, with its modules."""
    return content_cache.prepared("course_structure", _load)


def course(course_id: str) -> CourseInfo | None:
    return next((c for c in courses() if c.id == course_id), None)


def _load() -> tuple[CourseInfo, ...]:
    rows = db.session.scalars(select(Course).order_by(Course.position).options(selectinload(Course.modules)))
    return tuple(
        CourseInfo(c.id, c.title, c.short_title, c.description_html, c.audience_html, c.position, tuple(
            ModuleInfo(m.id, m.course_id, m.title, m.summary, m.position, m.minutes, m.is_required, m.has_workshop,
                       m.workshop_title, m.has_quiz, m.pass_mark, m.is_retired)
            for m in c.modules))
        for c in rows)


@dataclass(frozen=True)
class PlaceNames:
    regions: dict[str, str]
    districts: dict[str, str]


def place_names() -> PlaceNames:
    """Names of the regions and districts (Kreise, kreisfreie Städte) by id."""
    return content_cache.prepared("place_names", lambda: PlaceNames(
        dict(db.session.execute(select(Region.id, Region.name)).all()),
        dict(db.session.execute(select(District.id, District.name)).all())))
