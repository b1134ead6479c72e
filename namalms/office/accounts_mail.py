"""Programme office (admin): e-mail and account life cycle – undelivered mail, resending a
confirmation link, triggering a password reset for someone, and what the retention rule would delete.
"""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from namalms.extensions import db
from namalms.models import User
from namalms.office.blueprint import bp
from namalms.pagination import requested_page
from namalms.services import lifecycle, mail, privacy
from namalms.web import role_required


@bp.route("/mail")
@role_required("admin")
def mail_status():
    """Messages that could not be delivered (yet), newest first, with the server's answer."""
    return render_template("office/mail.html", result=mail.undelivered(page=requested_page(request.args)),
                           waiting=mail.waiting_count(), server=mail.mail_server().describe())


@bp.route("/mail/<id:mail_id>/retry", methods=["POST"])
@role_required("admin")
def retry_mail(mail_id: int):
    """Put a message back in the queue; it is sent right after this request."""
    row = mail.retry(mail_id)
    if row is None:
        flash("Diese Nachricht kann nicht erneut gesendet werden (bereits versandt oder nicht mehr vorhanden).",
              "info")
    else:
        flash(f"Die Nachricht an {row.recipient} wird erneut gesendet. Das Ergebnis steht gleich in der Liste.",
              "success")
    return redirect(request.form.get("back") if (request.form.get("back") or "").startswith("/office/")
                    else url_for("office.mail_status"))


@bp.route("/users/<id:user_id>/resend-confirmation", methods=["POST"])
@role_required("admin")
def resend_confirmation(user_id: int):
    """Mail a new confirmation link to an account whose address is not confirmed yet."""
    user = db.get_or_404(User, user_id)
    if lifecycle.send_confirmation(user, actor=current_user):
        flash(f"Ein neuer Bestätigungslink geht an {user.email}.", "success")
    else:
        flash(f"Die Adresse von {user.name} ist bereits bestätigt.", "info")
    return redirect(url_for("office.user_detail", user_id=user.id))


@bp.route("/users/<id:user_id>/password-reset", methods=["POST"])
@role_required("admin")
def send_password_reset(user_id: int):
    """Mail someone a link to set a new password (e.g. after a phone call to the office)."""
    user = db.get_or_404(User, user_id)
    if not user.is_active_account:
        flash("Das Konto ist deaktiviert; reaktivieren Sie es zuerst.", "error")
    else:
        lifecycle.send_password_reset(user, actor=current_user)
        flash(f"{user.name} erhält einen Link an {user.email}, um ein neues Passwort festzulegen "
              f"(gültig {current_app.config['RESET_LINK_HOURS'] * 60} Minuten).", "success")
    return redirect(url_for("office.user_detail", user_id=user.id))


@bp.route("/retention")
@role_required("admin")
def retention():
    """A dry run of ``flask accounts purge-inactive``: who would be deleted now, and why."""
    config = current_app.config
    inactive = privacy.parse_age(f"{config['RETENTION_INACTIVE_MONTHS']}m")
    unconfirmed = privacy.parse_age(f"{config['RETENTION_UNCONFIRMED_DAYS']}d")
    candidates = privacy.purge_candidates(inactive_for=inactive, unconfirmed_for=unconfirmed)
    return render_template("office/retention.html", candidates=candidates,
                           months=config["RETENTION_INACTIVE_MONTHS"], days=config["RETENTION_UNCONFIRMED_DAYS"])
