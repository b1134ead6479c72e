"""Progress maths: when is a module complete, how far along is a course. Pure Python."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Sequence


@dataclass(frozen=True)
class ModuleRequirements:
    """What a module asks of a learner beyond working through it."""

    has_quiz: bool
    has_workshop: bool


@dataclass(frozen=True)
class ModuleState:
    """When each condition of one learner in one module was first met (None: not yet)."""

    done_at: datetime | None = None
    quiz_passed_at: datetime | None = None
    workshop_attended_at: datetime | None = None


# The German names of the conditions, in the order a learner meets them.
MISSING_DONE = "Als erledigt markieren"
MISSING_QUIZ = "Selbstcheck bestehen"
MISSING_WORKSHOP = "Workshop-Teilnahme ausstehend"


@dataclass(frozen=True)
class ModuleCompletion:
    is_complete: bool
    completed_at: datetime | None
    missing: tuple[str, ...]


def module_completion(requirements: ModuleRequirements, state: ModuleState) -> ModuleCompletion:
    """A module is complete when it was worked through, its quiz passed and its workshop attended.

    The completion time is the moment the last condition was met, so a certificate can name it.
    """
    conditions: list[tuple[str, datetime | None]] = [(MISSING_DONE, state.done_at)]
    if requirements.has_quiz:
        conditions.append((MISSING_QUIZ, state.quiz_passed_at))
    if requirements.has_workshop:
        conditions.append((MISSING_WORKSHOP, state.workshop_attended_at))
    missing = tuple(label for label, met_at in conditions if met_at is None)
    if missing:
        return ModuleCompletion(False, None, missing)
    return ModuleCompletion(True, max(met_at for _, met_at in conditions), ())


@dataclass(frozen=True)
class CourseProgress:
    completed: int
    total: int

    @property
    def percent(self) -> int:
        """Whole percent, rounded down so 99.6 % never shows as a finished 100 %."""
        if self.total == 0:
            return 0
        return self.completed * 100 // self.total

    @property
    def is_complete(self) -> bool:
        return self.total > 0 and self.completed >= self.total


def course_progress(required_module_ids: Iterable[str], completed_module_ids: Iterable[str]) -> CourseProgress:
    """A course counts its required modules only; optional ones never block completion."""
    required = set(required_module_ids)
    return CourseProgress(len(required & set(completed_module_ids)), len(required))


def resume_module(module_ids: Sequence[str], completed: set[str], last_viewed: str | None) -> str | None:
    """Where "weiter, wo ich war" leads: the last module viewed if it is still open,
    otherwise the first open module in course order; None when everything is complete."""
    if last_viewed in module_ids and last_viewed not in completed:
        return last_viewed
    for module_id in module_ids:
        if module_id not in completed:
            return module_id
    return None
