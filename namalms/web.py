"""Request-level helpers shared by all blueprints: role guards, template globals, headers."""
from __future__ import annotations

import hashlib
import re
import time
from functools import lru_cache, wraps

from flask import Flask, abort, current_app, has_request_context, request, session
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.routing import BaseConverter, ValidationError
from werkzeug.security import safe_join

from namalms import formatting
from namalms.content.recent import RecentResults
from namalms.domain.sdgs import SDG_SHORT_NAMES
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


def parse_id(raw) -> int | None:
    """A positive row id from text, or None for anything else (text, '²', '٣', 2**70)."""
    raw = (raw or "").strip() if isinstance(raw, str) else ""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def requested_id(args, name: str) -> int | None:
    """A positive row id from the query string or a form, or None for anything else."""
    return parse_id(args.get(name))


def requested_ids(args, name: str) -> list[int]:
    """Every valid row id among the values of ``name`` (checkbox lists); the rest is ignored."""
    return [value for raw in args.getlist(name) if (value := parse_id(raw)) is not None]


def _has_nul(values) -> bool:
    return any("\x00" in value for value in values if isinstance(value, str))


def reject_nul_bytes():
    """Refuse a request whose URL, parameters, form fields or file names contain a NUL byte.

    No text in this application may contain one, and PostgreSQL refuses to store or even
    compare it; so it is refused here, once, for every route – with 400, never a 500.
    """
    if "\x00" in request.path or _has_nul(request.args.keys()) or _has_nul(request.args.values()):
        found = True
    elif request.method in ("POST", "PUT", "PATCH"):
        found = (_has_nul(request.form.keys()) or _has_nul(request.form.values())
                 or _has_nul(f.filename for f in request.files.values()))
    else:
        found = False
    if found:
        if request.path.startswith("/api/"):
            return {"error": "Invalid request: NUL bytes are not allowed."}, 400
        abort(400)
    return None


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


_PLAIN_TABLE_WRAP = re.compile(r'<div class="table-wrap">')


def scrollable_tables(rendered_html: str) -> Markup:
    """A module's stored HTML with each table's scroll box reachable by keyboard.

    The renderer wraps every Markdown table in ``<div class="table-wrap">`` so wide tables scroll
    on phones; a box that scrolls must take the keyboard focus and have a name (WCAG 2.1.1,
    axe ``scrollable-region-focusable``). Done here, at display time, so revisions published
    before this rule get it too without being published again.
    """
    counter = iter(range(1, 10_000))
    return Markup(_PLAIN_TABLE_WRAP.sub(
        lambda _: f'<div class="table-wrap" tabindex="0" role="region" aria-label="Tabelle {next(counter)}">',
        str(rendered_html)))


_SECTION_HEADING = re.compile(r'<h2 id="([^"]+)">')


def unit_navigation(rendered_html: str, toc: list | None) -> Markup:
    """A module's HTML with its position by learning unit (Lerneinheit) at each unit heading.

    Before each section heading (h2) after the first: a link back to the module's contents; before
    each "Lerneinheit …" heading: "Lerneinheit 2 von 5". Plain links and text, so learners know
    where they are without JavaScript (module-nav.js adds the highlight in the contents).
    """
    sections = [entry for entry in toc or () if entry.get("level") == 2]
    if len(sections) < 2:
        return Markup(rendered_html)
    units = [entry["anchor"] for entry in sections if entry.get("title", "").startswith("Lerneinheit")]
    first = sections[0]["anchor"]
    known = {entry["anchor"] for entry in sections}

    def mark(match: re.Match) -> str:
        anchor = match.group(1)
        if anchor not in known:
            return match.group(0)
        before = "" if anchor == first else (
            '<p class="unit-nav"><a href="#modul-inhalt">↑ Zum Inhalt des Moduls</a></p>')
        if anchor in units:
            before += f'<p class="unit-position">Lerneinheit {units.index(anchor) + 1} von {len(units)}</p>'
        return before + match.group(0)

    return Markup(_SECTION_HEADING.sub(mark, str(rendered_html)))


STATIC_MAX_AGE_S = 365 * 24 * 3600


@lru_cache(maxsize=256)
def static_version(folder: str | None, filename: str) -> str | None:
    """The first hex digits of a static file's SHA-256, or None when there is no such file.

    Read once per process: static files change with a deployment, which restarts the workers.
    """
    if not folder or not filename:
        return None
    try:
        path = safe_join(folder, filename)
        if path is None:
            return None
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()[:12]
    except OSError:
        return None


_PLAIN_VALUES = (str, int)


def remembering_url_for(app: Flask):
    """The templates' ``url_for``: the addresses it built recently are remembered per process.

    A page links to the same few dozen places on every view (18 on a module page), and building
    each address through the URL map cost more than all of the page's SQL. An address depends only
    on the endpoint, its values and the application's root path (behind a proxy's prefix), so the
    last 4,096 are kept by exactly that. Anything else – outside a request, an absolute or
    anchored address (``_external``, ``_anchor`` …), an endpoint relative to the blueprint, a value
    that is not text or a number – is built every time, as before.
    """
    built = RecentResults(4096)

    def url_for(endpoint: str, **values) -> str:
        if not has_request_context() or endpoint.startswith(".") \
                or not all(isinstance(value, _PLAIN_VALUES) and not key.startswith("_") for key, value in values.items()):
            return app.url_for(endpoint, **values)
        key = (request.script_root, endpoint, *sorted(values.items()))
        return built.get(key, lambda: app.url_for(endpoint, **values))

    return url_for


def init_app(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    app.jinja_env.globals["url_for"] = remembering_url_for(app)
    app.jinja_env.filters["scrollable_tables"] = scrollable_tables
    app.jinja_env.filters["unit_navigation"] = unit_navigation
    app.jinja_env.globals["SDG_SHORT_NAMES"] = SDG_SHORT_NAMES
    app.before_request(reject_nul_bytes)
    app.jinja_env.filters["date"] = formatting.format_date
    app.jinja_env.filters["datetime"] = formatting.format_datetime
    app.jinja_env.filters["minutes"] = lambda minutes: formatting.format_duration(minutes or None)
    app.jinja_env.filters["iso"] = formatting.iso_instant
    app.jinja_env.globals["ROLES"] = ROLES

    @app.before_request
    def renew_session():
        """Move a lasting session's expiry on while it is used, but re-sign the cookie at most
        once per SESSION_RENEW_AFTER_S rather than on every response (SESSION_REFRESH_EACH_REQUEST
        is off): the expiry counts from the last renewal, at most that much earlier than the
        last request."""
        if session.permanent:
            now = int(time.time())
            if now - session.get("_renewed", 0) >= app.config["SESSION_RENEW_AFTER_S"]:
                session["_renewed"] = now

    @app.url_defaults
    def versioned_static(endpoint, values):
        """Static files are linked with their content hash (``?v=…``), so browsers may keep them."""
        if endpoint == "static" and "v" not in values and values.get("filename"):
            version = static_version(app.static_folder, values["filename"])
            if version:
                values["v"] = version

    @app.context_processor
    def inject_now():
        return {"now": utcnow()}

    # Everything is served by the app itself: no third-party script, style, font or image.
    security = [
        ("Content-Security-Policy",
         "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
         "frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
    ]
    security = tuple((name.lower(), name, value) for name, value in security)

    @app.after_request
    def security_headers(response):
        # Added unless the view set its own; the names present are looked at once, not per header.
        headers = response.headers
        present = {name.lower() for name, _ in headers.items()}
        for lowered, name, value in security:
            if lowered not in present:
                headers.add(name, value)
        if app.config.get("HTTPS") and "strict-transport-security" not in present:
            headers.add("Strict-Transport-Security", f"max-age={app.config['HSTS_SECONDS']}")
        req = request._get_current_object()
        if req.endpoint == "static" and response.status_code == 200 and req.view_args \
                and req.args.get("v") == static_version(app.static_folder, req.view_args.get("filename", "")):
            # The address names this very content: a browser keeps it for a year without asking
            # again (a changed file gets a new address).
            headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE_S}, immutable"
        elif "cache-control" not in present and is_personal():
            # Whatever a logged-in person sees is theirs: no shared or browser cache keeps it.
            headers["Cache-Control"] = "no-store"
        return response
