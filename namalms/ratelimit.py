"""Fixed-window rate limits for public lookups, per client address.

Counters live in Redis when `NAMALMS_REDIS_URL` (config `REDIS_URL`) is set, so every app server
behind a load balancer shares them; otherwise in this process's memory (fine for one server).
"""
from __future__ import annotations

import logging
import threading
import time
from functools import wraps

from flask import Flask, abort, current_app, request

log = logging.getLogger(__name__)


class MemoryCounter:
    """Counts hits per (scope, key, window) in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str, int], int] = {}

    def incr(self, scope: str, key: str, window: int, ttl: int) -> int:
        with self._lock:
            if len(self._windows) > 10_000:  # forget old windows so memory stays bounded
                for stale in [k for k in self._windows if k[2] < window]:
                    del self._windows[stale]
            count = self._windows.get((scope, key, window), 0) + 1
            self._windows[(scope, key, window)] = count
            return count

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


class RedisCounter:
    """Counts hits in Redis (INCR + EXPIRE in one round trip), shared by all app servers."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def incr(self, scope: str, key: str, window: int, ttl: int) -> int:
        name = f"namalms:ratelimit:{scope}:{key}:{window}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, ttl)
        return int(pipe.execute()[0])

    def reset(self) -> None:
        for name in self._redis.scan_iter("namalms:ratelimit:*"):
            self._redis.delete(name)


def counter():
    return current_app.extensions["namalms_ratelimit"]


def hit(scope: str, key: str, limit: int, window_seconds: int, now: float | None = None) -> bool:
    """Count one request; True while the caller is within `limit` requests per window.

    If Redis is unreachable the request is allowed (and logged): a verification page that is
    down is worse than one that is briefly unlimited.
    """
    now = time.time() if now is None else now
    window = int(now // window_seconds)
    try:
        count = counter().incr(scope, key, window, window_seconds * 2)
    except Exception as error:  # redis.ConnectionError and friends, without importing redis here
        log.warning("rate limit store unavailable, allowing request: %s", error)
        return True
    return count <= limit


def reset() -> None:
    counter().reset()


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


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    app.extensions["namalms_ratelimit"] = RedisCounter(url) if url else MemoryCounter()
