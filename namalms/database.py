"""When the database fails: recognise it, answer 503 fast, and report health within a bound.

- :func:`is_unavailable` tells "the database did not answer" (refused, gone, timed out, locked)
  from programming errors; those requests get the German 503 page (see :mod:`namalms.errors`).
- A :class:`Breaker` per app remembers for a few seconds that the database server could not be
  reached at all, so the next requests answer 503 at once instead of each waiting for the
  connect timeout – two hanging requests no longer take every worker.
- :func:`probe` runs the health check in a helper thread and waits at most
  ``HEALTH_CHECK_TIMEOUT`` seconds for it: ``/healthz`` answers in time even when the database
  accepts connections and then never replies (a hung server, a dead network path), a case no
  client-side setting of the driver bounds below two seconds.
"""
from __future__ import annotations

import logging
import threading
import time

from flask import Flask, abort, current_app, request
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

log = logging.getLogger(__name__)

UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, sa_exc.DisconnectionError)
# Pages that must answer even while the breaker is open.
ALWAYS_TRY = {"static", "public.healthz"}


def is_unavailable(error: BaseException) -> bool:
    """True when ``error`` means the database could not serve the request (not a bug)."""
    return isinstance(error, UNAVAILABLE)


def is_unreachable(error: BaseException) -> bool:
    """True when the server itself could not be reached (as opposed to one slow or locked
    statement): a PostgreSQL error without an SQLSTATE is a failed connection."""
    if not isinstance(error, sa_exc.DBAPIError) or error.orig is None:
        return False
    if type(error.orig).__module__.startswith("sqlite3"):
        return False
    return getattr(error, "connection_invalidated", False) or getattr(error.orig, "sqlstate", None) is None


class Breaker:
    """Open for ``cooldown`` seconds after the database was unreachable."""

    def __init__(self, cooldown: float) -> None:
        self.cooldown = cooldown
        self._open_until = 0.0

    def trip(self) -> None:
        self._open_until = time.monotonic() + self.cooldown

    def reset(self) -> None:
        self._open_until = 0.0

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until


def breaker() -> Breaker:
    return current_app.extensions["namalms_breaker"]


def note_failure(error: BaseException) -> None:
    """Log a database failure and open the breaker if the server was unreachable."""
    if is_unreachable(error):
        breaker().trip()
    log.error("database unavailable: %s", str(error).splitlines()[0] if str(error) else type(error).__name__,
              exc_info=error)


class _Probe:
    """At most one health check in flight per app; a hung one is not started again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: threading.Thread | None = None
        self._result: dict = {}

    def check(self, app: Flask, timeout: float) -> str:
        """"ok", or why not ("unavailable", "timeout", "check pending")."""
        with self._lock:
            if self._running is not None and self._running.is_alive():
                return "check pending"  # the previous check still hangs: do not pile up threads
            result: dict = {}
            thread = threading.Thread(target=_ping, args=(app, result), name="namalms-healthz", daemon=True)
            self._running, self._result = thread, result
            thread.start()
        thread.join(timeout)
        if thread.is_alive():
            return "timeout"
        return result.get("status", "unavailable")


def _ping(app: Flask, result: dict) -> None:
    try:
        with app.app_context():
            from namalms.extensions import db, reading

            with reading(), db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        result["status"] = "ok"
    except Exception as error:  # any failure means "not healthy"; the reason goes to the log
        log.warning("health check failed: %s", str(error).splitlines()[0] if str(error) else type(error).__name__)
        result["status"] = "unavailable"


def probe() -> str:
    """Check the database within ``HEALTH_CHECK_TIMEOUT`` seconds (see the module docstring)."""
    app = current_app._get_current_object()
    status = app.extensions["namalms_probe"].check(app, float(app.config["HEALTH_CHECK_TIMEOUT"]))
    if status == "ok":
        breaker().reset()
    return status


def init_app(app: Flask) -> None:
    app.extensions["namalms_breaker"] = Breaker(float(app.config.get("DATABASE_RETRY_AFTER", 5)))
    app.extensions["namalms_probe"] = _Probe()

    @app.before_request
    def fail_fast_while_unreachable():
        if breaker().is_open and request.endpoint not in ALWAYS_TRY:
            abort(503)
