"""Login sessions: one row per login, so logging out ends exactly that login on the server."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from namalms.extensions import db
from namalms.models.base import UTCDateTime, utcnow


class LoginSession(db.Model):
    """One login of one user on one device.

    The browser holds a random token (in the signed session cookie and, with "angemeldet bleiben",
    in the remember cookie); the database holds only its SHA-256. A request is logged in only
    while the row exists, has not expired and carries the user's current ``session_version``.
    Logging out deletes the row, so a copied cookie is worthless afterwards, while the user's
    other devices stay logged in.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    session_version: Mapped[int] = mapped_column()
    is_remembered: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class LearnerStamp(db.Model):
    """A random number that changes with every change to one user's records (see
    :mod:`namalms.learner_stamps`); read with the login, so a kept page is known to be current."""

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger)
