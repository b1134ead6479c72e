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
import os
import queue
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
    """At most one health check in flight per app; a hung one is not started again.

    The checks run in one long-lived thread per process (started by the first check, and again
    in a forked worker): starting a thread for every check cost more than the check itself.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._busy = False

    def check(self, app: Flask, timeout: float) -> str:
        """"ok", or why not ("unavailable", "timeout", "check pending")."""
        result: dict = {}
        done = threading.Event()
        with self._lock:
            if self._pid != os.getpid():  # first check in this process: nothing is in flight here
                self._pid, self._jobs, self._worker, self._busy = os.getpid(), queue.SimpleQueue(), None, False
            if self._busy:
                return "check pending"  # the previous check still hangs: do not pile up checks
            if self._worker is None:
                self._worker = threading.Thread(target=self._serve, args=(self._jobs,), name="namalms-healthz",
                                                daemon=True)
                self._worker.start()
            self._busy = True
            self._jobs.put((app, result, done))
        if not done.wait(timeout):
            return "timeout"
        return result.get("status", "unavailable")

    def _serve(self, jobs: queue.SimpleQueue) -> None:
        while True:
            app, result, done = jobs.get()
            try:
                _ping(app, result)
            finally:
                with self._lock:
                    self._busy = False
                done.set()


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
