"""The trainer area blueprint, shared by the view modules of this package, and its course guard."""
from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user

from namalms.services import trainer_courses

bp = Blueprint("trainer", __name__, url_prefix="/trainer")


def ensure_course(course_id: str | None) -> None:
    """Answer 403 unless the signed-in trainer looks after this course (the office sees all)."""
    if not trainer_courses.may_manage(current_user, course_id):
        abort(403)


def my_course_ids():
    """The course ids the signed-in user may see in the trainer area; None means all."""
    return trainer_courses.course_ids_for(current_user)
