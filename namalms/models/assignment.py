"""Which trainer looks after which course: set by the programme office, read on every trainer page."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from namalms.extensions import db
from namalms.models.base import UTCDateTime, utcnow


class TrainerAssignment(db.Model):
    """A trainer assigned to a course: they see and change its content, workshops and learners.

    The office (role admin) sees every course without assignments; a trainer without any sees
    none. Rows are added and removed by the office (audited), never edited.
    """

    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user = relationship("User")
    course = relationship("Course")
