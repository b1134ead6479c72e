"""Outgoing e-mail: queued with the action that causes it, sent after the commit, retried until it went.

- :func:`queue_mail` renders a German message (``templates/mail/<name>.txt`` and ``.html``) and
  adds it to ``outgoing_mail`` in the running unit of work. If the action is rolled back, so is
  its mail; if the action is committed, so is its mail – even when no server is reachable.
- After the commit the messages of that unit of work are handed to the server at once (plus a
  few older ones whose retry time has come: "the next request that sends mail retries too").
- ``flask --app namalms mail send-queued`` (cron) sends everything still waiting, gives up on
  messages older than ``MAIL_GIVE_UP_HOURS`` and forgets old rows; the office sees what failed.

Delivery changes rows on connections of its own, one short transaction per step (claim, then
sent / try later / failed), never through the request's session: a message is claimed before it
is sent, so two workers never send the same one, and a crash mid-batch does not send twice what
was already recorded as sent.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

from flask import current_app, has_app_context
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy import event

from namalms.extensions import db
from namalms.formats.mail_message import Attachment, MailServer, address, build_message, parse_mail_url, parse_sender
from namalms.links import external_url, public_base, public_host
from namalms.mail_transport import ConnectionLost, PermanentFailure, TemporaryFailure, open_transport
from namalms.models import OutgoingMail, User
from namalms.models.base import utcnow
from namalms.pagination import Page, paginate

log = logging.getLogger(__name__)

_PENDING = "namalms_mail_pending"  # ids queued in the session's running transaction
_suppressed: ContextVar[bool] = ContextVar("namalms_mail_suppressed", default=False)
SEND_NOW = 50  # messages of one unit of work sent right after its commit
RETRY_BATCH = 20  # older messages a request retries besides its own
STALE_CLAIM = timedelta(minutes=15)  # a "sending" row this old belonged to a process that died
PLATFORM_NAME = "NaMa NRW Lernplattform"


# --- settings ---------------------------------------------------------------------------------------

def mail_server() -> MailServer:
    """Where mail goes: ``MAIL_URL``, or the outbox ``instance/outbox/`` when it is empty."""
    return parse_mail_url(current_app.config.get("MAIL_URL", ""),
                          default_outbox=str(Path(current_app.instance_path) / "outbox"))


def sender():
    """The From address: ``MAIL_FROM``, or the platform's name at no-reply@<public host>."""
    configured = current_app.config.get("MAIL_FROM")
    if configured:
        return parse_sender(configured)
    host = public_host()
    return address(PLATFORM_NAME, f"no-reply@{host if '.' in host else host + '.localdomain'}")


def reply_to():
    """The Reply-To address (``MAIL_REPLY_TO``, e.g. the programme office), or None."""
    configured = current_app.config.get("MAIL_REPLY_TO")
    return parse_sender(configured) if configured else None


@contextmanager
def suppressed() -> Iterator[None]:
    """Queue no mail inside (demo data: nobody should be told about invented certificates)."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


# --- queueing ----------------------------------------------------------------------------------------

def queue_mail(kind: str, *, to: str, name: str, subject: str, template: str, context: dict | None = None,
               user: User | None = None, attachments: tuple[Attachment, ...] = (),
               dedupe_key: str | None = None) -> OutgoingMail | None:
    """Render and queue one message in the running unit of work; it is sent after the commit.

    ``dedupe_key`` makes the call idempotent (reminders): a second message with the same key is
    not queued and None is returned.
    """
    if _suppressed.get():
        return None
    if dedupe_key and db.session.scalar(select(OutgoingMail.id).where(OutgoingMail.dedupe_key == dedupe_key)):
        return None
    values = {"name": name, "platform_url": public_base(), "platform_name": PLATFORM_NAME,
              "profile_url": external_url("learner.profile"), "subject": subject, **(context or {})}
    text = render_mail(f"mail/{template}.txt", values)
    html = render_mail(f"mail/{template}.html", values)
    message = build_message(sender=sender(), recipient=address(name, to), subject=subject, text=text, html=html,
                            reply_to=reply_to(), attachments=attachments)
    row = OutgoingMail(user_id=user.id if user is not None else None, kind=kind, recipient=to,
                       subject=str(message["Subject"]), message=bytes(message), status="queued",
                       attempts=0, last_error="", dedupe_key=dedupe_key, created_at=utcnow(),
                       next_attempt_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        if dedupe_key:
            return None  # a concurrent run queued it first
        raise
    db.session.info.setdefault(_PENDING, []).append(row.id)
    return row


def render_mail(name: str, values: dict) -> str:
    """A mail template with exactly these values – no page context (no request, no logged-in user)."""
    return current_app.jinja_env.get_template(name).render(**values)


@event.listens_for(Session, "after_commit")
def _send_after_commit(session) -> None:
    # SQLAlchemy also reports the release of a SAVEPOINT as a commit: only the real one counts.
    if session.in_nested_transaction():
        return
    ids = session.info.pop(_PENDING, [])
    if not ids or not has_app_context() or not current_app.config.get("MAIL_SEND_AFTER_COMMIT", True):
        return
    try:
        # A workshop for a thousand learners must not hold up the trainer's request: the rest goes
        # out with the next requests and the cron job.
        report = deliver(ids[:SEND_NOW])
        if not report.connection_failed:
            deliver(due_only=True, limit=RETRY_BATCH, exclude=ids)
    except Exception:  # the action is committed; its mail waits in the queue for the next attempt
        log.exception("sending mail after the commit failed; it stays queued")


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT rolled back (e.g. a duplicate reminder); the outer transaction goes on
    session.info.pop(_PENDING, None)


# --- delivery ------------------------------------------------------------------------------------------

@dataclass
class DeliveryReport:
    """What one delivery run did: ids sent, waiting for a retry and failed, and the last error."""

    sent: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)  # temporary failure: tried again later
    failed: list[int] = field(default_factory=list)  # refused for good
    connection_failed: bool = False
    error: str = ""

    def summary(self) -> str:
        """One English line for the command line."""
        parts = [f"{len(self.sent)} sent", f"{len(self.waiting)} waiting for a retry", f"{len(self.failed)} failed"]
        return ", ".join(parts) + (f" (last error: {self.error})" if self.error else "")


def backoff(attempts: int) -> timedelta:
    """How long requests wait before retrying a message: 1, 2, 4 … minutes, at most 6 hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def _change(mail_id: int, **values) -> int:
    """One state change of one message, committed at once on a connection of its own."""
    with db.engine.begin() as connection:
        result = connection.execute(update(OutgoingMail).where(OutgoingMail.id == mail_id).values(**values))
    return result.rowcount


def _claim(mail_id: int, now: datetime) -> tuple[bytes, str] | None:
    """Take a waiting message for sending; None when another worker took it or it is gone."""
    with db.engine.begin() as connection:
        claimed = connection.execute(
            update(OutgoingMail).where(OutgoingMail.id == mail_id, OutgoingMail.status == "queued",
                                       OutgoingMail.message.is_not(None))
            .values(status="sending", claimed_at=now, attempts=OutgoingMail.attempts + 1)).rowcount
        if not claimed:
            return None
        return tuple(connection.execute(select(OutgoingMail.message, OutgoingMail.recipient)
                                        .where(OutgoingMail.id == mail_id)).one())


def deliver(ids: list[int] | None = None, *, due_only: bool = False, limit: int = 500,
            exclude: list[int] | None = None, now: datetime | None = None) -> DeliveryReport:
    """Send waiting messages: the given ids, or the oldest waiting ones (only due ones if ``due_only``).

    One connection serves the batch. A server that cannot be reached leaves every message
    waiting with the error noted (the office sees it); a refusal for good marks that message
    failed; everything else is marked sent and its text dropped.
    """
    now = now or utcnow()
    report = DeliveryReport()
    query = select(OutgoingMail.id).where(OutgoingMail.status == "queued").order_by(OutgoingMail.id).limit(limit)
    if ids is not None:
        query = query.where(OutgoingMail.id.in_(ids))
    if due_only:
        query = query.where(OutgoingMail.next_attempt_at <= now)
    if exclude:
        query = query.where(OutgoingMail.id.not_in(exclude))
    with db.engine.connect() as connection:
        candidates = list(connection.execute(query).scalars())
    if not candidates:
        return report
    envelope_sender = sender().addr_spec
    try:
        with open_transport(mail_server(), timeout=current_app.config.get("MAIL_TIMEOUT", 10)) as transport:
            for position, mail_id in enumerate(candidates):
                claimed = _claim(mail_id, now)
                if claimed is None:
                    continue
                data, recipient = claimed
                try:
                    transport.send(data, envelope_sender, recipient)
                except PermanentFailure as error:
                    _change(mail_id, status="failed", last_error=str(error)[:2000], claimed_at=None)
                    report.failed.append(mail_id)
                    report.error = str(error)
                except TemporaryFailure as error:
                    _wait(mail_id, str(error), now)
                    report.waiting.append(mail_id)
                    report.error = str(error)
                    if isinstance(error, ConnectionLost):
                        _note_unreachable(candidates[position + 1:], str(error), now, report)
                        return report
                except Exception as error:  # anything unforeseen: never leave a message claimed
                    log.exception("sending mail %s failed unexpectedly", mail_id)
                    _change(mail_id, status="failed", last_error=f"{type(error).__name__}: {error}"[:2000],
                            claimed_at=None)
                    report.failed.append(mail_id)
                else:
                    _change(mail_id, status="sent", sent_at=utcnow(), message=None, last_error="", claimed_at=None)
                    report.sent.append(mail_id)
    except TemporaryFailure as error:  # could not connect at all
        _note_unreachable(candidates, str(error), now, report)
    return report


def _wait(mail_id: int, error: str, now: datetime) -> None:
    with db.engine.begin() as connection:
        attempts = connection.execute(select(OutgoingMail.attempts).where(OutgoingMail.id == mail_id)).scalar() or 1
        connection.execute(update(OutgoingMail).where(OutgoingMail.id == mail_id).values(
            status="queued", last_error=error[:2000], claimed_at=None, next_attempt_at=now + backoff(attempts)))


def _note_unreachable(mail_ids: list[int], error: str, now: datetime, report: DeliveryReport) -> None:
    """The server could not be reached: count an attempt on each message and say why."""
    report.connection_failed = True
    report.error = error
    log.warning("mail server unreachable, %d message(s) wait for the next attempt: %s", len(mail_ids), error)
    for mail_id in mail_ids:
        with db.engine.begin() as connection:
            changed = connection.execute(
                update(OutgoingMail).where(OutgoingMail.id == mail_id, OutgoingMail.status == "queued")
                .values(attempts=OutgoingMail.attempts + 1, last_error=error[:2000])).rowcount
        if changed:
            with db.engine.begin() as connection:
                attempts = connection.execute(select(OutgoingMail.attempts)
                                              .where(OutgoingMail.id == mail_id)).scalar() or 1
                connection.execute(update(OutgoingMail).where(OutgoingMail.id == mail_id)
                                   .values(next_attempt_at=now + backoff(attempts)))
            report.waiting.append(mail_id)


def send_queued(*, now: datetime | None = None) -> DeliveryReport:
    """The cron job: release claims of dead processes, give up on old messages, send the rest, tidy up.

    Idempotent: a message is sent at most once; running it twice in a row sends nothing the
    second time.
    """
    now = now or utcnow()
    config = current_app.config
    with db.engine.begin() as connection:
        connection.execute(update(OutgoingMail).where(
            OutgoingMail.status == "sending", OutgoingMail.claimed_at < now - STALE_CLAIM)
            .values(status="queued", claimed_at=None))
        connection.execute(update(OutgoingMail).where(
            OutgoingMail.status == "queued",
            OutgoingMail.created_at < now - timedelta(hours=config.get("MAIL_GIVE_UP_HOURS", 48)))
            .values(status="failed", last_error=func.coalesce(OutgoingMail.last_error, "") +
                    f" – nach {config.get('MAIL_GIVE_UP_HOURS', 48)} Stunden aufgegeben"))
        connection.execute(delete(OutgoingMail).where(
            OutgoingMail.status.in_(("sent", "failed")),
            OutgoingMail.created_at < now - timedelta(days=config.get("MAIL_KEEP_DAYS", 90))))
    return deliver(now=now)


# --- the office's view ----------------------------------------------------------------------------------

def mail_of(user: User, *, limit: int = 20) -> list[OutgoingMail]:
    """The latest messages to one account, newest first (for the office's account page)."""
    return list(db.session.scalars(select(OutgoingMail).where(OutgoingMail.user_id == user.id)
                                   .order_by(OutgoingMail.id.desc()).limit(limit)))


def undelivered(*, page: int = 1) -> Page[OutgoingMail]:
    """Messages that failed or still wait after a failed attempt, newest first."""
    return paginate(select(OutgoingMail).where(or_(
        OutgoingMail.status == "failed",
        (OutgoingMail.status.in_(("queued", "sending"))) & (OutgoingMail.attempts > 0)))
        .order_by(OutgoingMail.id.desc()), page)


def waiting_count() -> int:
    """How many messages wait to be sent (for the office's mail page)."""
    return db.session.scalar(select(func.count()).select_from(OutgoingMail)
                             .where(OutgoingMail.status.in_(("queued", "sending")))) or 0


def retry(mail_id: int) -> OutgoingMail | None:
    """Put a failed (or waiting) message back in the queue to be sent now; None if it cannot be."""
    row = db.session.get(OutgoingMail, mail_id)
    if row is None or row.status == "sent" or row.message is None:
        return None
    row.status = "queued"
    row.next_attempt_at = utcnow()
    row.claimed_at = None
    db.session.info.setdefault(_PENDING, []).append(row.id)
    db.session.flush()
    return row
