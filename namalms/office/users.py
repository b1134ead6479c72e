"""Programme office (admin): accounts and roles at a glance."""
from __future__ import annotations

from flask import render_template, request
from sqlalchemy import func, or_, select

from namalms.extensions import db
from namalms.models import ROLES, Enrollment, Region, User
from namalms.web import role_required

from namalms.office.blueprint import bp
PAGE_SIZE = 50


@bp.route("/users")
@role_required("admin")
def users():
    query = select(User).order_by(User.name)
    search = request.args.get("q", "").strip()
    role = request.args.get("role", "")
    if search:
        like = f"%{search.lower()}%"
        query = query.where(or_(func.lower(User.name).like(like), User.email.like(like),
                                func.lower(User.municipality).like(like)))
    if role in ROLES:
        query = query.where(User.role == role)
    page = max(request.args.get("page", 1, type=int), 1)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    users = list(db.session.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    regions = {r.id: r.name for r in db.session.scalars(select(Region))}
    enrolments = dict(db.session.execute(
        select(Enrollment.user_id, func.count()).where(Enrollment.user_id.in_([u.id for u in users]))
        .group_by(Enrollment.user_id)).all())
    counts = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
    return render_template("office/users.html", users=users, total=total, page=page, page_size=PAGE_SIZE,
                           search=search, role=role, regions=regions, enrolments=enrolments, counts=counts)
