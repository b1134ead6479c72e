"""The audit log: every admin and trainer action and every certificate event, append-only."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, or_, select

from namalms.extensions import db
from namalms.formatting import local_midnight, parse_date
from namalms.models import AuditEvent, User
from namalms.models.base import utcnow
from namalms.pagination import Page, paginate


def record_audit(action: str, *, actor: User | None = None, actor_label: str = "", reason: str = "",
                 data: dict | None = None, target_type: str = "", target_id: str = "",
                 subject_user_id: int | None = None) -> AuditEvent:
    """Append one audit entry (the caller commits with the change it describes)."""
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        actor_label=actor_label or (actor.name if actor else "System"),
        action=action, target_type=target_type, target_id=target_id,
        subject_user_id=subject_user_id, reason=reason, data=data or {}, created_at=utcnow(),
    )
    db.session.add(event)
    return event


# --- reading the log ------------------------------------------------------------------------------

def content_names() -> dict[str, str]:
    """Course and module ids → their titles, so the log names them as the office knows them."""
    from namalms.models import Course, Module

    names = {m.id: f"„{m.title}“" for m in db.session.scalars(select(Module))}
    names.update({c.id: c.short_title or c.title for c in db.session.scalars(select(Course))})
    return names


@dataclass(frozen=True)
class AuditFilters:
    """What the office filters the log by; every field as typed (empty means "any")."""

    action: str = ""
    actor: str = ""
    subject: str = ""
    date_from: str = ""
    date_to: str = ""

    @classmethod
    def from_args(cls, args) -> AuditFilters:
        def text(name: str) -> str:
            return (args.get(name) or "").strip()[:MAX_FILTER]

        return cls(text("action"), text("actor"), text("subject"), text("from"), text("to"))

    def query_args(self) -> dict[str, str]:
        """The filters as query-string arguments (empty ones left out)."""
        values = {"action": self.action, "actor": self.actor, "subject": self.subject,
                  "from": self.date_from, "to": self.date_to}
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True)
class AuditPage:
    """One page of the filtered log, with the people it names and what the filters got wrong."""

    events: Page
    people: dict[int, User]
    subject_user: User | None
    recorded_actions: set[str]
    errors: dict[str, str] = field(default_factory=dict)


MAX_FILTER = 200


def audit_page(filters: AuditFilters, *, page: int = 1) -> AuditPage:
    """The log, newest first, filtered by action, actor, person concerned and German dates."""
    errors: dict[str, str] = {}
    query = select(AuditEvent)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.actor:
        query = query.where(func.lower(AuditEvent.actor_label).like(f"%{filters.actor.lower()}%"))
    subject_user = None
    subject_id = int(filters.subject) if filters.subject.isascii() and filters.subject.isdigit() \
        and len(filters.subject) < 19 else None
    if subject_id is not None:
        subject_user = db.session.get(User, subject_id)
        query = query.where(AuditEvent.subject_user_id == subject_id)
    elif filters.subject:
        like = f"%{filters.subject.lower()}%"
        query = query.where(AuditEvent.subject_user_id.in_(
            select(User.id).where(or_(func.lower(User.name).like(like), User.email.like(like)))))
    for key, text, label in (("from", filters.date_from, "Von"), ("to", filters.date_to, "Bis")):
        if not text:
            continue
        try:
            day = parse_date(text)
        except ValueError:
            errors[key] = f"„{label}“: Bitte ein Datum wie 31.01.2026 angeben."
            continue
        if key == "from":
            query = query.where(AuditEvent.created_at >= local_midnight(day))
        else:
            query = query.where(AuditEvent.created_at < local_midnight(day + timedelta(days=1)))
    events = paginate(query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()), page)
    subject_ids = {e.subject_user_id for e in events if e.subject_user_id}
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(subject_ids)))} if subject_ids else {}
    recorded = set(db.session.scalars(select(AuditEvent.action).distinct()))
    return AuditPage(events, people, subject_user, recorded, errors)
