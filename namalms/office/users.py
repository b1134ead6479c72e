"""Programme office (admin): accounts and roles – list, search, change roles, (de)activate, create trainers."""
from __future__ import annotations

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select

from namalms.extensions import db
from namalms.models import ROLES, AuditEvent, Certificate, Enrollment, Region, User
from namalms.services import ServiceError
from namalms.services import users as user_service
from namalms.unit_of_work import refuse
from namalms.web import role_required

from namalms.office.audit_log import action_label, describe_data
from namalms.office.blueprint import bp
PAGE_SIZE = 50
STATES = {"active": "aktiv", "inactive": "deaktiviert"}


def _list_context(**extra) -> dict:
    query = select(User).order_by(User.name)
    search = request.args.get("q", "").strip()
    role = request.args.get("role", "")
    state = request.args.get("state", "")
    if search:
        like = f"%{search.lower()}%"
        query = query.where(or_(func.lower(User.name).like(like), User.email.like(like),
                                func.lower(User.municipality).like(like)))
    if role in ROLES:
        query = query.where(User.role == role)
    if state in STATES:
        query = query.where(User.is_active_account.is_(state == "active"))
    page = max(request.args.get("page", 1, type=int), 1)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    users = list(db.session.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    regions = {r.id: r.name for r in db.session.scalars(select(Region))}
    enrolments = dict(db.session.execute(
        select(Enrollment.user_id, func.count()).where(Enrollment.user_id.in_([u.id for u in users]))
        .group_by(Enrollment.user_id)).all())
    counts = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
    context = dict(users=users, total=total, page=page, page_size=PAGE_SIZE, search=search, role=role, state=state,
                   states=STATES, regions=regions, enrolments=enrolments, counts=counts, errors={}, values={},
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
        user, generated = user_service.create_trainer(
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


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<int:user_id>")
@role_required("admin")
def user_detail(user_id: int):
    user = _user_or_404(user_id)
    events = list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.subject_user_id == user.id, AuditEvent.target_type == "user")
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(20)))
    certificates = db.session.scalar(select(func.count(Certificate.id)).where(
        Certificate.user_id == user.id, Certificate.current_marker.is_(True), Certificate.status == "valid"))
    return render_template("office/user.html", account=user, events=events, certificates=certificates,
                           action_label=action_label, describe_data=describe_data)


def _after(user: User, changed: bool, done: str, unchanged: str):
    flash(done if changed else unchanged, "success" if changed else "info")
    return redirect(url_for("office.user_detail", user_id=user.id))


def _refused(user: User, error: ServiceError):
    return refuse(error, url_for("office.user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@role_required("admin")
def change_role(user_id: int):
    user = _user_or_404(user_id)
    role = request.form.get("role", "")
    try:
        changed = user_service.change_role(user, role, actor=current_user, reason=request.form.get("reason", ""))
    except ServiceError as error:
        return _refused(user, error)
    return _after(user, changed, f"{user.name} hat jetzt die Rolle „{ROLES[role]}“.",
                  f"{user.name} hatte bereits die Rolle „{ROLES[role]}“.")


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@role_required("admin")
def deactivate(user_id: int):
    user = _user_or_404(user_id)
    try:
        changed = user_service.deactivate_user(user, actor=current_user, reason=request.form.get("reason", ""))
    except ServiceError as error:
        return _refused(user, error)
    return _after(user, changed, f"Das Konto von {user.name} ist deaktiviert; alle Sitzungen sind beendet.",
                  f"Das Konto von {user.name} war bereits deaktiviert.")


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@role_required("admin")
def reactivate(user_id: int):
    user = _user_or_404(user_id)
    try:
        changed = user_service.reactivate_user(user, actor=current_user, reason=request.form.get("reason", ""))
    except ServiceError as error:
        return _refused(user, error)
    return _after(user, changed, f"Das Konto von {user.name} ist wieder aktiv.",
                  f"Das Konto von {user.name} war bereits aktiv.")
