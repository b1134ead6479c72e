"""Trainer area: courses, their published revisions and how learners are getting on."""
from __future__ import annotations

from flask import render_template
from sqlalchemy import func, select

from namalms.extensions import db
from namalms.models import ContentRevision, Course, Enrollment, ModuleProgress
from namalms.web import role_required

from namalms.trainer.blueprint import bp


@bp.route("/")
@role_required("trainer", "admin")
def index():
    courses = list(db.session.scalars(select(Course).order_by(Course.position)))
    revisions = {r.id: r for r in db.session.scalars(
        select(ContentRevision).where(ContentRevision.kind == "module"))}
    enrolled = dict(db.session.execute(
        select(Enrollment.course_id, func.count()).group_by(Enrollment.course_id)).all())
    completed = dict(db.session.execute(
        select(ModuleProgress.module_id, func.count()).where(ModuleProgress.completed_at.is_not(None))
        .group_by(ModuleProgress.module_id)).all())
    started = dict(db.session.execute(
        select(ModuleProgress.module_id, func.count()).where(ModuleProgress.first_viewed_at.is_not(None))
        .group_by(ModuleProgress.module_id)).all())
    return render_template("trainer/index.html", courses=courses, revisions=revisions,
                           enrolled=enrolled, completed=completed, started=started)
