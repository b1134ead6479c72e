"""Request-level helpers shared by all blueprints: role guards, template globals, headers."""
from __future__ import annotations

from functools import wraps

from flask import Flask, abort, current_app, request, session
from flask_login import current_user, login_required
from werkzeug.routing import BaseConverter, ValidationError

from namalms import formatting
from namalms.models import ROLES
from namalms.models.base import utcnow


def role_required(*roles: str):
    """Allow a view only for these roles; anonymous users are sent to the login page first."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


# The largest id a database integer column holds; anything larger cannot name a row.
MAX_ID = 2**63 - 1


def requested_id(args, name: str) -> int | None:
    """A positive row id from the query string, or None for anything else (text, '²', 2**70)."""
    raw = (args.get(name) or "").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


class IdConverter(BaseConverter):
    """``<id:name>`` in a route: a row id, 1 to 2**63 − 1. Anything else (a 30-digit number that no
    database integer can hold) is simply no match, i.e. 404 – never an overflow deep inside."""

    regex = r"[1-9][0-9]{0,18}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValidationError()
        return number

    def to_url(self, value) -> str:
        return str(int(value))


def is_personal() -> bool:
    """Whether this request belongs to a login (session or "angemeldet bleiben" cookie)."""
    return bool(session.get("_user_id")) or bool(request.cookies.get(current_app.config.get(
        "REMEMBER_COOKIE_NAME", "remember_token")))


def init_app(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    app.jinja_env.filters["date"] = formatting.format_date
    app.jinja_env.filters["datetime"] = formatting.format_datetime
    app.jinja_env.filters["minutes"] = lambda minutes: formatting.format_duration(minutes or None)
    app.jinja_env.filters["iso"] = formatting.iso_instant
    app.jinja_env.globals["ROLES"] = ROLES

    @app.context_processor
    def inject_now():
        return {"now": utcnow()}

    @app.after_request
    def security_headers(response):
        # Everything is served by the app itself: no third-party script, style, font or image.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config.get("HTTPS"):
            response.headers.setdefault("Strict-Transport-Security", f"max-age={app.config['HSTS_SECONDS']}")
        if "Cache-Control" not in response.headers and is_personal():
            # Whatever a logged-in person sees is theirs: no shared or browser cache keeps it.
            response.headers["Cache-Control"] = "no-store"
        return response
