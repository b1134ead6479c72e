"""Completion logic as tables of cases: what makes a module and a course complete."""
from datetime import datetime, timedelta, timezone

import pytest

from namalms.domain.progress import (
    MISSING_DONE, MISSING_QUIZ, MISSING_WORKSHOP, ModuleRequirements, ModuleState, course_progress,
    module_completion, resume_module,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
T1 = T0 + timedelta(days=1)
T2 = T0 + timedelta(days=2)


@pytest.mark.parametrize(
    "has_quiz, has_workshop, state, complete, missing",
    [
        (False, False, ModuleState(), False, (MISSING_DONE,)),
        (False, False, ModuleState(done_at=T0), True, ()),
        (True, False, ModuleState(done_at=T0), False, (MISSING_QUIZ,)),
        (True, False, ModuleState(quiz_passed_at=T0), False, (MISSING_DONE,)),
        (True, False, ModuleState(done_at=T0, quiz_passed_at=T1), True, ()),
        (False, True, ModuleState(done_at=T0), False, (MISSING_WORKSHOP,)),
        (True, True, ModuleState(done_at=T0, quiz_passed_at=T1), False, (MISSING_WORKSHOP,)),
        (True, True, ModuleState(), False, (MISSING_DONE, MISSING_QUIZ, MISSING_WORKSHOP)),
        (True, True, ModuleState(done_at=T0, quiz_passed_at=T1, workshop_attended_at=T2), True, ()),
        # A workshop attended before the learner marked the module done still counts.
        (False, True, ModuleState(done_at=T2, workshop_attended_at=T0), True, ()),
    ],
)
def test_module_is_complete_only_when_all_its_own_conditions_hold(has_quiz, has_workshop, state, complete, missing):
    result = module_completion(ModuleRequirements(has_quiz, has_workshop), state)
    assert result.is_complete is complete
    assert result.missing == missing


def test_module_completion_time_is_when_the_last_condition_was_met():
    result = module_completion(ModuleRequirements(True, True),
                               ModuleState(done_at=T1, quiz_passed_at=T0, workshop_attended_at=T2))
    assert result.completed_at == T2


def test_quiz_not_required_without_quiz_even_if_never_taken():
    assert module_completion(ModuleRequirements(False, False), ModuleState(done_at=T0)).completed_at == T0


@pytest.mark.parametrize(
    "required, completed, done, total, percent, complete",
    [
        (["a", "b", "c"], [], 0, 3, 0, False),
        (["a", "b", "c"], ["a"], 1, 3, 33, False),
        (["a", "b", "c"], ["a", "b", "c"], 3, 3, 100, True),
        (["a", "b"], ["a", "b", "optional"], 2, 2, 100, True),  # optional modules do not count
        (["a", "b", "c"], ["a", "b"], 2, 3, 66, False),  # rounded down: never shows 100 % early
        ([], [], 0, 0, 0, False),
    ],
)
def test_course_progress_counts_required_modules(required, completed, done, total, percent, complete):
    progress = course_progress(required, completed)
    assert (progress.completed, progress.total, progress.percent, progress.is_complete) == (done, total, percent, complete)


@pytest.mark.parametrize(
    "completed, last_viewed, expected",
    [
        (set(), None, "m1"),
        ({"m1"}, None, "m2"),
        ({"m1"}, "m3", "m3"),  # back to where I was
        ({"m1", "m3"}, "m3", "m2"),  # last viewed is done: first open one
        ({"m1", "m2", "m3"}, "m2", None),
        (set(), "gone", "m1"),  # a retired module never traps the learner
    ],
)
def test_resume_leads_to_where_i_was_or_the_first_open_module(completed, last_viewed, expected):
    assert resume_module(["m1", "m2", "m3"], completed, last_viewed) == expected
