"""Flask's signed session cookie, with the cookies this process verified recently remembered.

A browser sends the same session cookie with every request until the session changes. Checking
its signature (HMAC with a derived key) and decoding its JSON cost about a tenth of a logged-in
page, every time for the same text. So the result of a successful check is kept per process
(the last :data:`SIZE` cookies), keyed by the cookie text and the signing keys; what is kept is
the decoded data and the cookie's signing time. On every request the age is still checked
against the session lifetime, exactly as itsdangerous checks it, so an expired cookie is refused
as before. Only sessions of plain values (text, numbers, booleans, None) are kept – a flashed
message (a list) or anything else mutable is decoded afresh every time, so no request can change
another request's session through a shared object.
"""
from __future__ import annotations

import time

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature

from namalms.content.recent import RecentResults

SIZE = 2048  # sessions: a few hundred bytes each
_PLAIN = (str, int, float, bool, type(None))


class _NotKept(Exception):
    """The cookie is valid but its data is not plain: decode it afresh next time."""

    def __init__(self, items: tuple, signed_at: int) -> None:
        self.items, self.signed_at = items, signed_at


class RememberingSessionInterface(SecureCookieSessionInterface):
    """:class:`SecureCookieSessionInterface` that remembers the cookies it verified."""

    def __init__(self) -> None:
        self._verified = RecentResults(SIZE)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not app.secret_key:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))

        def verify() -> tuple[tuple, int]:
            data, signed_at = self.get_signing_serializer(app).loads(value, return_timestamp=True)
            found = tuple(data.items()), int(signed_at.timestamp())
            if not all(isinstance(item, _PLAIN) for item in data.values()):
                raise _NotKept(*found)
            return found

        try:
            items, signed_at = self._verified.get((value, keys), verify)
        except _NotKept as not_kept:
            items, signed_at = not_kept.items, not_kept.signed_at
        except BadSignature:
            return self.session_class()
        age = int(time.time()) - signed_at
        if age > max_age or age < 0:  # itsdangerous' own rule: expired, or signed in the future
            return self.session_class()
        return self.session_class(items)

