"""Trainer area: courses, their published revisions and how learners are getting on."""
from __future__ import annotations

from flask import render_template
from sqlalchemy import func, select

from namalms.extensions import db
from namalms.models import Enrollment
from namalms.services.publishing import content_overview
from namalms.trainer.blueprint import bp, my_course_ids
from namalms.web import role_required


@bp.route("/")
@role_required("trainer", "admin")
def index():
    enrolled = dict(db.session.execute(
        select(Enrollment.course_id, func.count()).group_by(Enrollment.course_id)).all())
    return render_template("trainer/index.html", overview=content_overview(my_course_ids()), enrolled=enrolled)
