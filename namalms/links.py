"""Absolute links for e-mails and files that leave the browser (also from the command line).

The public address (``PUBLIC_BASE_URL``) wins; inside a request without it, the request's own
address; otherwise ``SERVER_NAME`` if set, else http://127.0.0.1:5000 (what ``make run`` serves).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, has_request_context, request

FALLBACK_BASE = "http://127.0.0.1:5000/"


def public_base() -> str:
    """The address the platform is reached at, ending in a slash."""
    config = current_app.config
    base = config.get("PUBLIC_BASE_URL")
    if not base and has_request_context():
        base = request.url_root
    if not base and config.get("SERVER_NAME"):
        base = f"{config.get('PREFERRED_URL_SCHEME', 'http')}://{config['SERVER_NAME']}{config.get('APPLICATION_ROOT', '/')}"
    return (base or FALLBACK_BASE).rstrip("/") + "/"


def public_host() -> str:
    """The host name of the public address (for Message-IDs, calendar UIDs and the sender)."""
    return urlsplit(public_base()).hostname or "localhost"


def external_url(endpoint: str, **values) -> str:
    """An absolute URL for ``endpoint`` under the public address, with or without a request."""
    parts = urlsplit(public_base())
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path.rstrip("/") or "/",
                                       url_scheme=parts.scheme)
    return adapter.build(endpoint, values, force_external=True)
