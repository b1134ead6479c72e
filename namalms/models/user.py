"""Accounts: learners, trainers and programme-office admins."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from namalms.extensions import db
from namalms.models.base import UTCDateTime, utcnow

ROLES = {
    "learner": "Teilnehmer*in",
    "trainer": "Trainer*in",
    "admin": "Programmbüro",
}


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="learner")
    district_id: Mapped[str | None] = mapped_column(ForeignKey("district.id"), index=True)
    municipality: Mapped[str] = mapped_column(String(200), default="")
    region_id: Mapped[str | None] = mapped_column(ForeignKey("region.id"), index=True)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    # Recorded in every login session (see models.session): raising it ends every session of this
    # user at once (deactivation, password reset).
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the address was confirmed through the link mailed at registration (None: not yet).
    # Accounts made by the office, the CLI or the demo data count as confirmed at creation.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last login (not every request): with last_activity_at it decides when an account has been
    # unused long enough for the retention rule (`flask accounts purge-inactive`).
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Last learning activity (any progress event); kept here so "inaktiv seit > 90 Tagen"
    # filters 100,000 learners without scanning the event log.
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # The first enrolment, kept here for the same reason: sorting 100,000 learners by it must not
    # compute min(enrolled_at) per learner.
    first_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    district = relationship("District")
    region = relationship("Region")

    @property
    def is_active(self) -> bool:  # used by flask-login
        return self.is_active_account

    # The raw token of the login session this object was loaded for (set by services.sessions,
    # never stored): flask-login keeps it in the session and "angemeldet bleiben" cookies.
    login_token = None

    def get_id(self) -> str | None:
        """The login session's token: logging out deletes its row, so old cookies stop working."""
        return self.login_token

    @property
    def is_email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


# The office sorts learners by name, case-insensitively, and pages through 100,000 of them.
Index("ix_user_lower_name", func.lower(User.name), User.id)
