"""Which courses a trainer looks after: the office assigns them, every trainer page asks here.

The office (role ``admin``) sees and changes every course; a trainer only the courses assigned to
them. Assignments are added and removed by the office and audited; the whole decision is in
:func:`course_ids_for` so no trainer page has its own idea of it.
"""
from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, select

from namalms.extensions import db
from namalms.models import Course, TrainerAssignment, User
from namalms.services import ServiceError
from namalms.services.audit import record_audit


class CourseNotAssigned(ServiceError):
    """A trainer tried to see or change a course that is not assigned to them (a 403 on the web)."""

    def __init__(self, course_id: str):
        super().__init__("Dieser Kurs ist Ihnen nicht zugeordnet. Das Programmbüro ordnet Trainer*innen "
                         "ihre Kurse zu.", "course_id", english=f"course {course_id} is not assigned to you")
        self.course_id = course_id


def sees_all_courses(user: User | None) -> bool:
    """The office and the command line (no user) look after every course."""
    return user is None or user.role == "admin"


def course_ids_for(user: User | None) -> frozenset[str] | None:
    """The ids of the courses this user may see and change as a trainer; None means all of them."""
    if sees_all_courses(user):
        return None
    if user.role != "trainer":
        return frozenset()
    return frozenset(db.session.scalars(select(TrainerAssignment.course_id).where(TrainerAssignment.user_id == user.id)))


def may_manage(user: User | None, course_id: str | None) -> bool:
    """Whether the user may see and change this course in the trainer area."""
    allowed = course_ids_for(user)
    return allowed is None or (course_id is not None and course_id in allowed)


def ensure_may_manage(user: User | None, course_id: str | None) -> None:
    """Refuse with :class:`CourseNotAssigned` unless the user looks after this course."""
    if not may_manage(user, course_id):
        raise CourseNotAssigned(course_id or "")


def only_allowed(user: User | None, course_ids: Collection[str]) -> list[str]:
    """The given course ids this user may see, in the given order."""
    allowed = course_ids_for(user)
    return [c for c in course_ids if allowed is None or c in allowed]


def all_courses() -> list[Course]:
    """Every course in catalogue order (what the office can assign)."""
    return list(db.session.scalars(select(Course).order_by(Course.position)))


def assigned_courses(trainer: User) -> list[Course]:
    """The courses assigned to a trainer, in catalogue order."""
    return list(db.session.scalars(select(Course).join(TrainerAssignment, TrainerAssignment.course_id == Course.id)
                                   .where(TrainerAssignment.user_id == trainer.id).order_by(Course.position)))


def trainers_of(course_id: str) -> list[User]:
    """The trainers assigned to a course, by name."""
    return list(db.session.scalars(select(User).join(TrainerAssignment, TrainerAssignment.user_id == User.id)
                                   .where(TrainerAssignment.course_id == course_id).order_by(User.name)))


def assign(trainer: User, course: Course, *, actor: User | None = None, actor_label: str = "") -> bool:
    """Assign one course to a trainer (audited). Returns False when it already was."""
    if trainer.role != "trainer":
        raise ServiceError("Kurse werden nur Konten mit der Rolle Trainer*in zugeordnet.", "courses",
                           english="only trainers are assigned to courses")
    exists = db.session.scalar(select(TrainerAssignment.id).where(
        TrainerAssignment.user_id == trainer.id, TrainerAssignment.course_id == course.id))
    if exists:
        return False
    db.session.add(TrainerAssignment(user_id=trainer.id, course_id=course.id))
    record_audit("trainer_assigned", actor=actor, actor_label=actor_label, target_type="user",
                 target_id=str(trainer.id), subject_user_id=trainer.id, data={"course": course.id})
    db.session.flush()
    return True


def set_courses(trainer: User, course_ids: Collection[str], *, actor: User, reason: str = "") -> tuple[list[str], list[str]]:
    """Make exactly these courses the trainer's; each addition and removal is audited.

    Returns (added, removed) course ids. Unknown ids are refused, not ignored: the form only offers
    existing courses, so an unknown one means the page is out of date.
    """
    if trainer.role != "trainer":
        raise ServiceError("Kurse werden nur Konten mit der Rolle Trainer*in zugeordnet.", "courses",
                           english="only trainers are assigned to courses")
    wanted = set(course_ids)
    known = {c.id: c for c in db.session.scalars(select(Course))}
    unknown = wanted - set(known)
    if unknown:
        raise ServiceError("Diesen Kurs gibt es nicht mehr. Bitte laden Sie die Seite neu.", "courses",
                           english=f"unknown course(s): {', '.join(sorted(unknown))}")
    current = set(db.session.scalars(select(TrainerAssignment.course_id).where(TrainerAssignment.user_id == trainer.id)))
    added = [c for c in known if c in wanted - current]
    removed = [c for c in known if c in current - wanted]
    for course_id in added:
        db.session.add(TrainerAssignment(user_id=trainer.id, course_id=course_id))
        record_audit("trainer_assigned", actor=actor, reason=reason.strip(), target_type="user",
                     target_id=str(trainer.id), subject_user_id=trainer.id, data={"course": course_id})
    if removed:
        db.session.execute(delete(TrainerAssignment).where(TrainerAssignment.user_id == trainer.id,
                                                           TrainerAssignment.course_id.in_(removed)))
        for course_id in removed:
            record_audit("trainer_unassigned", actor=actor, reason=reason.strip(), target_type="user",
                         target_id=str(trainer.id), subject_user_id=trainer.id, data={"course": course_id})
    db.session.flush()
    return added, removed
