"""Programme office (admin): accounts and roles – list, search, change roles, (de)activate, create trainers."""
from __future__ import annotations

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from namalms.extensions import db
from namalms.models import ROLES, User
from namalms.pagination import requested_page
from namalms.services import ServiceError
from namalms.services import account_admin, mail, trainer_courses
from namalms.unit_of_work import refuse
from namalms.web import role_required

from functools import partial

from namalms.office.audit_log import action_label, describe_data
from namalms.services.audit import content_names
from namalms.office.blueprint import bp
def _list_context(**extra) -> dict:
    filters = account_admin.AccountFilters.from_args(request.args)
    listing = account_admin.account_list(filters, page=requested_page(request.args))
    context = dict(listing=listing, filters=filters, states=account_admin.STATES, errors={}, values={},
                   created=None, generated_password=None)
    context.update(extra)
    return context


@bp.route("/users")
@role_required("admin")
def users():
    return render_template("office/users.html", **_list_context())


@bp.route("/users/new", methods=["POST"])
@role_required("admin")
def create_trainer():
    """Create a trainer account. The page answering this POST is the only place a generated password
    is ever shown: it is not stored in the session, a flash message or a URL."""
    form = {key: request.form.get(key, "") for key in ("name", "email", "password")}
    try:
        user, generated = account_admin.create_trainer(
            name=form["name"], email=form["email"], password=form["password"], actor=current_user,
            min_length=current_app.config.get("PASSWORD_MIN_LENGTH", 10))
    except ServiceError as error:
        form.pop("password")
        response = make_response(render_template(
            "office/users.html", **_list_context(errors={error.field or "name": error.message}, values=form)), 422)
    else:
        response = make_response(render_template(
            "office/users.html", **_list_context(created=user, generated_password=generated)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/users/<id:user_id>")
@role_required("admin")
def user_detail(user_id: int):
    user = db.get_or_404(User, user_id)
    detail = account_admin.account_detail(user)
    courses = trainer_courses.all_courses() if user.role == "trainer" else []
    assigned = {c.id for c in trainer_courses.assigned_courses(user)} if user.role == "trainer" else set()
    return render_template("office/user.html", account=user, events=detail.events,
                           certificates=detail.valid_certificates, action_label=action_label,
                           describe_data=partial(describe_data, names=content_names()), courses=courses,
                           assigned=assigned, mails=mail.mail_of(user))


def _after(user: User, changed: bool, done: str, unchanged: str):
    flash(done if changed else unchanged, "success" if changed else "info")
    return redirect(url_for("office.user_detail", user_id=user.id))


def _refused(user: User, error: ServiceError):
    return refuse(error, url_for("office.user_detail", user_id=user.id))


@bp.route("/users/<id:user_id>/role", methods=["POST"])
@role_required("admin")
def change_role(user_id: int):
    user = db.get_or_404(User, user_id)
    role = request.form.get("role", "")
    try:
        changed = account_admin.change_role(user, role, actor=current_user, reason=request.form.get("reason", ""))
    except ServiceError as error:
        return _refused(user, error)
    return _after(user, changed, f"{user.name} hat jetzt die Rolle „{ROLES[role]}“.",
                  f"{user.name} hatte bereits die Rolle „{ROLES[role]}“.")


@bp.route("/users/<id:user_id>/courses", methods=["POST"])
@role_required("admin")
def assign_courses(user_id: int):
    """The office sets which courses a trainer looks after (ticked boxes = assigned)."""
    user = db.get_or_404(User, user_id)
    try:
        added, removed = trainer_courses.set_courses(user, request.form.getlist("course"), actor=current_user,
                                                     reason=request.form.get("reason", ""))
    except ServiceError as error:
        return _refused(user, error)
    titles = {c.id: c.short_title or c.title for c in trainer_courses.all_courses()}
    parts = ([f"zugeordnet: {', '.join(titles[c] for c in added)}"] if added else []) + \
            ([f"nicht mehr zugeordnet: {', '.join(titles[c] for c in removed)}"] if removed else [])
    return _after(user, bool(parts), f"Kurse von {user.name} gespeichert – {'; '.join(parts)}.",
                  f"Keine Änderung: {user.name} betreut weiterhin dieselben Kurse.")


@bp.route("/users/<id:user_id>/deactivate", methods=["POST"])
@role_required("admin")
def deactivate(user_id: int):
    user = db.get_or_404(User, user_id)
    try:
        changed = account_admin.deactivate_user(user, actor=current_user, reason=request.form.get("reason", ""))
    except ServiceError as error:
        return _refused(user, error)
    return _after(user, changed, f"Das Konto von {user.name} ist deaktiviert; alle Sitzungen sind beendet.",
                  f"Das Konto von {user.name} war bereits deaktiviert.")


@bp.route("/users/<id:user_id>/reactivate", methods=["POST"])
@role_required("admin")
def reactivate(user_id: int):
    user = db.get_or_404(User, user_id)
    try:
        changed = account_admin.reactivate_user(user, actor=current_user, reason=request.form.get("reason", ""))
    except ServiceError as error:
        return _refused(user, error)
    return _after(user, changed, f"Das Konto von {user.name} ist wieder aktiv.",
                  f"Das Konto von {user.name} war bereits aktiv.")
