"""One's own account: address and password, notifications, data export and deletion.

Thin views: a form in, one service call, a redirect or the page again with the message.
"""
from __future__ import annotations

from flask import Response, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired

from namalms.auth.forms import REQUIRED, ChangeEmailForm, ChangePasswordForm
from namalms.auth.views import SEEN_COOKIE, end_session
from namalms.learner.views import bp
from namalms.models import NOTIFICATION_KINDS
from namalms.services import ServiceError
from namalms.services import lifecycle, notifications, privacy


class DeleteForm(FlaskForm):
    """The password again: deleting the account must not be one stray click."""

    password = PasswordField("Ihr Passwort", validators=[DataRequired(REQUIRED)],
                             render_kw={"autocomplete": "current-password"})


class NotificationsForm(FlaskForm):
    """Only the CSRF token: the check boxes are read by name (one per notification kind)."""


def _account_page(password_form=None, email_form=None, status: int = 200):
    return render_template(
        "learner/account.html", password_form=password_form or ChangePasswordForm(prefix="pw"),
        email_form=email_form or ChangeEmailForm(prefix="mail"), state=lifecycle.account_state(current_user),
    ), status


@bp.route("/account")
@login_required
def account():
    """Address, password and open logins."""
    return _account_page()


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password():
    """Change the password; the other logins end, this one stays."""
    form = ChangePasswordForm(prefix="pw")
    if form.validate_on_submit():
        try:
            lifecycle.change_password(current_user, current=form.current_password.data, new=form.password.data,
                                      keep_session=session.get("_user_id"),
                                      min_length=current_app.config.get("PASSWORD_MIN_LENGTH", 10))
        except ServiceError as error:
            getattr(form, error.field or "password", form.password).errors.append(error.message)
        else:
            flash("Ihr Passwort ist geändert. Auf allen anderen Geräten sind Sie jetzt abgemeldet.", "success")
            return redirect(url_for("learner.account"))
    return _account_page(password_form=form, status=422)


@bp.route("/account/email", methods=["POST"])
@login_required
def change_email():
    """Ask for another address: confirmed by a link to it, the old one is told."""
    form = ChangeEmailForm(prefix="mail")
    if form.validate_on_submit():
        try:
            new_email = lifecycle.request_email_change(current_user, new_email=form.new_email.data,
                                                       password=form.password.data)
        except ServiceError as error:
            getattr(form, error.field or "new_email", form.new_email).errors.append(error.message)
        else:
            flash(f"Wir haben einen Bestätigungslink an {new_email} geschickt. Erst wenn Sie ihn öffnen, gilt die "
                  "neue Adresse; bis dahin melden Sie sich wie bisher an.", "success")
            return redirect(url_for("learner.account"))
    return _account_page(email_form=form, status=422)


@bp.route("/profile/notifications", methods=["POST"])
@login_required
def notification_settings():
    """Switch each kind of notification on or off (unchecked boxes are off)."""
    form = NotificationsForm()
    if not form.validate_on_submit():
        flash("Das Formular war abgelaufen. Bitte versuchen Sie es noch einmal.", "error")
        return redirect(url_for("learner.profile"))
    chosen = {kind for kind in NOTIFICATION_KINDS if request.form.get(f"notify-{kind}")}
    notifications.update_settings(current_user, chosen)
    flash("Ihre Einstellungen für E-Mail-Benachrichtigungen sind gespeichert.", "success")
    return redirect(url_for("learner.profile") + "#benachrichtigungen")


@bp.route("/account/data")
@login_required
def my_data():
    """Download all data, or go on to deleting the account."""
    return render_template("learner/my_data.html")


@bp.route("/account/export")
@login_required
def export():
    """All my data as a ZIP (never cached: it is personal)."""
    data = privacy.export_archive(current_user)
    return Response(data, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{privacy.export_filename(current_user)}"',
        "Cache-Control": "no-store"})


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
def delete_account():
    """Say what deleting does (certificates included), then delete after the password."""
    form = DeleteForm()
    if form.validate_on_submit():
        try:
            privacy.delete_own_account(current_user, password=form.password.data)
        except ServiceError as error:
            getattr(form, error.field or "password", form.password).errors.append(error.message)
        else:
            end_session()
            flash("Ihr Konto und Ihre persönlichen Daten sind gelöscht. Vielen Dank für Ihre Teilnahme.", "success")
            response = redirect(url_for("learner.catalogue"))
            response.delete_cookie(SEEN_COOKIE)
            return response
    status = 422 if request.method == "POST" else 200
    return render_template("learner/delete.html", form=form), status
