"""Small helpers shared by the models."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import DateTime, event
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator


# Set only while demo data replays a past course run (see `replayed_clock`); None: the real time.
_replayed_now: ContextVar[datetime | None] = ContextVar("namalms_replayed_now", default=None)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (stored and compared in UTC everywhere)."""
    replayed = _replayed_now.get()
    return replayed if replayed is not None else datetime.now(timezone.utc)


@contextmanager
def replayed_clock(moment: datetime) -> Iterator[None]:
    """Inside the block, "now" is `moment` (never later than the real now).

    For the demo data only: it replays a course run of the past, so everything the services
    stamp with the current time – a certificate's issue date and signed snapshot, audit entries,
    quiz attempts – carries the day the learner earned it instead of the day `flask demo` ran.
    """
    token = _replayed_now.set(min(moment, datetime.now(timezone.utc)))
    try:
        yield
    finally:
        _replayed_now.reset(token)


class UTCDateTime(TypeDecorator):
    """A timestamp that always comes back timezone-aware in UTC, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use namalms.models.base.utcnow()")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class AppendOnly:
    """Mixin for logs whose rows are written once and never changed or deleted."""


@event.listens_for(Session, "before_flush")
def _keep_logs_append_only(session, flush_context, instances) -> None:
    """Refuse to change or delete a row of an append-only log: the log must explain every state."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AppendOnly) and (obj in session.deleted or session.is_modified(obj)):
            raise ValueError(f"{obj.__tablename__} rows are append-only")
