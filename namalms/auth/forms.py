"""Forms for accounts (Flask-WTF: every form carries a CSRF token)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

REQUIRED = "Dieses Feld ist ein Pflichtfeld."


class LoginForm(FlaskForm):
    email = EmailField("E-Mail-Adresse", validators=[DataRequired(REQUIRED)],
                       render_kw={"autocomplete": "username"})
    password = PasswordField("Passwort", validators=[DataRequired(REQUIRED)],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField("Angemeldet bleiben (30 Tage, nur auf eigenen Geräten)")


class RegisterForm(FlaskForm):
    name = StringField("Vor- und Nachname", validators=[DataRequired(REQUIRED), Length(max=200)],
                       render_kw={"autocomplete": "name"})
    # The address format is checked by the accounts service, the single place for that rule.
    email = EmailField("E-Mail-Adresse (dienstlich)", validators=[DataRequired(REQUIRED), Length(max=254)],
                       render_kw={"autocomplete": "email"})
    password = PasswordField("Passwort (mindestens 10 Zeichen)", validators=[DataRequired(REQUIRED)],
                             render_kw={"autocomplete": "new-password"})
    password_repeat = PasswordField("Passwort wiederholen", validators=[
        DataRequired(REQUIRED), EqualTo("password", "Die beiden Passwörter stimmen nicht überein.")],
        render_kw={"autocomplete": "new-password"})
    district_id = SelectField("Kreis bzw. kreisfreie Stadt", validators=[DataRequired(REQUIRED)],
                              validate_choice=False)
    municipality = StringField("Kommune bzw. Institution", validators=[DataRequired(REQUIRED), Length(max=200)],
                               render_kw={"autocomplete": "organization"})
    privacy = BooleanField("Ich habe die Datenschutzerklärung gelesen und bin einverstanden, dass mein "
                           "Lernfortschritt für die Zertifizierung gespeichert wird.",
                           validators=[DataRequired("Bitte bestätigen Sie die Datenschutzhinweise.")])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("E-Mail-Adresse Ihres Kontos", validators=[DataRequired(REQUIRED), Length(max=254)],
                       render_kw={"autocomplete": "email"})


class ResetPasswordForm(FlaskForm):
    password = PasswordField("Neues Passwort (mindestens 10 Zeichen)", validators=[DataRequired(REQUIRED)],
                             render_kw={"autocomplete": "new-password"})
    password_repeat = PasswordField("Neues Passwort wiederholen", validators=[
        DataRequired(REQUIRED), EqualTo("password", "Die beiden Passwörter stimmen nicht überein.")],
        render_kw={"autocomplete": "new-password"})


class ChangePasswordForm(ResetPasswordForm):
    current_password = PasswordField("Aktuelles Passwort", validators=[DataRequired(REQUIRED)],
                                     render_kw={"autocomplete": "current-password"})


class ChangeEmailForm(FlaskForm):
    new_email = EmailField("Neue E-Mail-Adresse", validators=[DataRequired(REQUIRED), Length(max=254)],
                           render_kw={"autocomplete": "email"})
    password = PasswordField("Ihr Passwort (zur Sicherheit)", validators=[DataRequired(REQUIRED)],
                             render_kw={"autocomplete": "current-password"})
