"""Read-only views of a learner's progress, assembled with a fixed number of queries."""
from __future__ import annotations

from dataclasses import dataclass


from namalms.domain.progress import (
    CourseProgress, ModuleCompletion, ModuleRequirements, ModuleState, course_progress,
    module_completion, resume_module,
)
from namalms.models import Course, Enrollment, Module, ModuleProgress, User
from namalms.services import course_structure
from namalms.services.course_structure import CourseInfo, ModuleInfo
from namalms.services.progress import enrollments_of, progress_by_module


@dataclass
class ModuleRow:
    module: ModuleInfo
    progress: ModuleProgress | None
    completion: ModuleCompletion

    @property
    def is_started(self) -> bool:
        """Anything recorded counts: opened, marked done, a quiz attempt or workshop attendance."""
        p = self.progress
        return p is not None and any(
            value is not None for value in (p.first_viewed_at, p.done_at, p.best_quiz_score, p.workshop_attended_at))

    @property
    def status_label(self) -> str:
        return {"complete": "Abgeschlossen", "new": "Noch nicht begonnen", "started": "In Bearbeitung"}[self.status_key]

    @property
    def status_key(self) -> str:
        if self.completion.is_complete:
            return "complete"
        return "started" if self.is_started else "new"


@dataclass
class CourseView:
    course: CourseInfo
    enrollment: Enrollment | None
    rows: list[ModuleRow]
    progress: CourseProgress
    resume: ModuleInfo | None

    @property
    def resume_label(self) -> str:
        """"Jetzt beginnen" before anything was opened, "Weiter, wo ich war" back into an opened
        module, "Weiter mit" for the next module not opened yet."""
        if self.resume is None:
            return ""
        if not any(r.progress and r.progress.first_viewed_at for r in self.rows):
            return "Jetzt beginnen"
        row = next(r for r in self.rows if r.module.id == self.resume.id)
        return "Weiter, wo ich war" if row.progress and row.progress.first_viewed_at else "Weiter mit"

    @property
    def total_minutes(self) -> int:
        return sum(r.module.minutes for r in self.rows)


def completion_of(module: Module, progress: ModuleProgress | None) -> ModuleCompletion:
    state = ModuleState() if progress is None else ModuleState(
        progress.done_at, progress.quiz_passed_at, progress.workshop_attended_at)
    return module_completion(ModuleRequirements(module.has_quiz, module.has_workshop), state)


def active_modules(course: Course | CourseInfo) -> list[Module | ModuleInfo]:
    return [m for m in course.modules if not m.is_retired]


def course_view(course: CourseInfo, user: User | None, *, enrollments: dict | None = None,
                progress: dict | None = None) -> CourseView:
    modules = course.active_modules
    enrollment = None
    if user is not None and user.is_authenticated:
        enrollments = enrollments if enrollments is not None else enrollments_of(user)
        enrollment = enrollments.get(course.id)
        progress = progress if progress is not None else progress_by_module(user, [m.id for m in modules])
    else:
        progress = {}
    rows = [ModuleRow(m, progress.get(m.id), completion_of(m, progress.get(m.id))) for m in modules]
    completed = {r.module.id for r in rows if r.completion.is_complete}
    overall = course_progress([m.id for m in modules if m.is_required], completed)
    viewed = [r for r in rows if r.progress and r.progress.last_viewed_at]
    last = max(viewed, key=lambda r: r.progress.last_viewed_at).module.id if viewed else None
    resume_id = resume_module([m.id for m in modules], completed, last) if enrollment else None
    resume = next((m for m in modules if m.id == resume_id), None)
    return CourseView(course, enrollment, rows, overall, resume)


def catalogue_views(user: User | None) -> list[CourseView]:
    """One CourseView per course; the learner's enrolments and progress in two queries in all."""
    if user is None or not user.is_authenticated:
        return [course_view(c, None) for c in course_structure.courses()]
    enrollments, progress = enrollments_of(user), progress_by_module(user)
    return [course_view(c, user, enrollments=enrollments, progress=progress) for c in course_structure.courses()]


def dashboard_views(user: User, *, enrollments: dict | None = None,
                    progress: dict | None = None) -> list[CourseView]:
    """One CourseView per enrolled course, from two queries in total (none when given the rows)."""
    enrollments = enrollments if enrollments is not None else enrollments_of(user)
    progress = progress if progress is not None else progress_by_module(user)
    return [course_view(c, user, enrollments=enrollments, progress=progress)
            for c in course_structure.courses() if c.id in enrollments]
