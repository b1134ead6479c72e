"""Throttling with Flask-Limiter: login, registration, password reset, confirmation mails, verification.

A view declares its limits beside its route with :func:`throttled` (a marker only); when the app
is built, :func:`init_app` gives every app its own ``Limiter`` and attaches the declared limits to
that app's view functions. So several apps in one process (the test suite) never share storage
or settings, and the limit values are read from the app's config at request time – tests use
small numbers, production the defaults in :mod:`namalms.config`.

Counters live in Redis when ``REDIS_URL`` (``NAMALMS_REDIS_URL``) is set, so every app server
behind a load balancer shares them; otherwise in this process's memory. If Redis is unreachable
the limits fall back to this process's memory instead of being switched off: a login page
without brute-force protection is worse than one with per-server counters.

A breach answers 429 with the German page or message of :mod:`namalms.errors`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import Flask, current_app, request
from flask_limiter import Limiter

from namalms.services.accounts import normalise_email

_MARK = "_namalms_throttles"
EXTENSION = "namalms_limiter"


@dataclass(frozen=True)
class Throttle:
    """One limit of a view: which setting holds its value, whom it counts, what it counts."""

    setting: str  # config key: "N per M minutes" or (N, seconds)
    key: str  # "address" (client IP) or "account" (the e-mail address in the form)
    methods: tuple[str, ...] | None = ("POST",)
    only_failures: bool = False  # count only answers that failed (wrong password: 401)


def client_address() -> str:
    """The client's address; behind the configured proxy hops ProxyFix has already put it here."""
    return request.remote_addr or "unknown"


def account_key() -> str:
    """The account an attempt is about: the normalised e-mail address the form names."""
    email = normalise_email(request.form.get("email", ""))[:254]
    return f"account:{email}" if email else client_address()


KEYS: dict[str, Callable[[], str]] = {"address": client_address, "account": account_key}


def limit_value(setting: str) -> Callable[[], str]:
    """The limit as Flask-Limiter notation, read from the running app's config at request time.

    Accepts "10 per 15 minutes" or the older (count, seconds) pairs such as (30, 60).
    """
    def value() -> str:
        configured = current_app.config[setting]
        if isinstance(configured, (tuple, list)):
            count, seconds = configured
            return f"{int(count)} per {int(seconds)} second"
        return str(configured)

    return value


def throttled(setting: str, *, key: str = "address", methods: tuple[str, ...] | None = ("POST",),
              only_failures: bool = False):
    """Declare a limit for a view (applied by :func:`init_app`); stack it for several limits.

    ``methods=None`` counts every method; ``only_failures`` counts only 4xx answers (wrong
    passwords), so someone who logs in correctly is never throttled by their own successes.
    """
    if key not in KEYS:
        raise ValueError(f"unknown throttle key {key!r}")

    def mark(view):
        throttles = list(getattr(view, _MARK, ()))
        throttles.append(Throttle(setting, key, methods, only_failures))
        setattr(view, _MARK, throttles)
        return view

    return mark


def _failed(response) -> bool:
    return 400 <= response.status_code < 500 and response.status_code != 429


def init_app(app: Flask) -> None:
    """Give the app its own Limiter and attach every declared throttle (call after the blueprints)."""
    url = app.config.get("REDIS_URL")
    limiter = Limiter(
        key_func=client_address,
        storage_uri=url or "memory://",
        # Short timeouts: a slow Redis must not hold up a login for long; then memory takes over.
        storage_options={"socket_connect_timeout": 0.5, "socket_timeout": 0.5} if url else {},
        key_prefix="namalms",
        # A moving window: no fresh allowance at a clock boundary (a fixed window lets 2 × N
        # attempts through around it), and tests do not depend on when they run.
        strategy="moving-window",
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        headers_enabled=False,
    )
    limiter.init_app(app)
    # Flask-Limiter also checks every request in a before_request hook, for application-wide and
    # default limits; there are none here – each throttled view checks its own limits in the
    # wrapper below – so the hook would only cost every page (about 5 % of a module page).
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    app.extensions[EXTENSION] = limiter
    for endpoint, view in list(app.view_functions.items()):
        throttles = getattr(view, _MARK, ())
        for throttle in throttles:
            view = limiter.limit(
                limit_value(throttle.setting), key_func=KEYS[throttle.key],
                methods=list(throttle.methods) if throttle.methods else None,
                deduct_when=_failed if throttle.only_failures else None,
                scope=f"{throttle.setting}:{throttle.key}",
            )(view)
        if throttles:
            app.view_functions[endpoint] = view


def limiter() -> Limiter:
    """The running app's Limiter."""
    return current_app.extensions[EXTENSION]


def reset() -> None:
    """Forget every counter of the running app (tests start each test with fresh limits)."""
    limiter().reset()
