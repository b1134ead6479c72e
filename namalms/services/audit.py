"""The audit log: every admin and trainer action and every certificate event, append-only."""
from __future__ import annotations

from namalms.extensions import db
from namalms.models import AuditEvent, User
from namalms.models.base import utcnow


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
