"""A small fixed-window rate limiter for public lookups (per client address, per process).

Good enough for one server; several servers would share a Redis counter instead (not built
yet: the verification page is the only limited endpoint and a per-process limit still stops
enumeration at useful rates).
"""
from __future__ import annotations

import threading
import time
from functools import wraps

from flask import abort, current_app, request

_lock = threading.Lock()
_windows: dict[tuple[str, str, int], int] = {}


def hit(scope: str, key: str, limit: int, window_seconds: int, now: float | None = None) -> bool:
    """Count one request; True while the caller is within `limit` requests per window."""
    now = time.time() if now is None else now
    window = int(now // window_seconds)
    with _lock:
        if len(_windows) > 10_000:  # forget old windows so memory stays bounded
            for stale in [k for k in _windows if k[2] < window]:
                del _windows[stale]
        count = _windows.get((scope, key, window), 0) + 1
        _windows[(scope, key, window)] = count
    return count <= limit


def reset() -> None:
    with _lock:
        _windows.clear()


def limited(scope: str, config_key: str):
    """Decorator: answer 429 when a client exceeds the limit `config[config_key] = (n, seconds)`."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            limit, seconds = current_app.config.get(config_key, (30, 60))
            if not hit(scope, request.remote_addr or "unknown", limit, seconds):
                abort(429)
            return view(*args, **kwargs)

        return wrapped

    return decorator
