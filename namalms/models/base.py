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


# --- text limits ----------------------------------------------------------------------------------

# A Text column without its own limit (``info={"max_length": n}``) holds at most this many
# characters: content sources are refused above 512 KB, their rendered HTML stays below this.
TEXT_LIMIT = 2_000_000
# German names of columns for the message; anything else is "Eingabe".
FIELD_LABELS = {
    "name": "Name", "email": "E-Mail-Adresse", "municipality": "Kommune bzw. Institution", "title": "Titel",
    "location": "Ort bzw. Link", "description": "Beschreibung", "reason": "Begründung",
    "revocation_reason": "Begründung", "message": "Beschreibung der Änderung", "actor_label": "Name",
    "author_label": "Name", "path": "Dateipfad", "source": "Text", "short_title": "Kurztitel", "summary": "Zusammenfassung",
}


def _german_number(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def text_limit(column) -> int | None:
    """How many characters a text column holds (its declared length, ``info`` or TEXT_LIMIT)."""
    from sqlalchemy import String

    if not isinstance(column.type, String):
        return None
    return column.info.get("max_length") or column.type.length or TEXT_LIMIT


def check_text(key: str, column, value) -> None:
    """Refuse a value this column must not hold, with a German message naming the field.

    Every text column is checked when a row is written – whatever view, service or command wrote
    it – so a 1 MB name is a German message on SQLite and PostgreSQL alike, never a silently
    stored row on one and a 500 on the other. NUL bytes are refused too: PostgreSQL cannot
    store them.
    """
    from namalms.services import ServiceError

    limit = text_limit(column)
    if limit is None or not isinstance(value, str):
        return
    label = FIELD_LABELS.get(key, "Eingabe")
    if "\x00" in value:
        raise ServiceError(f"„{label}“ enthält ein unzulässiges Steuerzeichen (NUL).", key,
                           english=f"{key} contains a NUL character")
    if len(value) > limit:
        raise ServiceError(f"„{label}“ ist zu lang ({_german_number(len(value))} Zeichen; erlaubt sind höchstens "
                           f"{_german_number(limit)}).", key,
                           english=f"{key} is too long ({len(value)} characters, at most {limit})")


@event.listens_for(Session, "before_flush")
def _enforce_text_limits(session, flush_context, instances) -> None:
    """Check the text of every new or changed row before it reaches the database."""
    from sqlalchemy import inspect

    for obj in list(session.new) + list(session.dirty):
        state = inspect(obj)
        values = state.dict  # loaded values only: never triggers a query inside the flush
        for attribute in state.mapper.column_attrs:
            value = values.get(attribute.key)
            if isinstance(value, str):
                check_text(attribute.key, attribute.columns[0], value)
