"""Thin views for accounts: forms in, service calls, redirect (the unit of work commits).

Registration, login, logout, confirming the address, forgotten password and the links mailed
for them. Changes to one's own account (password, address, data, deletion) are on the profile
pages (:mod:`namalms.learner.account`).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from namalms.auth.forms import ForgotPasswordForm, LoginForm, RegisterForm, ResetPasswordForm
from namalms.extensions import db
from namalms.models import District, User
from namalms.ratelimit import throttled
from namalms.services import ServiceError
from namalms.services import accounts, lifecycle, sessions
from namalms.unit_of_work import refuse

bp = Blueprint("auth", __name__)

# A plain cookie that outlives the session: if it is there but the session is gone, the session
# expired, and we can say so instead of a bare "please log in".
SEEN_COOKIE = "namalms_had_session"
SEEN_MAX_AGE = 60 * 60 * 24 * 400


def load_user(token: str) -> User | None:
    """flask-login's loader: the user of this login session, if it is still open on the server."""
    return sessions.user_for(token)


def unauthorized():
    if request.cookies.get(SEEN_COOKIE):
        flash("Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.", "info")
    else:
        flash("Bitte melden Sie sich an, um diese Seite zu sehen.", "info")
    # full_path ends in a bare "?" when there is no query string; the address to return to does not.
    back = (request.full_path.removesuffix("?") if request.query_string else request.path) if request.method == "GET" else None
    return redirect(url_for("auth.login", next=back))


def safe_next(target: str | None) -> str | None:
    """Only follow redirects to our own site (no open redirect), and only plain paths: a CR/LF
    would break the Location header, a backslash makes browsers read "/\\evil" as "//evil"."""
    if not target or any(ord(char) < 32 or ord(char) == 127 or char == "\\" for char in target):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:  # "http://[bad]/x": not even a URL
        return None
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def district_choices() -> dict:
    """Kreise, kreisfreie Städte and "außerhalb NRW" as option groups for the select element.

    WTForms renders a dict as <optgroup>s; the None key holds the ungrouped placeholder.
    """
    groups = {"kreis": [], "kreisfreie-stadt": [], "ausserhalb": []}
    for district in db.session.scalars(select(District).order_by(District.name)):
        groups.setdefault(district.kind, []).append((district.id, district.name))
    choices = {None: [("", "Bitte auswählen …")]}
    for kind, label in (("kreis", "Kreise"), ("kreisfreie-stadt", "Kreisfreie Städte"), ("ausserhalb", "Außerhalb NRW")):
        if groups.get(kind):
            choices[label] = groups[kind]
    return choices


def start_session(user: User, remember: bool):
    """Open a login session on the server and put its token into the cookies."""
    sessions.start(user, remember=remember)
    session.permanent = True
    login_user(user, remember=remember)


def end_session() -> None:
    """End this browser's login on the server, then forget it in the cookies."""
    sessions.end(session.get("_user_id"))
    # Clear first: logout_user() leaves a marker in the session that deletes the remember cookie.
    session.clear()
    logout_user()


def mark_seen(response):
    """Remember in a plain cookie that this browser had a login (to explain an expired session)."""
    response.set_cookie(SEEN_COOKIE, "1", max_age=SEEN_MAX_AGE, httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response


def home_for(user: User) -> str:
    if user.role == "admin":
        return url_for("office.index")
    if user.role == "trainer":
        return url_for("trainer.index")
    return url_for("learner.dashboard")


def _min_length() -> int:
    return current_app.config.get("PASSWORD_MIN_LENGTH", 10)


def _field_error(form, error: ServiceError, default: str | None = None) -> None:
    field = getattr(form, error.field or default or "", None)
    if field is not None:
        field.errors.append(error.message)
    else:
        flash(error.message, "error")


@bp.route("/register", methods=["GET", "POST"])
@throttled("REGISTER_LIMIT")
def register():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = RegisterForm()
    form.district_id.choices = district_choices()
    if form.validate_on_submit():
        try:
            user = lifecycle.register(
                name=form.name.data, email=form.email.data, password=form.password.data,
                district_id=form.district_id.data, municipality=form.municipality.data, min_length=_min_length(),
            )
        except ServiceError as error:
            _field_error(form, error)
        else:
            start_session(user, remember=False)
            flash(f"Willkommen, {user.name}! Ihr Konto ist angelegt. Wir haben Ihnen einen Bestätigungslink an "
                  f"{user.email} geschickt – bitte öffnen Sie ihn. Lernen können Sie schon jetzt; Zertifikate "
                  "werden nach der Bestätigung ausgestellt.", "success")
            return mark_seen(redirect(url_for("learner.catalogue")))
    return render_template("auth/register.html", form=form), 422 if request.method == "POST" else 200


@bp.route("/login", methods=["GET", "POST"])
@throttled("LOGIN_LIMIT_PER_ACCOUNT", key="account", only_failures=True)
@throttled("LOGIN_LIMIT_PER_ADDRESS", only_failures=True)
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            # The same words whether the e-mail exists or not: no account enumeration.
            form.password.errors.append("E-Mail-Adresse oder Passwort ist falsch.")
            return render_template("auth/login.html", form=form), 401
        start_session(user, remember=form.remember.data)
        flash(f"Sie sind angemeldet. Willkommen zurück, {user.name}!", "success")
        return mark_seen(redirect(safe_next(request.args.get("next")) or home_for(user)))
    return render_template("auth/login.html", form=form), 422 if request.method == "POST" else 200


@bp.route("/logout", methods=["POST"])
def logout():
    end_session()
    flash("Sie sind abgemeldet.", "success")
    response = redirect(url_for("learner.catalogue"))
    response.delete_cookie(SEEN_COOKIE)
    return response


# --- confirming the address ------------------------------------------------------------------------

@bp.route("/confirm/<token>")
def confirm_email(token: str):
    """The link of the registration mail: confirms the address and issues certificates earned so far."""
    try:
        user, issued = lifecycle.confirm_email(token)
    except lifecycle.LinkInvalid as error:
        if current_user.is_authenticated and current_user.is_email_confirmed:
            flash("Ihre E-Mail-Adresse ist bereits bestätigt.", "info")
            return redirect(home_for(current_user))
        return render_template("auth/link_invalid.html", message=error.message, expired=error.expired,
                               resend=True), 400
    flash("Danke! Ihre E-Mail-Adresse ist bestätigt.", "success")
    for certificate in issued:
        flash(f"Neu ausgestellt: {certificate.definition.title} ({certificate.number}).", "success")
    if current_user.is_authenticated and current_user.id == user.id:
        return redirect(url_for("learner.certificates") if issued else home_for(user))
    return redirect(url_for("auth.login"))


@bp.route("/confirm/resend", methods=["POST"])
@login_required
@throttled("CONFIRM_RESEND_LIMIT")
def resend_confirmation():
    """Mail the logged-in person a new confirmation link."""
    if lifecycle.send_confirmation(current_user):
        flash(f"Wir haben Ihnen einen neuen Bestätigungslink an {current_user.email} geschickt. Ältere Links "
              "gelten weiter, bis einer davon benutzt wird.", "success")
    else:
        flash("Ihre E-Mail-Adresse ist bereits bestätigt.", "info")
    return redirect(safe_next(request.form.get("next")) or home_for(current_user))


@bp.route("/email/confirm/<token>")
def confirm_email_change(token: str):
    """The link mailed to a new address: from now on the account uses it."""
    try:
        user = lifecycle.confirm_email_change(token)
    except lifecycle.LinkInvalid as error:
        return render_template("auth/link_invalid.html", message=error.message, expired=error.expired), 400
    except ServiceError as error:
        return refuse(error, url_for("learner.account") if current_user.is_authenticated else url_for("auth.login"))
    flash(f"Ihre E-Mail-Adresse ist jetzt {user.email}. Melden Sie sich künftig damit an.", "success")
    if current_user.is_authenticated and current_user.id == user.id:
        return redirect(url_for("learner.account"))
    return redirect(url_for("auth.login"))


# --- forgotten password ------------------------------------------------------------------------------

FORGOT_ANSWER = ("Wenn es zu dieser Adresse ein Konto gibt, haben wir soeben einen Link zum Festlegen eines neuen "
                 "Passworts dorthin geschickt. Er gilt {minutes} Minuten. Kommt keine E-Mail an, prüfen Sie bitte "
                 "den Spam-Ordner und die Schreibweise der Adresse.")


@bp.route("/password/forgot", methods=["GET", "POST"])
@throttled("RESET_LIMIT_PER_ACCOUNT", key="account")
@throttled("RESET_LIMIT_PER_ADDRESS")
def forgot_password():
    """Ask for a reset link; the answer is the same whether the address has an account or not."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        lifecycle.request_password_reset(form.email.data)
        # The same answer whether the address has an account or not.
        flash(FORGOT_ANSWER.format(minutes=current_app.config["RESET_LINK_HOURS"] * 60), "info")
        return redirect(url_for("auth.forgot_password"))
    return render_template("auth/forgot.html", form=form), 422 if request.method == "POST" else 200


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@throttled("RESET_LIMIT_PER_ADDRESS")
def reset_password(token: str):
    """The link of the reset mail: set a new password, which ends every login."""
    try:
        user = lifecycle.check_reset_link(token)
    except lifecycle.LinkInvalid as error:
        return render_template("auth/link_invalid.html", message=error.message, expired=error.expired,
                               forgot=True), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            lifecycle.reset_password(token, form.password.data, min_length=_min_length())
        except ServiceError as error:
            _field_error(form, error, "password")
        else:
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            flash("Ihr neues Passwort gilt. Alle bisherigen Anmeldungen sind beendet – bitte melden Sie sich "
                  "jetzt mit dem neuen Passwort an.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, account=user), 422 if request.method == "POST" else 200
