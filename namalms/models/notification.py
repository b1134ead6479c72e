"""Which e-mail notifications a learner switched off (all are on until switched off)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from namalms.extensions import db
from namalms.models.base import UTCDateTime, utcnow

NOTIFICATION_KINDS = {
    "certificate_issued": "Ein Zertifikat wurde ausgestellt (mit Prüflink)",
    "certificate_revoked": "Ein Zertifikat wurde widerrufen (mit Begründung)",
    "workshop_changes": "Workshops meiner Kurse wurden angesetzt, geändert oder abgesagt (mit Kalendereintrag)",
    "workshop_reminder": "Erinnerung am Tag vor einem Workshop",
}


class NotificationOptOut(db.Model):
    """A row means: this learner does not want this kind of notification by e-mail."""

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
