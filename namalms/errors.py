"""German error pages and the CSRF / session-expiry messages.

An error page must render even when the database is gone: for a 5xx answer the session is rolled
back first and the page is drawn as for an anonymous visitor (the layout shows the user's name
and unseen certificates, both read from the database). Should rendering fail all the same, a
plain German page is sent. A database that is unreachable, hangs or times out answers 503.
"""
from __future__ import annotations

import logging

from flask import Flask, flash, g, redirect, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import InternalServerError

from namalms import database
from namalms.unit_of_work import abandon

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Ungültige Anfrage", "Die Anfrage konnte nicht verarbeitet werden."),
    403: ("Kein Zugriff", "Für diese Seite fehlt Ihrem Konto die Berechtigung."),
    404: ("Seite nicht gefunden", "Diese Seite gibt es nicht (mehr). Prüfen Sie die Adresse oder gehen Sie zur Startseite."),
    405: ("Nicht erlaubt", "Diese Aktion ist auf diesem Weg nicht möglich."),
    413: ("Datei zu groß", "Die hochgeladene Datei ist zu groß."),
    429: ("Zu viele Anfragen", "Bitte warten Sie einen Moment und versuchen Sie es dann erneut."),
    500: ("Interner Fehler", "Etwas ist schiefgegangen. Es wurde nichts halb gespeichert; bitte versuchen Sie es erneut."),
    503: ("Vorübergehend nicht verfügbar", "Die Lernplattform ist gerade nicht erreichbar. Bitte versuchen Sie es gleich noch einmal."),
}
RETRY_AFTER = "5"  # seconds, sent with 503


def _as_anonymous() -> None:
    """Draw the page without the logged-in user: loading or refreshing it needs the database."""
    from namalms.extensions import login_manager

    g._login_user = login_manager.anonymous_user()


def _plain_page(code: int, title: str, text: str) -> str:
    request_id = escape(g.get("request_id") or "")
    return (f'<!doctype html><html lang="de"><head><meta charset="utf-8"><title>{escape(title)} – NaMa NRW'
            f'</title></head><body><main><h1>{escape(title)}</h1><p>{escape(text)}</p>'
            f'<p>Fehlercode {code}{" · Fehlerkennung " + request_id if request_id else ""}</p>'
            f'<p><a href="/">Zur Startseite</a></p></main></body></html>')


def render_error(code: int):
    """The German page for ``code``; never touches the database for a 5xx answer."""
    title, text = MESSAGES.get(code, MESSAGES[500])
    if code >= 500:
        abandon()
        _as_anonymous()
    try:
        body = render_template("error.html", code=code, title=title, text=text)
    except Exception:  # e.g. the layout needed the database after all
        log.exception("the error page for %s could not be rendered; sending the plain one", code)
        abandon()
        _as_anonymous()
        try:
            body = render_template("error.html", code=code, title=title, text=text)
        except Exception:
            body = _plain_page(code, title, text)
    headers = {"Retry-After": RETRY_AFTER} if code == 503 else {}
    return body, code, headers


def init_app(app: Flask) -> None:
    database.init_app(app)
    for code in MESSAGES:
        if code != 500:  # 500 is handled below: it may hide a database failure
            app.register_error_handler(code, lambda e, code=code: render_error(code))

    for error_class in database.UNAVAILABLE:
        @app.errorhandler(error_class)
        def database_unavailable(error):
            database.note_failure(error)
            return render_error(503)

    @app.errorhandler(InternalServerError)
    def internal_error(error):
        # Flask has logged the original exception with its traceback (and our request id).
        original = getattr(error, "original_exception", None)
        if original is not None and database.is_unavailable(original):
            database.note_failure(original)
            return render_error(503)
        return render_error(500)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        # Most often an old browser tab: say so, and send the user back to a fresh form.
        flash("Das Formular war abgelaufen oder unvollständig. Bitte versuchen Sie es noch einmal.", "error")
        target = request.referrer if request.referrer and request.referrer.startswith(request.host_url) else None
        if target:
            return redirect(target)
        return render_error(400)

