"""The queue of xAPI statements waiting for the learning record store (LRS)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from namalms.extensions import db
from namalms.models.base import UTCDateTime, utcnow


class XapiOutbox(db.Model):
    """One statement to forward to the LRS, written in the same transaction as what it records.

    It points at its source (a progress event or a certificate) instead of holding the statement:
    the statement – and its stable id – is built from that source when it is sent, exactly as the
    export and the API build it, so a resend after a failure can never differ or duplicate.
    ``kind`` is ``progress``, ``earned`` or ``revoked``.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    progress_event_id: Mapped[int | None] = mapped_column(ForeignKey("progress_event.id", ondelete="CASCADE"))
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Not before this moment (back-off after failures); sent_at is set once the LRS accepted it.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")

    progress_event = relationship("ProgressEvent")
    certificate = relationship("Certificate")
