"""Request ids and structured logs: one JSON line per request and per logged event.

Every request gets an id: the ``X-Request-Id`` a proxy sent (when it looks like one) or a new
random one. It is returned in the ``X-Request-Id`` header, shown on error pages, and attached to
every log line written while the request runs, so a user's "Fehlerkennung" leads straight to
the traceback in the log.

A request line says: request id, user id, method, route (the URL *pattern*, e.g.
``/verify/<code>``, so codes and names in URLs stay out of the log), endpoint, status and
duration in milliseconds. Errors are logged with their traceback in the field ``exc_info``.
"""
from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from datetime import datetime, timezone

from flask import Flask, current_app, g, has_request_context, request, session
from sqlalchemy import inspect as sa_inspect

REQUEST_ID_HEADER = "X-Request-Id"
KEPT_PAGE_USER = "namalms.page_memo.user_id"  # request.environ, set by namalms.page_memo
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
request_log = logging.getLogger("namalms.request")

# Built once: json.dumps with options builds a new encoder for every line.
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
# Attributes every LogRecord has; everything else was passed in `extra` and is logged as a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def current_request_id() -> str | None:
    """The id of the request being handled, or None outside a request."""
    if has_request_context():
        return g.get("request_id")
    return None


def _user_id() -> int | None:
    """The logged-in user's id without a database query: from the user flask-login already
    loaded, else from the session cookie (``"<id>:<version>"``)."""
    user = g.get("_login_user")
    if user is None and (answered_to := request.environ.get(KEPT_PAGE_USER)) is not None:
        return answered_to  # a kept page (namalms.page_memo): the login was checked, no user loaded
    if user is not None:
        # The row's identity, not `user.id`: after the commit the instance is expired, and reading
        # an attribute would query the database again (and on SQLite take the write lock).
        state = sa_inspect(user, raiseerr=False)
        return state.identity[0] if state is not None and state.identity else None
    if current_app.config.get("SESSION_COOKIE_NAME", "session") not in request.cookies:
        return None  # no session: do not open one (it would add "Vary: Cookie" to every answer)
    raw = session.get("_user_id")
    head = str(raw).split(":", 1)[0] if raw else ""
    return int(head) if head.isascii() and head.isdigit() and len(head) < 19 else None


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` to every record written during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request id, extra fields,
    and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        return _ENCODER.encode(entry)


class TextFormatter(logging.Formatter):
    """Readable lines for development, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the moment (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(log_format: str, *, level: int = logging.INFO) -> None:
    """Send the logs to stderr in ``log_format`` ("json"/"text"), the app's own (``namalms.*``)
    from ``level`` on.

    The handler sits on the root logger, so a handler someone else installed there first (the
    one of ``namalms.gunicorn_conf``, pytest's) keeps seeing every record; a second call adds
    nothing, and no line is written twice.
    """
    root = logging.getLogger()
    if not any(isinstance(h.formatter, (JsonFormatter, TextFormatter)) for h in root.handlers):
        handler = _StderrHandler()
        handler.addFilter(RequestContextFilter())
        handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
        root.addHandler(handler)
    logging.getLogger("namalms").setLevel(level)


def init_app(app: Flask) -> None:
    """Request ids and the per-request log line; JSON logging outside development and tests."""
    app_logger = logging.getLogger("namalms")  # Flask logs unhandled exceptions here
    if not any(isinstance(f, RequestContextFilter) for f in app_logger.filters):
        app_logger.addFilter(RequestContextFilter())
    log_format = app.config.get("LOG_FORMAT")
    if log_format is None and not app.config.get("TESTING"):
        log_format = "text" if app.config.get("NAMALMS_ENV") == "development" else "json"
    if log_format:
        configure_logging(log_format)

    @app.before_request
    def start_request():
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _INCOMING_ID.match(incoming) else secrets.token_hex(8)
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response):
        request_id = g.get("request_id")
        if request_id is None:  # a before_request of another extension answered first
            start_request()
            request_id = g.request_id
        response.headers[REQUEST_ID_HEADER] = request_id
        duration = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
        req = request._get_current_object()  # once, not through the proxy for every field
        if req.endpoint != "static":
            route, status = req.url_rule.rule if req.url_rule else None, response.status_code
            request_log.info(
                "%s %s %s", req.method, route or "-", status,
                extra={"request_id": request_id, "user_id": _user_id(), "method": req.method, "route": route,
                       "endpoint": req.endpoint, "status": status, "duration_ms": round(duration, 1)})
        return response
