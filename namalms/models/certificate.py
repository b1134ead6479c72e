"""Certificate definitions (from content/programme.yml) and issued certificates."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from namalms.extensions import db
from namalms.models.base import UTCDateTime, utcnow

STATUS_LABELS = {"valid": "gültig", "revoked": "widerrufen", "superseded": "ersetzt"}
REVOCATION_CATEGORIES = {
    "error": "Ausstellung irrtümlich",
    "fraud": "Täuschung oder unzulässige Hilfe",
    "data": "Fehlerhafte Angaben",
    "request": "Auf Wunsch der Inhaberin bzw. des Inhabers",
    "other": "Sonstiger Grund",
}


class CertificateDefinition(db.Model):
    """One certificate of the programme and its eligibility rule (a copy of programme.yml)."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    short_title: Mapped[str] = mapped_column(String(120), default="", server_default="")
    statement: Mapped[str] = mapped_column(Text)
    rule: Mapped[dict] = mapped_column(JSON)
    rule_hash: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)
    # A definition removed from programme.yml stays, inactive: its certificates keep their meaning.
    is_active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Certificate(db.Model):
    """An issued certificate. Its snapshot is frozen at issue time and signed.

    `current_marker` is True for the one current certificate of a learner and definition and
    NULL for superseded ones; the unique constraint over (user, definition, marker) makes the
    database itself guarantee "exactly once", on SQLite and PostgreSQL alike (NULLs never clash).
    """

    __table_args__ = (UniqueConstraint("user_id", "definition_id", "current_marker"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    verification_code: Mapped[str] = mapped_column(String(64), unique=True)
    # None once the holder deleted their account: the certificate stays as an anonymous record
    # (number, title, date, status) so its verification link keeps answering (services.privacy).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    definition_id: Mapped[str] = mapped_column(ForeignKey("certificate_definition.id"), index=True)
    current_marker: Mapped[bool | None] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(20), default="valid")
    grounds: Mapped[str] = mapped_column(String(20), default="rule")  # rule | office_decision
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    rule_hash: Mapped[str] = mapped_column(String(64), default="")
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    signature: Mapped[str] = mapped_column(Text, default="")
    key_id: Mapped[str] = mapped_column(String(32), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revocation_category: Mapped[str | None] = mapped_column(String(20))
    revocation_reason: Mapped[str | None] = mapped_column(Text, info={"max_length": 5000})
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Open Badges 3.0: the certificate's bit in the revocation status list (stable for life, never
    # reused) and the salt of the hashed e-mail address that identifies the holder.
    status_index: Mapped[int | None] = mapped_column(unique=True)
    identity_salt: Mapped[str] = mapped_column(String(32), default="", server_default="")

    user = relationship("User")
    definition = relationship("CertificateDefinition")

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def is_valid(self) -> bool:
        return self.status == "valid"

    @property
    def is_holder_deleted(self) -> bool:
        """The holder deleted their account: name and evidence are gone, the record remains."""
        return bool((self.snapshot or {}).get("holder_deleted"))


class Eligibility(db.Model):
    """The last evaluated standing of one learner towards one certificate.

    Written whenever a learner's certificates are evaluated, so the programme office can filter
    thousands of learners by "fehlt noch 1 Bedingung" with plain SQL instead of re-running rules.
    """

    __table_args__ = (UniqueConstraint("user_id", "definition_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    definition_id: Mapped[str] = mapped_column(ForeignKey("certificate_definition.id"), index=True)
    is_met: Mapped[bool] = mapped_column(default=False)
    # False when a precondition fails (the learner's region): no learning can earn it.
    is_reachable: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    missing_count: Mapped[int] = mapped_column(default=0, index=True)
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    missing: Mapped[list] = mapped_column(JSON, default=list)  # German labels of the open conditions
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CertificatePdf(db.Model):
    """The PDF of a certificate as last built, and the state it was built from.

    A certificate's PDF depends only on its signed snapshot and its status stamp; building it
    takes a tenth of a second, serving stored bytes almost nothing. ``state`` is a hash of
    everything the PDF shows, so a revocation, a replacement or a name correction makes the stored
    bytes stale and the next download builds them anew. Deleting the holder's account deletes the
    PDF with their name (services.privacy).
    """

    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
