"""Thin views for accounts: forms in, service calls, redirect (the unit of work commits)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from namalms.auth.forms import LoginForm, RegisterForm
from namalms.extensions import db
from namalms.models import District, User
from namalms.services import ServiceError
from namalms.services import accounts

bp = Blueprint("auth", __name__)

# A plain cookie that outlives the session: if it is there but the session is gone, the session
# expired, and we can say so instead of a bare "please log in".
SEEN_COOKIE = "namalms_had_session"


def load_user(user_id: str) -> User | None:
    try:
        raw_id, version = user_id.split(":", 1)
        user = db.session.get(User, int(raw_id))
    except (ValueError, TypeError):
        return None
    if user is None or str(user.session_version) != version or not user.is_active_account:
        return None
    return user


def unauthorized():
    if request.cookies.get(SEEN_COOKIE):
        flash("Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.", "info")
    else:
        flash("Bitte melden Sie sich an, um diese Seite zu sehen.", "info")
    # full_path ends in a bare "?" when there is no query string; the address to return to does not.
    back = (request.full_path.removesuffix("?") if request.query_string else request.path) if request.method == "GET" else None
    return redirect(url_for("auth.login", next=back))


def safe_next(target: str | None) -> str | None:
    """Only follow redirects to our own site (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
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
    session.permanent = True
    login_user(user, remember=remember)


def home_for(user: User) -> str:
    if user.role == "admin":
        return url_for("office.index")
    if user.role == "trainer":
        return url_for("trainer.index")
    return url_for("learner.dashboard")


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = RegisterForm()
    form.district_id.choices = district_choices()
    if form.validate_on_submit():
        try:
            user = accounts.register_learner(
                name=form.name.data, email=form.email.data, password=form.password.data,
                district_id=form.district_id.data, municipality=form.municipality.data,
            )
        except ServiceError as error:
            field = getattr(form, error.field or "", None)
            if field is not None:
                field.errors.append(error.message)
            else:
                flash(error.message, "error")
        else:
            start_session(user, remember=False)
            flash(f"Willkommen, {user.name}! Ihr Konto ist angelegt. Wählen Sie jetzt einen Kurs.", "success")
            response = redirect(url_for("learner.catalogue"))
            response.set_cookie(SEEN_COOKIE, "1", max_age=60 * 60 * 24 * 400, httponly=True, samesite="Lax")
            return response
    return render_template("auth/register.html", form=form), 422 if request.method == "POST" else 200


@bp.route("/login", methods=["GET", "POST"])
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
        response = redirect(safe_next(request.args.get("next")) or home_for(user))
        response.set_cookie(SEEN_COOKIE, "1", max_age=60 * 60 * 24 * 400, httponly=True, samesite="Lax")
        return response
    return render_template("auth/login.html", form=form), 422 if request.method == "POST" else 200


@bp.route("/logout", methods=["POST"])
def logout():
    # Clear first: logout_user() leaves a marker in the session that deletes the remember cookie.
    session.clear()
    logout_user()
    flash("Sie sind abgemeldet.", "success")
    response = redirect(url_for("learner.catalogue"))
    response.delete_cookie(SEEN_COOKIE)
    return response
