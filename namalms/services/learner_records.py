"""Everything the programme office sees about one learner, read in a fixed number of queries."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from namalms.extensions import db
from namalms.models import (
    AuditEvent, Certificate, CertificateDefinition, Course, Enrollment, Module, ModuleProgress, ProgressEvent, User,
    Workshop, WorkshopAttendance,
)
from namalms.services import certificates as certificate_service


@dataclass
class LearnerRecord:
    """The learner's record: courses, progress, attempts, workshops, certificates and history."""

    modules: dict[str, Module]
    courses: dict[str, Course]
    enrolments: list[Enrollment]
    course_tables: list[tuple[Course, list[tuple[Module, ModuleProgress | None]]]]
    attempts: list[ProgressEvent]
    attendances: list[tuple[WorkshopAttendance, Workshop]]
    workshop_events: list[ProgressEvent]  # workshops recorded without a dated workshop
    people: dict[int, User]  # who recorded attendance
    certificates: list[Certificate]
    by_id: dict[int, Certificate]
    successors: dict[int, Certificate]
    standings: list
    grantable: list[CertificateDefinition]
    progress_events: list[ProgressEvent]  # newest first, at most history_limit + 1
    audit_events: list[AuditEvent]  # newest first, at most history_limit + 1


def load_record(user: User, *, history_limit: int) -> LearnerRecord:
    """Everything the record page shows, in a fixed number of queries (no per-row queries)."""
    modules = {m.id: m for m in db.session.scalars(select(Module).order_by(Module.position))}
    courses = {c.id: c for c in db.session.scalars(select(Course).order_by(Course.position))}
    enrolments = list(db.session.scalars(select(Enrollment).where(Enrollment.user_id == user.id)
                                         .order_by(Enrollment.enrolled_at)))
    progress_rows = {p.module_id: p for p in db.session.scalars(
        select(ModuleProgress).where(ModuleProgress.user_id == user.id))}
    enrolled_ids = [e.course_id for e in enrolments]
    touched = {modules[mid].course_id for mid in progress_rows if mid in modules}
    course_tables = []
    for course_id in [c for c in courses if c in enrolled_ids or c in touched]:
        rows = [(m, progress_rows.get(m.id)) for m in courses[course_id].modules
                if not m.is_retired or m.id in progress_rows]
        course_tables.append((courses[course_id], rows))
    attempts = list(db.session.scalars(
        select(ProgressEvent).where(ProgressEvent.user_id == user.id, ProgressEvent.kind == "quiz_attempt")
        .order_by(ProgressEvent.created_at.desc())))
    attendances = [tuple(row) for row in db.session.execute(
        select(WorkshopAttendance, Workshop).join(Workshop, Workshop.id == WorkshopAttendance.workshop_id)
        .where(WorkshopAttendance.user_id == user.id).order_by(Workshop.starts_at.desc())).all()]
    workshop_events = list(db.session.scalars(
        select(ProgressEvent).where(ProgressEvent.user_id == user.id, ProgressEvent.kind == "workshop_attended")
        .order_by(ProgressEvent.created_at.desc())))
    certificates = list(db.session.scalars(
        select(Certificate).where(Certificate.user_id == user.id).order_by(Certificate.issued_at.desc(),
                                                                              Certificate.id.desc())))
    progress_events = list(db.session.scalars(
        select(ProgressEvent).where(ProgressEvent.user_id == user.id)
        .order_by(ProgressEvent.created_at.desc(), ProgressEvent.id.desc()).limit(history_limit + 1)))
    audit_events = list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.subject_user_id == user.id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(history_limit + 1)))
    people_ids = {a.recorded_by_id for a, _ in attendances if a.recorded_by_id}
    people_ids |= {e.data.get("recorded_by") for e in workshop_events if (e.data or {}).get("recorded_by")}
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(people_ids)))} if people_ids else {}
    standings = certificate_service.standings(user, for_display=True)
    held = {s.definition.id for s in standings if s.certificate is not None}
    grantable = [d for d in certificate_service.active_definitions() if d.id not in held]
    # Module workshops recorded through a workshop date already appear with that date.
    dated_modules = {w.module_id for _, w in attendances if w.module_id}
    return LearnerRecord(
        modules=modules, courses=courses, enrolments=enrolments, course_tables=course_tables, attempts=attempts,
        attendances=attendances, workshop_events=[e for e in workshop_events if e.module_id not in dated_modules],
        people=people, certificates=certificates, by_id={c.id: c for c in certificates},
        successors={c.supersedes_id: c for c in certificates if c.supersedes_id}, standings=standings,
        grantable=grantable, progress_events=progress_events, audit_events=audit_events)
