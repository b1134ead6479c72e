"""Programme office (admin): API tokens for the office's own tooling (/office/tokens).

A new token is shown exactly once: in the page that answers the POST which created it, sent
with `Cache-Control: no-store`. It is never put into the session cookie (signed, but readable by
anyone who sees the cookie), a flash message or a URL. Reloading that page would POST again, and
a second active token of the same name is refused, so no second token appears unnoticed.
Revoking asks for confirmation on the same page (?revoke=ID), then POSTs.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from namalms.services import ServiceError
from namalms.services import tokens as service
from namalms.unit_of_work import refuse
from namalms.web import requested_id, role_required

from namalms.office.blueprint import bp

class TokenForm(FlaskForm):
    name = StringField("Name des Zugangs", validators=[
        DataRequired("Bitte geben Sie dem API-Zugang einen Namen, z. B. das Werkzeug, das ihn nutzt."),
        Length(max=service.MAX_NAME, message=f"Der Name ist zu lang (höchstens {service.MAX_NAME} Zeichen)."),
    ])
    expires_on = StringField("Gültig bis einschließlich", validators=[Length(max=20)],
                             render_kw={"type": "date", "maxlength": False})  # no maxlength on a date input


class RevokeForm(FlaskForm):
    """Only the CSRF token: revoking needs no further input."""


@bp.route("/tokens", methods=["GET", "POST"])
@role_required("admin")
def tokens():
    form = TokenForm()
    if request.method == "GET":
        form.expires_on.data = service.default_expiry().isoformat()
    new = None
    if form.validate_on_submit():
        try:
            token, raw = service.create_token(form.name.data, expires_on=form.expires_on.data, actor=current_user)
        except ServiceError as error:
            getattr(form, error.field or "name", form.name).errors.append(error.message)
        else:
            new = {"id": token.id, "token": raw, "expires_at": token.expires_at}
            flash(f"Der API-Zugang „{token.name}“ ist angelegt.", "success")
            form = TokenForm(formdata=None)
            form.expires_on.data = service.default_expiry().isoformat()
    # ?revoke=ID asks for confirmation first: a mis-click must not cut off a working tool.
    revoke = requested_id(request.args, "revoke")
    confirm = service.find_token(revoke) if revoke is not None else None
    response = render_template("office/tokens.html", form=form, new=new, confirm=confirm,
                               tokens=service.list_tokens())
    status = 422 if request.method == "POST" and new is None else 200
    return response, status, {"Cache-Control": "no-store"}


@bp.route("/tokens/<id:token_id>/revoke", methods=["POST"])
@role_required("admin")
def revoke_token(token_id: int):
    form = RevokeForm()
    if not form.validate_on_submit():
        flash("Die Anfrage ist abgelaufen. Bitte bestätigen Sie noch einmal.", "error")
        return redirect(url_for("office.tokens", revoke=token_id))
    try:
        token = service.revoke_token(token_id, actor=current_user)
    except ServiceError as error:
        return refuse(error, url_for("office.tokens"))
    flash(f"Der API-Zugang „{token.name}“ ist widerrufen. Anfragen mit diesem Token werden ab sofort abgelehnt.",
          "success")
    return redirect(url_for("office.tokens"))
