"""The trainer's view of a course: learners × modules, and who is one step from a certificate.

Read-only, in a fixed number of queries per page whatever the number of learners.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

from sqlalchemy import and_, case, exists, func, select

from namalms.extensions import db
from namalms.models import (
    Certificate, CertificateDefinition, Course, Eligibility, Enrollment, Module, ModuleProgress, Region, User,
)
from namalms.pagination import PAGE_SIZE, Page, paginate
from namalms.services.search import name_or_email_matches
from namalms.services.trainer_courses import CourseNotAssigned


@dataclass
class Cell:
    """One learner in one module, as the matrix shows it."""

    progress: ModuleProgress | None

    @property
    def is_complete(self) -> bool:
        return bool(self.progress and self.progress.completed_at)

    @property
    def is_done(self) -> bool:
        return bool(self.progress and self.progress.done_at)

    @property
    def quiz_score(self) -> int | None:
        return self.progress.best_quiz_score if self.progress else None

    @property
    def is_quiz_passed(self) -> bool:
        return bool(self.progress and self.progress.quiz_passed_at)

    @property
    def has_workshop(self) -> bool:
        return bool(self.progress and self.progress.workshop_attended_at)

    @property
    def is_started(self) -> bool:
        return bool(self.progress and (self.progress.first_viewed_at or self.progress.done_at))

    @property
    def key(self) -> str:
        if self.is_complete:
            return "complete"
        return "started" if self.is_started or self.quiz_score is not None or self.has_workshop else "new"

    @property
    def description(self) -> str:
        """The cell in words, for screen readers."""
        if self.is_complete:
            parts = ["abgeschlossen"]
        elif self.key == "new":
            return "noch nicht begonnen"
        else:
            parts = ["durchgearbeitet" if self.is_done else "begonnen"]
        if self.quiz_score is not None:
            parts.append(f"Selbstcheck {self.quiz_score} %" + ("" if self.is_quiz_passed else " (nicht bestanden)"))
        if self.has_workshop:
            parts.append("Workshop besucht")
        return ", ".join(parts)


@dataclass(frozen=True)
class NearCertificate:
    title: str
    missing: tuple[str, ...]


@dataclass
class MatrixRow:
    user: User
    region: str
    cells: list[Cell]
    completed: int
    required: int
    near: list[NearCertificate]


@dataclass
class LearnerMatrix:
    courses: list[Course]
    regions: list[Region]
    course: Course | None
    modules: list[Module]
    rows: Page[MatrixRow]


SORTS = {"name": "Name (A–Z)", "fortschritt": "Fortschritt (meiste Module zuerst)",
         "zertifikat": "1 Schritt vor dem Zertifikat zuerst"}


def _near_certificate_clause():
    """SQL: this learner's last evaluation says one condition is missing for a certificate they lack."""
    held = exists().where(Certificate.user_id == Eligibility.user_id,
                          Certificate.definition_id == Eligibility.definition_id,
                          Certificate.current_marker.is_(True))
    return and_(Eligibility.is_met.is_(False), Eligibility.missing_count == 1, Eligibility.is_reachable.is_(True), ~held,
                Eligibility.definition_id.in_(select(CertificateDefinition.id).where(CertificateDefinition.is_active)))


def learner_matrix(course_id: str | None = None, *, region_id: str = "", search: str = "",
                   one_step_only: bool = False, sort: str = "name", page: int = 1,
                   course_ids: Collection[str] | None = None) -> LearnerMatrix:
    """One page of a course's learners × modules, in a fixed number of queries (eight).

    „One step from a certificate“ reads the Eligibility table, which holds each learner's last
    evaluated standing, so no rules are run here. ``course_ids`` limits the courses offered to
    these (a trainer's own; None means all); asking for another course is refused with
    :class:`CourseNotAssigned`.
    """
    if course_id and course_ids is not None and course_id not in course_ids \
            and db.session.get(Course, course_id) is not None:
        raise CourseNotAssigned(course_id)
    courses = [c for c in db.session.scalars(select(Course).order_by(Course.position))
               if course_ids is None or c.id in course_ids]
    regions = list(db.session.scalars(select(Region).order_by(Region.position, Region.name)))
    course = next((c for c in courses if c.id == course_id), courses[0] if courses else None)
    if course is None:
        return LearnerMatrix(courses, regions, None, [], Page([], 0, 1, PAGE_SIZE))
    modules = list(db.session.scalars(select(Module).where(Module.course_id == course.id, Module.is_retired.is_(False))
                                      .order_by(Module.position)))
    near = exists().where(Eligibility.user_id == User.id, _near_certificate_clause())
    query = (select(User).join(Enrollment, Enrollment.user_id == User.id)
             .where(Enrollment.course_id == course.id, User.role == "learner"))
    if region_id == "-":
        query = query.where(User.region_id.is_(None))
    elif region_id:
        query = query.where(User.region_id == region_id)
    if search.strip():
        query = query.where(name_or_email_matches(search))
    if one_step_only:
        query = query.where(near)
    if sort == "fortschritt":
        done = (select(func.count()).select_from(ModuleProgress)
                .where(ModuleProgress.user_id == User.id, ModuleProgress.completed_at.is_not(None),
                       ModuleProgress.module_id.in_([m.id for m in modules])).scalar_subquery())
        query = query.order_by(done.desc(), User.name, User.id)
    elif sort == "zertifikat":
        query = query.order_by(case((near, 0), else_=1), User.name, User.id)
    else:
        query = query.order_by(User.name, User.id)
    users = paginate(query, page)
    ids = [u.id for u in users]
    progress: dict[tuple[int, str], ModuleProgress] = {}
    nearby: dict[int, list[NearCertificate]] = {}
    if ids:
        progress = {(p.user_id, p.module_id): p for p in db.session.scalars(select(ModuleProgress).where(
            ModuleProgress.user_id.in_(ids), ModuleProgress.module_id.in_([m.id for m in modules])))}
        for row, title in db.session.execute(
                select(Eligibility, CertificateDefinition.title)
                .join(CertificateDefinition, CertificateDefinition.id == Eligibility.definition_id)
                .where(Eligibility.user_id.in_(ids), _near_certificate_clause())
                .order_by(CertificateDefinition.position)):
            nearby.setdefault(row.user_id, []).append(NearCertificate(title, tuple(row.missing or ())))
    region_names = {r.id: r.name for r in regions}
    required = [m.id for m in modules if m.is_required]
    rows = []
    for user in users:
        cells = [Cell(progress.get((user.id, m.id))) for m in modules]
        completed = sum(1 for m, c in zip(modules, cells) if c.is_complete and m.id in required)
        rows.append(MatrixRow(user, region_names.get(user.region_id, "–"), cells, completed, len(required),
                              nearby.get(user.id, [])))
    return LearnerMatrix(courses, regions, course, modules, replace(users, items=rows))
