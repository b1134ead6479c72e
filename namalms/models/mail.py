"""Outgoing e-mail, queued in the database with the action that causes it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from namalms.extensions import db
from namalms.models.base import UTCDateTime, utcnow

MAIL_STATUS_LABELS = {
    "queued": "wartet auf Versand",
    "sending": "wird gesendet",
    "sent": "versendet",
    "failed": "fehlgeschlagen",
}


class OutgoingMail(db.Model):
    """One message: written in the same transaction as the action, sent after the commit.

    ``message`` holds the complete MIME message until it is sent; then it is dropped (links in
    it may still be valid for a while) and only who, what kind and when remain, for the office's
    mail status. A server that is down leaves the row ``queued`` for the next attempt; a refusal
    that retrying cannot cure, or a message older than the give-up time, becomes ``failed``.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    message: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # Makes a notification idempotent, e.g. "workshop-reminder:12:2026-04-14T08:00:00+00:00:5".
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # Requests retry a waiting message only from this moment on (the CLI retries at once).
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def status_label(self) -> str:
        return MAIL_STATUS_LABELS.get(self.status, self.status)
