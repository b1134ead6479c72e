"""Rate limits: per process by default, shared through Redis when configured."""
import os
import uuid

import pytest

from namalms import ratelimit

REDIS_URL = os.environ.get("NAMALMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_or_skip():
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except Exception as error:
        pytest.skip(f"Redis at {REDIS_URL} not reachable ({error}); shared rate limits not tested")


@pytest.mark.parametrize("counter_kind", ["memory", "redis"])
def test_limit_allows_n_requests_per_window_then_refuses(counter_kind, app):
    if counter_kind == "redis":
        redis_or_skip()
        counter = ratelimit.RedisCounter(REDIS_URL)
    else:
        counter = ratelimit.MemoryCounter()
    original = app.extensions["namalms_ratelimit"]
    app.extensions["namalms_ratelimit"] = counter
    try:
        key = str(uuid.uuid4())
        results = [ratelimit.hit("test", key, 3, 60, now=1000.0) for _ in range(5)]
        assert results == [True, True, True, False, False]
        assert ratelimit.hit("test", key, 3, 60, now=1061.0), "a new window starts afresh"
    finally:
        app.extensions["namalms_ratelimit"] = original


def test_unreachable_redis_allows_requests(app):
    original = app.extensions["namalms_ratelimit"]
    app.extensions["namalms_ratelimit"] = ratelimit.RedisCounter("redis://127.0.0.1:1/0")
    try:
        assert ratelimit.hit("test", "x", 1, 60) and ratelimit.hit("test", "x", 1, 60)
    finally:
        app.extensions["namalms_ratelimit"] = original
