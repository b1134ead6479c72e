"""Learner progress: enrolments, the current state per module, and the append-only event log."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from namalms.extensions import db
from namalms.models.base import AppendOnly, UTCDateTime, utcnow


class Enrollment(db.Model):
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("course.id"), index=True)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    course = relationship("Course")


class ModuleProgress(db.Model):
    """The current state of one learner in one module, derived from the event log.

    Kept as a row so pages and certificate checks never replay events.
    """

    __table_args__ = (UniqueConstraint("user_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[str] = mapped_column(ForeignKey("module.id"), index=True)
    first_viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    best_quiz_score: Mapped[int | None] = mapped_column()
    quiz_passed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    workshop_attended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    module = relationship("Module")


class ProgressEvent(AppendOnly, db.Model):
    """Something a learner did or that happened to their progress. Never updated or deleted."""

    __table_args__ = (Index("ix_progress_event_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    course_id: Mapped[str | None] = mapped_column(String(64))
    module_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)



class QuizAttempt(db.Model):
    """One attempt at a module's self-check as the learner was shown it.

    ``layout`` holds the questions drawn and each one's option order (see
    :class:`namalms.domain.quiz.AttemptLayout`), so grading, feedback and review map the positions
    the learner saw back to the authored options. Created when the quiz is shown, closed once
    when it is submitted (a second submit of the same attempt changes nothing).
    """

    __table_args__ = (Index("ix_quiz_attempt_user_module", "user_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    module_id: Mapped[str] = mapped_column(ForeignKey("module.id"))
    revision_id: Mapped[int] = mapped_column(ForeignKey("content_revision.id"))
    layout: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    score: Mapped[int | None] = mapped_column()
    is_passed: Mapped[bool | None] = mapped_column()
    answers: Mapped[dict] = mapped_column(JSON, default=dict)  # question id → authored option indices
