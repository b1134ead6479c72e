"""German error pages and the CSRF / session-expiry messages."""
from __future__ import annotations

from flask import Flask, flash, redirect, render_template, request
from flask_wtf.csrf import CSRFError

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


def init_app(app: Flask) -> None:
    def render_error(code: int):
        title, text = MESSAGES.get(code, MESSAGES[500])
        return render_template("error.html", code=code, title=title, text=text), code

    for code in MESSAGES:
        app.register_error_handler(code, lambda e, code=code: render_error(code))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        # Most often an old browser tab: say so, and send the user back to a fresh form.
        flash("Das Formular war abgelaufen oder unvollständig. Bitte versuchen Sie es noch einmal.", "error")
        target = request.referrer if request.referrer and request.referrer.startswith(request.host_url) else None
        if target:
            return redirect(target)
        return render_error(400)
