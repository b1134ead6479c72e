"""xAPI learning records: progress events and certificates as statements, for export, the API and
an LRS. Statement building is :mod:`namalms.formats.xapi`; this module finds the records.

Sources, in one time-ordered list: every ``ProgressEvent``, every issued certificate (earned) and
every revoked certificate (voided). Superseded certificates stay "earned": a re-issue replaces the
paper, not the achievement (the successor is earned again under its own id).
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterator

from flask import current_app
from sqlalchemy import literal, select, union_all
from sqlalchemy import inspect as sa_inspect

from namalms.extensions import db
from namalms.formats import xapi
from namalms.models import Certificate, CertificateDefinition, Course, Module, ProgressEvent, Workshop, XapiOutbox
from namalms.models.base import utcnow
from namalms.pagination import Page, paginate
from namalms.services import open_badges

MAX_BACKOFF = timedelta(hours=6)


# --- who ---------------------------------------------------------------------------------------------

def actor_name(user_id: int) -> str:
    """The learner's opaque xAPI account name: an HMAC of the user id, never the e-mail or name.

    Keyed with ``XAPI_ACTOR_KEY`` (default: the secret key), so nobody outside can map an LRS
    account back to a user id; changing the key gives everyone new account names.
    """
    key = current_app.config.get("XAPI_ACTOR_KEY") or current_app.config["SECRET_KEY"]
    return hmac.new(str(key).encode("utf-8"), f"namalms-xapi-actor|{user_id}".encode("ascii"),
                    hashlib.sha256).hexdigest()[:32]


# --- reading the records -------------------------------------------------------------------------------

def _sources(since: datetime | None, until: datetime | None):
    """One SELECT over all three sources: (at, source, row id), oldest first."""
    def window(column, query):
        if since is not None:
            query = query.where(column >= since)
        if until is not None:
            query = query.where(column < until)
        return query

    events = window(ProgressEvent.created_at, select(
        ProgressEvent.created_at.label("at"), literal("progress").label("source"), ProgressEvent.id.label("row_id")))
    earned = window(Certificate.issued_at, select(
        Certificate.issued_at.label("at"), literal("earned").label("source"), Certificate.id.label("row_id")))
    revoked = window(Certificate.revoked_at, select(
        Certificate.revoked_at.label("at"), literal("revoked").label("source"), Certificate.id.label("row_id"))
        .where(Certificate.revoked_at.is_not(None)))
    combined = union_all(events, earned, revoked).subquery()
    return select(combined.c.at, combined.c.source, combined.c.row_id).order_by(
        combined.c.at, combined.c.source, combined.c.row_id)


@dataclass
class _Titles:
    courses: dict[str, str]
    modules: dict[str, str]
    definitions: dict[str, str]

    @classmethod
    def load(cls) -> _Titles:
        return cls(dict(db.session.execute(select(Course.id, Course.title)).all()),
                   dict(db.session.execute(select(Module.id, Module.title)).all()),
                   dict(db.session.execute(select(CertificateDefinition.id, CertificateDefinition.title)).all()))


def _named(identifier: str | None, titles: dict[str, str]) -> xapi.Named | None:
    return xapi.Named(identifier, titles.get(identifier, identifier)) if identifier else None


def build_statements(rows, titles: _Titles | None = None) -> list[dict]:
    """Statements for (at, source, row id) rows, in their order, in a fixed number of queries."""
    titles = titles or _Titles.load()
    base = open_badges.public_base_url()
    event_ids = [r.row_id for r in rows if r.source == "progress"]
    certificate_ids = [r.row_id for r in rows if r.source != "progress"]
    events = {e.id: e for e in db.session.scalars(select(ProgressEvent).where(ProgressEvent.id.in_(event_ids)))} \
        if event_ids else {}
    certificates = {c.id: c for c in db.session.scalars(
        select(Certificate).where(Certificate.id.in_(certificate_ids)))} if certificate_ids else {}
    workshop_ids = {e.data.get("workshop_id") for e in events.values()
                    if e.kind == "workshop_attended" and not e.module_id and e.data.get("workshop_id")}
    workshops = dict(db.session.execute(select(Workshop.id, Workshop.title).where(Workshop.id.in_(workshop_ids))).all()) \
        if workshop_ids else {}
    actors: dict[int, str] = {}

    def actor_of(user_id: int) -> str:
        if user_id not in actors:
            actors[user_id] = actor_name(user_id)
        return actors[user_id]

    statements = []
    for row in rows:
        if row.source == "progress":
            event = events[row.row_id]
            workshop_id = event.data.get("workshop_id")
            workshop = xapi.Named(str(workshop_id), workshops.get(workshop_id, "Workshop")) if workshop_id else None
            statements.append(xapi.progress_statement(base, xapi.ProgressRecord(
                event_id=event.id, kind=event.kind, at=event.created_at, actor=actor_of(event.user_id),
                course=_named(event.course_id, titles.courses), module=_named(event.module_id, titles.modules),
                workshop=workshop, data=event.data or {})))
        else:
            certificate = certificates[row.row_id]
            title = (certificate.snapshot or {}).get("certificate", {}).get("title") \
                or titles.definitions.get(certificate.definition_id, certificate.definition_id)
            record = xapi.CertificateRecord(
                certificate_id=certificate.id, actor=actor_of(certificate.user_id),
                definition=xapi.Named(certificate.definition_id, title), issued_at=certificate.issued_at,
                revoked_at=certificate.revoked_at)
            statements.append(xapi.earned_statement(base, record) if row.source == "earned"
                              else xapi.revoked_statement(base, record))
    return statements


def statements_page(*, since: datetime | None, until: datetime | None, page: int, per_page: int) -> Page[dict]:
    """One page of statements (oldest first), for the API."""
    titles = _Titles.load()
    return paginate(_sources(since, until), page, per_page, scalars=False,
                    transform=lambda rows: build_statements(rows, titles))


def iter_statements(*, since: datetime | None, until: datetime | None, batch: int = 500) -> Iterator[dict]:
    """Every statement of the period, oldest first, built ``batch`` records at a time."""
    titles = _Titles.load()
    rows = db.session.execute(_sources(since, until)).all()
    for start in range(0, len(rows), batch):
        yield from build_statements(rows[start:start + batch], titles)


# --- the queue for the LRS -------------------------------------------------------------------------------

def lrs_configured() -> bool:
    return bool(current_app.config.get("LRS_URL"))


def queue_new_records(session) -> int:
    """Queue a statement for every progress event, issued certificate and revocation this flush
    writes – called from the session's before_flush, so the queue row is part of the same
    transaction as the record: both are saved or neither is."""
    queued = 0
    for obj in list(session.new):
        if isinstance(obj, ProgressEvent):
            session.add(XapiOutbox(kind="progress", progress_event=obj, created_at=utcnow(), next_attempt_at=utcnow()))
            queued += 1
        elif isinstance(obj, Certificate):
            session.add(XapiOutbox(kind="earned", certificate=obj, created_at=utcnow(), next_attempt_at=utcnow()))
            queued += 1
    for obj in list(session.dirty):
        if isinstance(obj, Certificate) and "revoked" in (sa_inspect(obj).attrs.status.history.added or ()):
            session.add(XapiOutbox(kind="revoked", certificate=obj, created_at=utcnow(), next_attempt_at=utcnow()))
            queued += 1
    if queued:
        session.info["xapi_queued"] = True
    return queued


@dataclass(frozen=True)
class SendReport:
    """What one delivery run did."""

    sent: int
    failed: int
    waiting: int
    error: str = ""


def _rows_for(items: list[XapiOutbox]):
    """The (at, source, row id) rows :func:`build_statements` takes, for queued items."""
    from types import SimpleNamespace

    return [SimpleNamespace(at=None, source=item.kind,
                            row_id=item.progress_event_id if item.kind == "progress" else item.certificate_id)
            for item in items]


def pending_count() -> int:
    from sqlalchemy import func

    return db.session.scalar(select(func.count(XapiOutbox.id)).where(XapiOutbox.sent_at.is_(None))) or 0


def send_queued(*, limit: int = 1000, batch: int = 50, now: datetime | None = None,
                ignore_backoff: bool = False) -> SendReport:
    """Send due queued statements to the LRS in batches; on failure keep them with back-off.

    Rows are locked while they are sent (PostgreSQL: SKIP LOCKED, so a cron run and an
    after-commit delivery never send the same row); a row is marked sent only after the LRS
    accepted it. Statement ids are stable, so a batch that reached the LRS but whose answer was
    lost is stored once when it is sent again.
    """
    from namalms import lrs

    now = now or utcnow()
    url = current_app.config.get("LRS_URL")
    if not url:
        return SendReport(0, 0, pending_count(), "no LRS configured (NAMALMS_LRS_URL)")
    query = select(XapiOutbox).where(XapiOutbox.sent_at.is_(None))
    if not ignore_backoff:
        query = query.where(XapiOutbox.next_attempt_at <= now)
    query = query.order_by(XapiOutbox.id).limit(limit).with_for_update(skip_locked=True)
    items = list(db.session.scalars(query))
    titles = _Titles.load()
    sent = failed = 0
    error = ""
    for start in range(0, len(items), batch):
        chunk = items[start:start + batch]
        try:
            statements = build_statements(_rows_for(chunk), titles)
            lrs.post_statements(url, statements, username=current_app.config.get("LRS_USERNAME"),
                                password=current_app.config.get("LRS_PASSWORD"),
                                timeout=current_app.config.get("LRS_TIMEOUT", 10.0))
        except (lrs.LrsError, KeyError, ValueError) as problem:
            error = str(problem)
            for item in items[start:]:
                item.attempts += 1
                item.last_error = error[:2000]
                item.next_attempt_at = now + min(timedelta(minutes=2 ** min(item.attempts, 12)), MAX_BACKOFF)
            failed = len(items) - start
            break
        for item in chunk:
            item.sent_at, item.last_error = now, ""
        sent += len(chunk)
    db.session.flush()
    return SendReport(sent, failed, pending_count(), error)


def parse_moment(text: str, *, end_of_day: bool = False) -> datetime | None:
    """``since``/``until`` of the export and the API: empty → None; a date (``2026-01-31`` or
    ``31.01.2026``) → midnight in Berlin at its start (``end_of_day``: at its end, so the day is
    included); an ISO 8601 time with zone → that moment. ``ValueError`` for anything else."""
    from namalms.formatting import local_midnight, parse_date

    text = (text or "").strip()
    if not text:
        return None
    try:
        day = parse_date(text)
    except ValueError:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError("a time needs a zone (Z or +01:00)") from None
        return moment
    return local_midnight(day + timedelta(days=1) if end_of_day else day)
