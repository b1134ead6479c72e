"""Workshops (online or in person) and who attended them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from namalms.extensions import db
from namalms.models.base import UTCDateTime, utcnow

FORMATS = {"online": "Online", "praesenz": "In Präsenz"}


class Workshop(db.Model):
    """A scheduled workshop of a module (or of a whole course when module_id is empty)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("course.id"), index=True)
    module_id: Mapped[str | None] = mapped_column(ForeignKey("module.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    format: Mapped[str] = mapped_column(String(20), default="online")  # online | praesenz
    location: Mapped[str] = mapped_column(String(500), default="")  # address or meeting link
    capacity: Mapped[int | None] = mapped_column()
    is_cancelled: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    course = relationship("Course")
    module = relationship("Module")

    @property
    def format_label(self) -> str:
        return FORMATS.get(self.format, self.format)


class WorkshopAttendance(db.Model):
    __table_args__ = (UniqueConstraint("workshop_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(20), default="checklist")  # checklist | csv | cli

    workshop = relationship("Workshop")
    user = relationship("User", foreign_keys=[user_id])
