"""Forwarding xAPI statements to a learning record store (LRS), configured by ``NAMALMS_LRS_URL``
(plus ``NAMALMS_LRS_USERNAME``/``NAMALMS_LRS_PASSWORD`` for HTTP Basic authentication).

Statements are queued in the database in the same transaction as what they record
(:mod:`namalms.services.xapi`); after that transaction commits, a short background delivery
sends the queue, and ``flask --app namalms xapi send-queued`` (cron) sends what is left – so an
LRS that is down loses nothing: the queue waits, with back-off, until it answers again.
"""
from __future__ import annotations

import base64
import json
import logging
import threading
from urllib import error as urlerror
from urllib import request as urlrequest

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
XAPI_VERSION = "1.0.3"


class LrsError(Exception):
    """The LRS did not take the statements (unreachable, refused, or an unexpected answer)."""


def _headers(username: str | None, password: str | None) -> dict:
    headers = {"Content-Type": "application/json", "X-Experience-API-Version": XAPI_VERSION}
    if username:
        token = base64.b64encode(f"{username}:{password or ''}".encode("utf-8")).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    return headers


def _call(method: str, url: str, body: bytes, headers: dict, timeout: float) -> int:
    req = urlrequest.Request(url, data=body, headers=headers, method=method)
    try:
        with urlrequest.urlopen(req, timeout=timeout) as response:  # noqa: S310 - configured URL
            return response.status
    except urlerror.HTTPError as error:
        return error.code
    except (urlerror.URLError, OSError, TimeoutError) as error:
        raise LrsError(f"LRS not reachable: {getattr(error, 'reason', error)}") from error


def post_statements(endpoint: str, statements: list[dict], *, username: str | None = None,
                    password: str | None = None, timeout: float = 10.0) -> None:
    """Store ``statements`` in the LRS at ``endpoint`` (the xAPI base, e.g. ``…/xapi``).

    One POST for the batch. If the LRS answers 409 (a statement with one of these ids exists –
    a batch re-sent after a lost answer), each statement is PUT by id: 204 means stored, 409
    means the LRS already holds it, so nothing is stored twice and nothing is lost.
    """
    if not statements:
        return
    base = endpoint.rstrip("/") + "/statements"
    headers = _headers(username, password)
    status = _call("POST", base, json.dumps(statements).encode("utf-8"), headers, timeout)
    if status in (200, 204):
        return
    if status != 409:
        raise LrsError(f"LRS answered HTTP {status} to POST /statements")
    for statement in statements:
        url = f"{base}?statementId={statement['id']}"
        status = _call("PUT", url, json.dumps(statement).encode("utf-8"), headers, timeout)
        if status not in (200, 204, 409):
            raise LrsError(f"LRS answered HTTP {status} to PUT /statements?statementId={statement['id']}")


# --- delivery after commit ------------------------------------------------------------------------

_delivery_lock = threading.Lock()
_threads: list[threading.Thread] = []


def _deliver(app: Flask) -> None:
    from namalms.services import xapi as xapi_service
    from namalms.unit_of_work import unit_of_work

    try:
        with app.app_context():
            with unit_of_work():
                xapi_service.send_queued(limit=app.config.get("LRS_BATCH_AFTER_COMMIT", 200))
    except Exception:  # noqa: BLE001 - a failed delivery is retried by cron; never crash the worker
        log.exception("xAPI delivery after commit failed; the queue keeps the statements")
    finally:
        _delivery_lock.release()


def deliver_soon(app: Flask) -> threading.Thread | None:
    """Send the queue in a background thread unless one is already at it (then it is its job)."""
    if not _delivery_lock.acquire(blocking=False):
        return None
    thread = threading.Thread(target=_deliver, args=(app,), name="xapi-delivery", daemon=True)
    _threads[:] = [t for t in _threads if t.is_alive()] + [thread]
    thread.start()
    return thread


def wait_for_deliveries(timeout: float = 30.0) -> None:
    """Join the running delivery threads (tests, and a clean shutdown)."""
    for thread in list(_threads):
        thread.join(timeout)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if not session.info.pop("xapi_queued", False) or not has_app_context():
        return
    app = current_app._get_current_object()
    if app.config.get("LRS_URL") and app.config.get("LRS_SEND_AFTER_COMMIT", True):
        deliver_soon(app)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("xapi_queued", None)


@event.listens_for(Session, "before_flush")
def _queue_statements(session: Session, flush_context, instances) -> None:
    """With an LRS configured, queue the statements of what this flush writes (same transaction)."""
    if not has_app_context() or not current_app.config.get("LRS_URL"):
        return
    from namalms.services import xapi as xapi_service

    xapi_service.queue_new_records(session)


def init_app(app: Flask) -> None:
    """Defaults for forwarding; the session listeners above are registered on import."""
    app.config.setdefault("LRS_URL", None)
    app.config.setdefault("LRS_USERNAME", None)
    app.config.setdefault("LRS_PASSWORD", None)
    app.config.setdefault("LRS_TIMEOUT", 10.0)
    app.config.setdefault("LRS_SEND_AFTER_COMMIT", True)
