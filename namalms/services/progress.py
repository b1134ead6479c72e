"""Learner progress: enrolling, opening, finishing modules, quizzes and workshop attendance.

Every change appends a ProgressEvent and updates the ModuleProgress row in the same flush,
so the current state can always be explained from the log.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from namalms.content.model import Quiz
from namalms.domain.progress import ModuleRequirements, ModuleState, module_completion
from namalms.domain.quiz import AttemptLayout, QuizResult, attempt_view, draw_attempt, grade_attempt, identity_layout
from namalms.extensions import db
from namalms.models import ContentRevision, Course, Enrollment, Module, ModuleProgress, ProgressEvent, QuizAttempt, User
from namalms.models.base import utcnow
from namalms.services import ServiceError
from namalms.services.certificates import LEARNER_ENROLLMENTS, LEARNER_PROGRESS, evaluate_and_issue


def progress_changed(user: User) -> None:
    """The learner's progress changed in a way that can make a certificate due: issue it now.

    Called explicitly by every function here (and by workshop attendance) after such a change,
    so a certificate is issued in the same unit of work as the progress that earned it.
    """
    evaluate_and_issue(user)


def _record(user: User, kind: str, *, module: Module | None = None, course_id: str | None = None,
            data: dict | None = None, at: datetime | None = None) -> ProgressEvent:
    event = ProgressEvent(
        user_id=user.id, kind=kind,
        module_id=module.id if module else None,
        course_id=course_id or (module.course_id if module else None),
        data=data or {}, created_at=at or utcnow(),
    )
    db.session.add(event)
    if user.last_activity_at is None or event.created_at > user.last_activity_at:
        user.last_activity_at = event.created_at
    return event


def _insert_or_get(model, **keys):
    """Fetch the row with these unique keys, creating it if needed – safe under concurrent requests.

    Returns (row, created). The row is locked for the rest of the transaction (PostgreSQL;
    SQLite serialises writers anyway), so a double submit changes it once: the second request
    waits and sees the first. ``created`` is False when a concurrent request inserted the row
    first, so the caller does not log the same event twice.
    """
    query = select(model).filter_by(**keys).with_for_update()
    row = db.session.scalar(query)
    if row is not None:
        return row, False
    try:
        with db.session.begin_nested():
            row = model(**keys)
            db.session.add(row)
    except IntegrityError:
        return db.session.scalar(query), False
    return row, True


def enrollment_for(user: User, course_id: str) -> Enrollment | None:
    return db.session.scalar(select(Enrollment).filter_by(user_id=user.id, course_id=course_id))


def enrol(user: User, course: Course, *, at: datetime | None = None) -> tuple[Enrollment, bool]:
    """Enrol a learner in a course; enrolling twice is harmless. Returns (enrolment, created)."""
    existing = enrollment_for(user, course.id)
    if existing is not None:
        return existing, False
    enrollment, created = _insert_or_get(Enrollment, user_id=user.id, course_id=course.id)
    if not created:  # a concurrent request (double click) enrolled first and logged it
        return enrollment, False
    if at is not None:
        enrollment.enrolled_at = at
    enrolled_at = enrollment.enrolled_at or at or utcnow()
    if user.first_enrolled_at is None or enrolled_at < user.first_enrolled_at:
        user.first_enrolled_at = enrolled_at
    _record(user, "enrolled", course_id=course.id, at=enrollment.enrolled_at or at)
    db.session.flush()
    return enrollment, True


def progress_for(user: User, module: Module) -> ModuleProgress:
    return _insert_or_get(ModuleProgress, user_id=user.id, module_id=module.id)[0]


def _require_enrolment(user: User, module: Module) -> None:
    if enrollment_for(user, module.course_id) is None:
        raise ServiceError("Bitte schreiben Sie sich zuerst in diesen Kurs ein.")


# Re-reading a page within this time does not write: a page view stays (almost) read-only.
VISIT_RESOLUTION = timedelta(minutes=5)


def visit_is_due(progress: ModuleProgress | None, at: datetime | None = None) -> bool:
    """Whether opening the module now should be written down (see VISIT_RESOLUTION)."""
    at = at or utcnow()
    return progress is None or progress.last_viewed_at is None \
        or not timedelta(0) <= at - progress.last_viewed_at < VISIT_RESOLUTION


def record_visit(user: User, module: Module, *, at: datetime | None = None) -> tuple[ModuleProgress, bool]:
    """Remember that the learner opened the module (for "weiter, wo ich war").

    Returns (progress, changed); nothing is written when the last visit is only minutes old.
    """
    at = at or utcnow()
    progress = db.session.scalar(select(ModuleProgress).filter_by(user_id=user.id, module_id=module.id))
    if not visit_is_due(progress, at):
        return progress, False
    progress = progress or progress_for(user, module)
    if progress.first_viewed_at is None:
        progress.first_viewed_at = at
        _record(user, "module_opened", module=module, at=at,
                data={"revision_id": module.current_revision_id})
    progress.last_viewed_at = at
    db.session.flush()
    return progress, True


def _refresh_completion(user: User, module: Module, progress: ModuleProgress, at: datetime) -> bool:
    """Mark the module complete the moment its last condition is met. True if that happened now."""
    if progress.completed_at is not None:
        return False
    verdict = module_completion(
        ModuleRequirements(has_quiz=module.has_quiz, has_workshop=module.has_workshop),
        ModuleState(progress.done_at, progress.quiz_passed_at, progress.workshop_attended_at),
    )
    if not verdict.is_complete:
        return False
    progress.completed_at = verdict.completed_at
    _record(user, "module_completed", module=module, at=at)
    return True


def mark_done(user: User, module: Module, *, at: datetime | None = None) -> tuple[ModuleProgress, bool]:
    """The learner says they worked through the module. Idempotent: returns (progress, changed)."""
    _require_enrolment(user, module)
    at = at or utcnow()
    progress = progress_for(user, module)
    if progress.done_at is not None:
        return progress, False
    progress.done_at = at
    _record(user, "module_done", module=module, at=at, data={"revision_id": module.current_revision_id})
    if _refresh_completion(user, module, progress, at):
        db.session.flush()
        progress_changed(user)
    db.session.flush()
    return progress, True


def quiz_of(module: Module) -> Quiz | None:
    """The self-check of the module's current revision, or None when it has none."""
    revision = module.current_revision
    if revision is None or not revision.meta.get("quiz"):
        return None
    return Quiz.from_dict(revision.meta["quiz"])


def _quiz_of_revision(revision_id: int) -> Quiz | None:
    revision = db.session.get(ContentRevision, revision_id)
    if revision is None or not (revision.meta or {}).get("quiz"):
        return None
    return Quiz.from_dict(revision.meta["quiz"])


def open_attempt(user: User, module: Module) -> QuizAttempt | None:
    """The learner's attempt at the module's current quiz that is waiting for answers, if any."""
    return db.session.scalar(
        select(QuizAttempt).where(QuizAttempt.user_id == user.id, QuizAttempt.module_id == module.id,
                                  QuizAttempt.revision_id == module.current_revision_id,
                                  QuizAttempt.submitted_at.is_(None))
        .order_by(QuizAttempt.id.desc()).limit(1))


def start_attempt(user: User, module: Module, *, rng: random.Random | None = None) -> QuizAttempt | None:
    """The open attempt, or a new one drawn now: its questions (a pool draws ``draw`` of them) and
    each question's option order, shuffled per learner and attempt on the server and stored, so
    the order stays the same on reload and says nothing about which option is right."""
    quiz = quiz_of(module)
    if quiz is None:
        return None
    attempt = open_attempt(user, module)
    if attempt is not None:
        return attempt
    layout = draw_attempt(quiz, rng or random.SystemRandom())
    attempt = QuizAttempt(user_id=user.id, module_id=module.id, revision_id=module.current_revision_id,
                          layout=layout.to_list(), created_at=utcnow())
    db.session.add(attempt)
    db.session.flush()
    return attempt


def submit_quiz(user: User, module: Module, answers: Mapping[str, set[int]], *, attempt_id: int | None = None,
                at: datetime | None = None) -> tuple[QuizResult, QuizAttempt]:
    """Grade an attempt, keep the best score, and record a pass the first time it happens.

    ``answers`` are the positions ticked as the attempt showed them; they are mapped back to the
    authored options through the attempt's stored layout. Without ``attempt_id`` (scripts, demo
    data) the answers are authored indices of all questions. The attempt is graded against the
    revision the learner saw; a later edit of the quiz keeps an earlier pass valid because passes
    are stored, not recomputed. Submitting the same attempt twice grades it once.
    """
    _require_enrolment(user, module)
    at = at or utcnow()
    if attempt_id is None:
        quiz = quiz_of(module)
        if quiz is None:
            raise ServiceError("Dieses Modul hat keinen Selbstcheck.")
        attempt = QuizAttempt(user_id=user.id, module_id=module.id, revision_id=module.current_revision_id,
                              layout=identity_layout(quiz).to_list(), created_at=at)
        db.session.add(attempt)
    else:
        attempt = db.session.scalar(select(QuizAttempt).where(QuizAttempt.id == attempt_id).with_for_update())
        if attempt is None or attempt.user_id != user.id or attempt.module_id != module.id:
            raise ServiceError("Dieser Selbstcheck-Versuch gehört nicht zu diesem Modul. Bitte laden Sie die "
                               "Seite neu und beantworten Sie die Fragen noch einmal.")
        if attempt.submitted_at is not None:
            return _graded(attempt), attempt  # a double submit: already graded, nothing changes
        quiz = _quiz_of_revision(attempt.revision_id)
        if quiz is None:
            raise ServiceError("Dieses Modul hat keinen Selbstcheck.")
    layout = AttemptLayout.from_list(attempt.layout)
    result, authored = grade_attempt(quiz, layout, answers)
    attempt.submitted_at, attempt.score, attempt.is_passed, attempt.answers = at, result.score, result.is_passed, authored
    db.session.flush()
    progress = progress_for(user, module)
    _record(user, "quiz_attempt", module=module, at=at, data={
        "revision_id": attempt.revision_id, "attempt_id": attempt.id,
        "score": result.score, "pass_mark": result.pass_mark, "passed": result.is_passed,
        "answers": authored,
    })
    if progress.best_quiz_score is None or result.score > progress.best_quiz_score:
        progress.best_quiz_score = result.score
    changed = False
    if result.is_passed and progress.quiz_passed_at is None:
        progress.quiz_passed_at = at
        _record(user, "quiz_passed", module=module, at=at, data={"score": result.score})
        changed = True
    completed_now = _refresh_completion(user, module, progress, at)
    db.session.flush()
    if changed or completed_now:
        progress_changed(user)
    return result, attempt


def _graded(attempt: QuizAttempt) -> QuizResult | None:
    """The result of a submitted attempt, recomputed from its stored answers and revision."""
    quiz = _quiz_of_revision(attempt.revision_id)
    if quiz is None:
        return None
    layout = AttemptLayout.from_list(attempt.layout)
    shown = {}
    for question in layout.questions:
        shown[question.question_id] = question.to_shown(set(attempt.answers.get(question.question_id, [])))
    result, _ = grade_attempt(quiz, layout, shown)
    return result


@dataclass(frozen=True)
class AttemptFeedback:
    """A graded attempt as the module page shows it: questions and options in the order the
    learner saw them, with their choices, the right answers (once passed) and the explanations."""

    attempt: QuizAttempt
    result: QuizResult
    questions: list[dict]


def attempt_feedback(user: User, module: Module, attempt_id: int) -> AttemptFeedback | None:
    """One of the learner's own submitted attempts at this module, for review; otherwise None."""
    attempt = db.session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.user_id != user.id or attempt.module_id != module.id \
            or attempt.submitted_at is None:
        return None
    quiz = _quiz_of_revision(attempt.revision_id)
    result = _graded(attempt)
    if quiz is None or result is None:
        return None
    return AttemptFeedback(attempt, result, attempt_view(quiz, AttemptLayout.from_list(attempt.layout), result))


def attempt_of(user: User, module: Module, attempt_id: int) -> QuizAttempt | None:
    """The learner's own attempt at this module with this id, or None."""
    attempt = db.session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.user_id != user.id or attempt.module_id != module.id:
        return None
    return attempt


def attempt_questions(module: Module, attempt: QuizAttempt | None) -> list[dict]:
    """The questions to answer, in the attempt's order (authored order for a preview)."""
    quiz = quiz_of(module) if attempt is None else _quiz_of_revision(attempt.revision_id)
    if quiz is None:
        return []
    layout = identity_layout(quiz) if attempt is None else AttemptLayout.from_list(attempt.layout)
    return attempt_view(quiz, layout)


def record_workshop_attendance(user: User, module: Module, *, recorded_by: User | None = None,
                               at: datetime | None = None, source: str = "manual") -> tuple[ModuleProgress, bool]:
    """Record that the learner attended the module's workshop. Idempotent: (progress, changed)."""
    if not module.has_workshop:
        raise ServiceError(f"Das Modul „{module.title}“ hat keinen Workshop.")
    at = at or utcnow()
    progress = progress_for(user, module)
    if progress.workshop_attended_at is not None:
        return progress, False
    progress.workshop_attended_at = at
    _record(user, "workshop_attended", module=module, at=at, data={
        "recorded_by": recorded_by.id if recorded_by else None, "source": source,
    })
    _refresh_completion(user, module, progress, at)
    db.session.flush()
    progress_changed(user)
    return progress, True


def progress_by_module(user: User, module_ids: list[str] | None = None) -> dict[str, ModuleProgress]:
    """All progress rows of a learner in one query, keyed by module id."""
    query = LEARNER_PROGRESS
    if module_ids is not None:
        query = query.where(ModuleProgress.module_id.in_(module_ids))
    return {row.module_id: row for row in db.session.scalars(query, {"user_id": user.id})}


def enrollments_of(user: User) -> dict[str, Enrollment]:
    return {e.course_id: e for e in db.session.scalars(LEARNER_ENROLLMENTS, {"user_id": user.id})}
