"""Form messages in German: WTForms' own translations, for every form of the app.

Flask-WTF would translate through Flask-Babel, which this app does not use; without it WTForms
speaks English ("Field cannot be longer than 200 characters."). WTForms ships a German catalogue,
so every form uses that one – also forms added later, without a base class to remember.
"""
from __future__ import annotations

from flask import Flask
from flask_wtf import FlaskForm

LOCALES = ("de_DE", "de")


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_I18N_ENABLED", False)  # use WTForms' catalogue, not Flask-Babel
    FlaskForm.Meta.locales = LOCALES
