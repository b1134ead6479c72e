"""Workshops: scheduling, attendance (checklist or CSV list) and the trainer's matrix of learners.

Attendance of a module's workshop goes through `progress.record_workshop_attendance`, so the
module completes and certificates are issued in the same transaction; attendance of a
course-level workshop is the WorkshopAttendance row itself (see `certificates.load_facts`).
Like every service, these functions flush and never commit.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import bindparam, func, select, true
from sqlalchemy.orm import aliased, joinedload

from namalms.formats import ics
from namalms.formats.attendance_csv import AttendanceCsvError, AttendanceList, Duplicate, parse_attendance_csv
from namalms.domain.progress import MISSING_WORKSHOP, ModuleRequirements, ModuleState, module_completion
from namalms import formatting
from namalms.extensions import db
from namalms.formatting import to_local
from namalms.models import (
    FORMATS, AuditEvent, Certificate, Course, Enrollment, Module,
    ModuleProgress, ProgressEvent, User, Workshop, WorkshopAttendance,
)
from namalms.models.base import utcnow
from namalms.pagination import Page, paginate
from namalms.services import ServiceError
from namalms.services import notifications
from namalms.services import progress as progress_service
from namalms.services import trainer_courses
from namalms.services.audit import record_audit
from namalms.services.search import name_or_email_matches

MAX_TITLE, MAX_LOCATION, MAX_DESCRIPTION = 300, 500, 5000
MAX_CAPACITY = 10_000
MAX_DAYS = 7
PAGE_SIZE = 50
IN_CHUNK = 900  # ids per IN (…) list: well under every database's parameter limit
SOURCES = {"checklist": "Checkliste", "csv": "CSV-Import", "cli": "Kommandozeile"}
FIELD_LABELS = {
    "target": "Modul/Kurs", "title": "Titel", "description": "Beschreibung", "starts_at": "Beginn",
    "ends_at": "Ende", "format": "Format", "location": "Ort/Link", "capacity": "Plätze",
}


# --- scheduling ---------------------------------------------------------------------------------------

@dataclass
class WorkshopDraft:
    """A workshop as typed into the form (strings, local time in Europe/Berlin)."""

    target: str = ""  # "module:<id>" or "course:<id>"
    title: str = ""
    description: str = ""
    date: str = ""
    start_time: str = ""
    end_date: str = ""  # empty: the same day
    end_time: str = ""
    duration: str = ""  # minutes, instead of an end time
    format: str = "online"
    location: str = ""
    capacity: str = ""


def _small_number(raw: str) -> bool:
    """Plain ASCII digits, at most 9 of them ("²" and "٣" are digits to Python, not to us)."""
    raw = raw.strip()
    return raw.isascii() and raw.isdigit() and len(raw) <= 9


def draft_from(workshop: Workshop) -> WorkshopDraft:
    """The form values of a scheduled workshop, in local time (for editing)."""
    start, end = to_local(workshop.starts_at), to_local(workshop.ends_at)
    return WorkshopDraft(
        target=f"module:{workshop.module_id}" if workshop.module_id else f"course:{workshop.course_id}",
        title=workshop.title, description=workshop.description or "",
        date=start.strftime("%Y-%m-%d"), start_time=start.strftime("%H:%M"),
        end_date=end.strftime("%Y-%m-%d") if end.date() != start.date() else "",
        end_time=end.strftime("%H:%M"), format=workshop.format, location=workshop.location or "",
        capacity=str(workshop.capacity) if workshop.capacity else "",
    )


def parse_date(value: str, field_name: str, label: str) -> date:
    """„2026-04-14“ (date picker) or „14.04.2026“ / „14.4.26“ (typed by hand)."""
    value = (value or "").strip()
    if not value:
        raise ServiceError(f"Bitte geben Sie {label} an.", field_name)
    try:
        return formatting.parse_date(value)
    except formatting.NoSuchDay:
        raise ServiceError(f"Den Tag „{value}“ gibt es nicht.", field_name) from None
    except ValueError:
        raise ServiceError(f"Bitte geben Sie {label} als TT.MM.JJJJ an, z. B. 14.04.2026.", field_name) from None


def parse_time(value: str, field_name: str, label: str) -> time:
    """„10:00“, „10.00“, „10“ or „10:00 Uhr“."""
    value = re.sub(r"\s*uhr$", "", (value or "").strip().lower())
    if not value:
        raise ServiceError(f"Bitte geben Sie {label} an.", field_name)
    match = re.fullmatch(r"(\d{1,2})(?:[:.](\d{2}))?(?::\d{2})?", value)
    if not match or int(match.group(1)) > 23 or int(match.group(2) or 0) > 59:
        raise ServiceError(f"Bitte geben Sie {label} als SS:MM an, z. B. 09:30.", field_name)
    return time(int(match.group(1)), int(match.group(2) or 0))


def _local(day: date, clock: time, field_name: str) -> datetime:
    try:
        return formatting.local_to_utc(day, clock)
    except formatting.LocalTimeError as error:
        raise ServiceError(str(error), field_name) from None


def _target(value: str) -> tuple[Course, Module | None]:
    kind, _, key = (value or "").partition(":")
    if kind == "module":
        module = db.session.get(Module, key)
        if module is None or module.is_retired:
            raise ServiceError("Bitte wählen Sie ein Modul oder einen Kurs.", "target")
        if not module.has_workshop:
            raise ServiceError(f"Das Modul „{module.title}“ sieht keinen Workshop vor.", "target")
        return module.course, module
    if kind == "course":
        course = db.session.get(Course, key)
        if course is not None:
            return course, None
    raise ServiceError("Bitte wählen Sie ein Modul oder einen Kurs.", "target")


def _clean(draft: WorkshopDraft) -> dict:
    """Validate a draft; the values for a Workshop row, or ServiceError naming the field."""
    course, module = _target(draft.target)
    title = " ".join((draft.title or "").split())
    if not title and module is not None:
        title = module.workshop_title or f"Workshop zu „{module.title}“"
    if not title:
        raise ServiceError("Bitte geben Sie einen Titel an.", "title")
    if len(title) > MAX_TITLE:
        raise ServiceError(f"Der Titel darf höchstens {MAX_TITLE} Zeichen lang sein.", "title")
    day = parse_date(draft.date, "date", "das Datum")
    starts_at = _local(day, parse_time(draft.start_time, "start_time", "die Beginnzeit"), "start_time")
    if (draft.duration or "").strip():
        if (draft.end_time or "").strip() or (draft.end_date or "").strip():
            raise ServiceError("Bitte geben Sie entweder eine Endzeit oder eine Dauer an, nicht beides.", "duration")
        if not _small_number(draft.duration) or not 1 <= int(draft.duration.strip()) <= MAX_DAYS * 24 * 60:
            raise ServiceError("Bitte geben Sie die Dauer in ganzen Minuten an, z. B. 90.", "duration")
        ends_at = ics.ends_after(starts_at, int(draft.duration))
    else:
        end_day = parse_date(draft.end_date, "end_date", "das Enddatum") if (draft.end_date or "").strip() else day
        ends_at = _local(end_day, parse_time(draft.end_time, "end_time", "die Endzeit oder eine Dauer"), "end_time")
    if ends_at <= starts_at:
        raise ServiceError("Das Ende muss nach dem Beginn liegen.", "end_time")
    if ends_at - starts_at > timedelta(days=MAX_DAYS):
        raise ServiceError(f"Ein Workshop kann höchstens {MAX_DAYS} Tage dauern.", "end_date")
    if draft.format not in FORMATS:
        raise ServiceError("Bitte wählen Sie „Online“ oder „In Präsenz“.", "format")
    location = " ".join((draft.location or "").split())
    if len(location) > MAX_LOCATION:
        raise ServiceError(f"Ort bzw. Link dürfen höchstens {MAX_LOCATION} Zeichen lang sein.", "location")
    if re.match(r"^[a-z][a-z0-9+.-]*:(?!\d)", location, re.I) and not re.match(r"^https?://\S+$", location, re.I):
        raise ServiceError("Ein Link muss mit https:// beginnen (z. B. https://meet.example.org/raum).", "location")
    if draft.format == "praesenz" and not location:
        raise ServiceError("Bitte geben Sie den Ort des Präsenzworkshops an (Adresse, Raum).", "location")
    capacity = None
    if (draft.capacity or "").strip():
        raw = draft.capacity.strip()
        if not _small_number(raw) or not 1 <= int(raw.strip()) <= MAX_CAPACITY:
            raise ServiceError("Bitte geben Sie die Zahl der Plätze als ganze Zahl ab 1 an – oder lassen Sie das "
                               "Feld leer, wenn es keine Begrenzung gibt.", "capacity")
        capacity = int(raw)
    description = (draft.description or "").strip().replace("\r\n", "\n")
    if len(description) > MAX_DESCRIPTION:
        raise ServiceError(f"Die Beschreibung darf höchstens {MAX_DESCRIPTION} Zeichen lang sein.", "description")
    return {"course_id": course.id, "module_id": module.id if module else None, "title": title,
            "description": description, "starts_at": starts_at, "ends_at": ends_at, "format": draft.format,
            "location": location, "capacity": capacity}


def _audit_data(values: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}


def schedule_workshop(draft: WorkshopDraft, *, actor: User) -> Workshop:
    """Create a workshop from a validated draft."""
    values = _clean(draft)
    trainer_courses.ensure_may_manage(actor, values["course_id"])
    workshop = Workshop(**values, created_by_id=actor.id, is_cancelled=False, created_at=utcnow())
    db.session.add(workshop)
    db.session.flush()
    record_audit("workshop_scheduled", actor=actor, target_type="workshop", target_id=str(workshop.id),
                 data=_audit_data(values))
    notifications.workshop_event(workshop, "scheduled")
    return workshop


def attendance_count(workshop: Workshop) -> int:
    return db.session.scalar(select(func.count()).select_from(WorkshopAttendance)
                             .where(WorkshopAttendance.workshop_id == workshop.id)) or 0


def update_workshop(workshop: Workshop, draft: WorkshopDraft, *, actor: User) -> list[str]:
    """Change a workshop; returns the German labels of what changed (empty: nothing changed).

    Once attendance is recorded, the workshop stays with its module or course: that
    attendance has already counted there.
    """
    if workshop.is_cancelled:
        raise ServiceError("Ein abgesagter Workshop kann nicht mehr bearbeitet werden.")
    values = _clean(draft)
    trainer_courses.ensure_may_manage(actor, workshop.course_id)
    trainer_courses.ensure_may_manage(actor, values["course_id"])
    changed = {k: v for k, v in values.items() if getattr(workshop, k) != v}
    if ("course_id" in changed or "module_id" in changed) and attendance_count(workshop):
        raise ServiceError("Für diesen Workshop ist bereits Teilnahme eingetragen; er kann keinem anderen Modul "
                           "oder Kurs mehr zugeordnet werden.", "target")
    if not changed:
        return []
    before = {k: getattr(workshop, k) for k in changed}
    for key, value in changed.items():
        setattr(workshop, key, value)
    record_audit("workshop_updated", actor=actor, target_type="workshop", target_id=str(workshop.id),
                 data={"before": _audit_data(before), "after": _audit_data(changed)})
    db.session.flush()
    labels = {"course_id": "target", "module_id": "target"}
    changed_labels = sorted({FIELD_LABELS[labels.get(k, k)] for k in changed})
    if changed.keys() - {"description", "capacity"}:  # what a calendar entry shows changed
        notifications.workshop_event(workshop, "changed", changed=changed_labels)
    return changed_labels


def cancel_workshop(workshop: Workshop, *, actor: User, reason: str = "") -> Workshop:
    """Call a workshop off. Learners no longer see it; its calendar entry says CANCELLED."""
    if workshop.is_cancelled:
        raise ServiceError("Dieser Workshop ist bereits abgesagt.")
    if attendance_count(workshop):
        raise ServiceError("Für diesen Workshop ist bereits Teilnahme eingetragen; er kann nicht mehr abgesagt "
                           "werden.")
    reason = (reason or "").strip()
    if len(reason) > 1000:
        raise ServiceError("Die Begründung darf höchstens 1.000 Zeichen lang sein.", "reason")
    workshop.is_cancelled = True
    record_audit("workshop_cancelled", actor=actor, reason=reason, target_type="workshop",
                 target_id=str(workshop.id), data={"title": workshop.title,
                                                   "starts_at": workshop.starts_at.isoformat()})
    db.session.flush()
    notifications.workshop_event(workshop, "cancelled", reason=reason)
    return workshop


# --- listing ------------------------------------------------------------------------------------------

@dataclass
class WorkshopRow:
    workshop: Workshop
    attended: int
    enrolled: int


def overview(*, now: datetime | None = None, past_page: int = 1,
             course_ids: Collection[str] | None = None) -> tuple[list[WorkshopRow], Page[WorkshopRow]]:
    """Upcoming workshops (soonest first) and one page of past ones (latest first), in five queries.

    ``course_ids`` limits them to these courses (a trainer's own); None means every course."""
    now = now or utcnow()
    mine = Workshop.course_id.in_(list(course_ids)) if course_ids is not None else true()
    upcoming = list(db.session.scalars(select(Workshop).where(Workshop.ends_at >= now, mine)
                                       .order_by(Workshop.starts_at, Workshop.id)))
    past = paginate(select(Workshop).where(Workshop.ends_at < now, mine)
                    .order_by(Workshop.starts_at.desc(), Workshop.id.desc()), past_page)
    ids = [w.id for w in upcoming + list(past.items)]
    attended = dict(db.session.execute(
        select(WorkshopAttendance.workshop_id, func.count()).where(WorkshopAttendance.workshop_id.in_(ids))
        .group_by(WorkshopAttendance.workshop_id)).all()) if ids else {}
    enrolled = dict(db.session.execute(
        select(Enrollment.course_id, func.count()).join(User, User.id == Enrollment.user_id)
        .where(User.role == "learner").group_by(Enrollment.course_id)).all())

    def rows(workshops):
        return [WorkshopRow(w, attended.get(w.id, 0), enrolled.get(w.course_id, 0)) for w in workshops]

    return rows(upcoming), replace(past, items=rows(past.items))


# The listing on every course page (and module pages with a workshop), built once: building and
# keying a new statement per request cost more than the rest of the listing, even an empty one.
_UPCOMING = (select(Workshop).where(Workshop.course_id == bindparam("course_id"), Workshop.is_cancelled.is_(False),
                                    Workshop.ends_at >= bindparam("now"))
             .order_by(Workshop.starts_at, Workshop.id))
_UPCOMING_OF_COURSE = _UPCOMING.options(joinedload(Workshop.module))  # the listing names each one's module
_UPCOMING_OF_MODULE = _UPCOMING.where(Workshop.module_id == bindparam("module_id"))


def upcoming_workshops(course_id: str, module_id: str | None = None, *,
                       now: datetime | None = None) -> list[Workshop]:
    """Workshops learners can still attend: not cancelled, not over. With a module: only its own."""
    parameters = {"course_id": course_id, "now": now or utcnow()}
    if module_id is None:
        return list(db.session.scalars(_UPCOMING_OF_COURSE, parameters))
    return list(db.session.scalars(_UPCOMING_OF_MODULE, {**parameters, "module_id": module_id}))


def may_see_details(user, workshop_course_id: str, *, enrolled: bool | None = None) -> bool:
    """Place, meeting link and calendar entry are for the course's learners and for staff.

    ``enrolled``: whether the user is enrolled in the course, when the caller already knows."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role in ("trainer", "admin"):
        return True
    if enrolled is not None:
        return enrolled
    return progress_service.enrollment_for(user, workshop_course_id) is not None


def calendar_for(workshop: Workshop, *, host: str, page_url: str = "", now: datetime | None = None) -> str:
    """The workshop as an iCalendar file. Each edit or cancellation raises SEQUENCE, so calendar
    programs replace the entry they imported earlier."""
    sequence = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.target_type == "workshop", AuditEvent.target_id == str(workshop.id),
        AuditEvent.action.in_(("workshop_updated", "workshop_cancelled")))) or 0
    place = workshop.module.title if workshop.module else workshop.course.title
    lines = [workshop.description] if workshop.description else []
    lines.append(f"{workshop.format_label} · {'Modul' if workshop.module else 'Kurs'}: {place}")
    if workshop.location and workshop.format == "online":
        lines.append(f"Zugang: {workshop.location}")
    if page_url:
        lines.append(f"Mehr auf der Lernplattform: {page_url}")
    event = ics.CalendarEvent(
        uid=f"workshop-{workshop.id}@{host or 'namalms'}", starts_at=workshop.starts_at, ends_at=workshop.ends_at,
        stamp=now or utcnow(), summary=f"NaMa NRW: {workshop.title}", description="\n".join(lines),
        location=workshop.location or workshop.format_label,
        url=workshop.location if re.match(r"^https?://\S+$", workshop.location or "") else page_url,
        is_cancelled=workshop.is_cancelled, sequence=sequence)
    return ics.build_calendar([event])


# --- attendance ---------------------------------------------------------------------------------------

@dataclass
class RosterEntry:
    user: User
    attendance: WorkshopAttendance | None
    recorded_by: str = ""
    module_missing: tuple[str, ...] | None = None  # module workshops: what the module still lacks

    @property
    def other_missing(self) -> tuple[str, ...]:
        """What the module lacks besides this workshop."""
        return tuple(m for m in self.module_missing or () if m != MISSING_WORKSHOP)

    @property
    def completes_module(self) -> bool:
        """Attending is the last missing piece of the module."""
        return self.module_missing == (MISSING_WORKSHOP,)


def roster(workshop: Workshop, *, search: str = "") -> list[RosterEntry]:
    """The learners enrolled in the workshop's course, with their attendance if recorded (3 queries)."""
    query = (select(User).join(Enrollment, Enrollment.user_id == User.id)
             .where(Enrollment.course_id == workshop.course_id, User.role == "learner").order_by(User.name, User.id))
    if search.strip():
        query = query.where(name_or_email_matches(search))
    users = list(db.session.scalars(query))
    recorder = aliased(User)
    recorded = {a.user_id: (a, name or "") for a, name in db.session.execute(
        select(WorkshopAttendance, recorder.name).outerjoin(recorder, recorder.id == WorkshopAttendance.recorded_by_id)
        .where(WorkshopAttendance.workshop_id == workshop.id))}
    missing: dict[int, tuple[str, ...]] = {}
    module = workshop.module
    if module is not None:
        rows = {p.user_id: p for p in db.session.scalars(select(ModuleProgress).where(
            ModuleProgress.module_id == module.id,
            ModuleProgress.user_id.in_(select(Enrollment.user_id).where(Enrollment.course_id == workshop.course_id))))}
        requirements = ModuleRequirements(module.has_quiz, module.has_workshop)
        for user in users:
            row = rows.get(user.id)
            state = ModuleState() if row is None else ModuleState(row.done_at, row.quiz_passed_at,
                                                                  row.workshop_attended_at)
            missing[user.id] = module_completion(requirements, state).missing
    return [RosterEntry(u, *(recorded.get(u.id) or (None, "")), missing.get(u.id)) for u in users]


@dataclass
class AttendanceOutcome:
    """What recording attendance changed, for the trainer's confirmation message."""

    recorded: list[User] = field(default_factory=list)
    already: list[User] = field(default_factory=list)
    completed: list[User] = field(default_factory=list)  # finished the workshop's module just now
    certificates: list[Certificate] = field(default_factory=list)  # issued just now


def _chunks(ids: list) -> list[list]:
    return [ids[i:i + IN_CHUNK] for i in range(0, len(ids), IN_CHUNK)] or [[]]


def _lock(workshop: Workshop) -> Workshop:
    """Lock the workshop row so two trainers saving the same list take turns (PostgreSQL)."""
    query = select(Workshop).where(Workshop.id == workshop.id).with_for_update()
    return db.session.scalar(query.execution_options(populate_existing=True)) or workshop


def record_attendance(workshop: Workshop, user_ids: list[int], *, actor: User, source: str = "checklist",
                      now: datetime | None = None) -> AttendanceOutcome:
    """Record that these learners attended. Already recorded ones are left alone.

    All or nothing: every id must belong to a learner enrolled in the workshop's course, or
    nothing is recorded. A module workshop completes the module where it was the last missing
    piece, and certificates follow at once.
    """
    now = now or utcnow()
    workshop = _lock(workshop)
    if workshop.is_cancelled:
        raise ServiceError("Dieser Workshop ist abgesagt; Teilnahme kann nicht eingetragen werden.")
    if workshop.starts_at > now:
        raise ServiceError("Teilnahme kann erst ab Beginn des Workshops eingetragen werden "
                           f"({formatting.format_span(workshop.starts_at, workshop.ends_at)}).")
    if source not in SOURCES:
        raise ValueError(f"unknown attendance source {source!r}")
    wanted = sorted(set(user_ids))
    users: dict[int, User] = {}
    for chunk in _chunks(wanted):
        users.update({u.id: u for u in db.session.scalars(
            select(User).join(Enrollment, Enrollment.user_id == User.id)
            .where(Enrollment.course_id == workshop.course_id, User.role == "learner", User.id.in_(chunk)))})
    if len(users) != len(wanted):
        raise ServiceError("Die Liste enthält Personen, die nicht in diesen Kurs eingeschrieben sind. Bitte laden "
                           "Sie die Seite neu.")
    existing = set(db.session.scalars(select(WorkshopAttendance.user_id).where(
        WorkshopAttendance.workshop_id == workshop.id)))
    outcome = AttendanceOutcome(already=[users[i] for i in wanted if i in existing])
    new_ids = [i for i in wanted if i not in existing]
    if not new_ids:
        return outcome
    module = workshop.module
    before: dict[int, datetime | None] = {}
    if module is not None:
        for chunk in _chunks(new_ids):
            before.update(db.session.execute(select(ModuleProgress.user_id, ModuleProgress.completed_at).where(
                ModuleProgress.module_id == module.id, ModuleProgress.user_id.in_(chunk))).all())
    last_certificate_id = db.session.scalar(select(func.max(Certificate.id))) or 0
    for user_id in new_ids:
        user = users[user_id]
        db.session.add(WorkshopAttendance(workshop_id=workshop.id, user_id=user.id, recorded_at=now,
                                          recorded_by_id=actor.id, source=source))
        completed_now = False
        if module is not None:
            row, _ = progress_service.record_workshop_attendance(user, module, recorded_by=actor, at=now,
                                                                 source=source)
            completed_now = row.completed_at is not None and before.get(user.id) is None
        else:
            # A course-level workshop: the attendance row is what counts; the event log says so too.
            db.session.add(ProgressEvent(user_id=user.id, kind="workshop_attended", course_id=workshop.course_id,
                                         data={"workshop_id": workshop.id, "recorded_by": actor.id,
                                               "source": source}, created_at=now))
            if user.last_activity_at is None or now > user.last_activity_at:
                user.last_activity_at = now
            db.session.flush()
            progress_service.progress_changed(user)
        record_audit("workshop_attendance_recorded", actor=actor, target_type="workshop",
                     target_id=str(workshop.id), subject_user_id=user.id,
                     data={"source": source, "module_id": workshop.module_id, "module_completed": completed_now})
        outcome.recorded.append(user)
        if completed_now:
            outcome.completed.append(user)
    db.session.flush()
    for chunk in _chunks(new_ids):
        outcome.certificates += db.session.scalars(select(Certificate).where(
            Certificate.user_id.in_(chunk), Certificate.id > last_certificate_id).order_by(Certificate.id)).all()
    return outcome


# --- CSV import ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Unmatched:
    line: int
    value: str
    reason: str
    row_text: str = ""  # the whole row, so the trainer recognises the person


@dataclass
class ImportPreview:
    """What importing a list would do. Nothing is written while the trainer looks at it."""

    parsed: AttendanceList
    matched: list[tuple[int, User]]  # (line, learner) to be recorded now
    already: list[tuple[int, User, WorkshopAttendance]]
    unmatched: list[Unmatched]
    duplicates: list[Duplicate]
    sha256: str

    @property
    def expected(self) -> str:
        """The learners this preview promises to record, as the confirmation form carries them."""
        return ",".join(str(i) for i in sorted(u.id for _, u in self.matched))


class ImportChanged(ServiceError):
    """The list would now record other learners than the trainer confirmed; show it again."""

    def __init__(self, preview: ImportPreview):
        super().__init__("Seit der Vorschau hat sich etwas geändert (z. B. hat jemand anderes Teilnahme eingetragen "
                         "oder sich eingeschrieben). Bitte prüfen Sie die aktualisierte Vorschau und bestätigen Sie "
                         "erneut.")
        self.preview = preview


def preview_import(workshop: Workshop, data: bytes) -> ImportPreview:
    """Read an attendance list and match it against the learners of the workshop's course."""
    try:
        parsed = parse_attendance_csv(data)
    except AttendanceCsvError as error:
        raise ServiceError(error.message, "file") from None
    emails = parsed.emails
    accounts: dict[str, User] = {}
    for chunk in _chunks(emails):
        accounts.update({u.email: u for u in db.session.scalars(select(User).where(User.email.in_(chunk)))})
    ids = [u.id for u in accounts.values()]
    enrolled: set[int] = set()
    recorded: dict[int, WorkshopAttendance] = {}
    for chunk in _chunks(ids):
        enrolled.update(db.session.scalars(select(Enrollment.user_id).where(
            Enrollment.course_id == workshop.course_id, Enrollment.user_id.in_(chunk))))
        recorded.update({a.user_id: a for a in db.session.scalars(select(WorkshopAttendance).where(
            WorkshopAttendance.workshop_id == workshop.id, WorkshopAttendance.user_id.in_(chunk)))})
    course_title = workshop.course.short_title or workshop.course.title
    matched, already, unmatched = [], [], []
    for entry in parsed.invalid:
        reason = "keine E-Mail-Adresse in dieser Zeile" if not entry.value else "keine gültige E-Mail-Adresse"
        unmatched.append(Unmatched(entry.line, entry.shown, reason, entry.row_text))
    for entry in parsed.entries:
        user = accounts.get(entry.email)
        if user is None:
            unmatched.append(Unmatched(entry.line, entry.value, "unbekannte E-Mail-Adresse (kein Konto)",
                                       entry.row_text))
        elif user.role != "learner":
            unmatched.append(Unmatched(entry.line, entry.value, f"kein Teilnehmendenkonto ({user.role_label})",
                                       entry.row_text))
        elif user.id not in enrolled:
            unmatched.append(Unmatched(entry.line, entry.value, f"nicht in „{course_title}“ eingeschrieben",
                                       entry.row_text))
        elif user.id in recorded:
            already.append((entry.line, user, recorded[user.id]))
        else:
            matched.append((entry.line, user))
    unmatched.sort(key=lambda u: u.line)
    return ImportPreview(parsed, matched, already, unmatched, list(parsed.duplicates),
                         hashlib.sha256(data).hexdigest())


def import_attendance(workshop: Workshop, data: bytes | None, *, expected: str, actor: User, sha256: str = "",
                      filename: str = "", now: datetime | None = None) -> tuple[ImportPreview, AttendanceOutcome]:
    """Record everyone the confirmed preview matched, in one go.

    ``sha256`` is the hash of the file the trainer saw in the preview: a different (or missing)
    file is refused. The file is read and matched again; if that no longer gives exactly the
    learners the trainer confirmed, nothing is written and ImportChanged carries the fresh preview.
    """
    if data is None or hashlib.sha256(data).hexdigest() != sha256:
        raise ServiceError("Die Datei zur Bestätigung fehlt oder ist nicht dieselbe wie in der Vorschau. Bitte "
                           "laden Sie die Teilnahmeliste erneut hoch; es wurde nichts gespeichert.", "file")
    workshop = _lock(workshop)
    preview = preview_import(workshop, data)
    if preview.expected != (expected or "").strip():
        raise ImportChanged(preview)
    if not preview.matched:
        raise ServiceError("Die Liste enthält niemanden, dessen Teilnahme noch einzutragen wäre.")
    outcome = record_attendance(workshop, [u.id for _, u in preview.matched], actor=actor, source="csv", now=now)
    record_audit("workshop_attendance_imported", actor=actor, target_type="workshop", target_id=str(workshop.id),
                 data={"filename": filename[:200], "sha256": preview.sha256, "rows": preview.parsed.row_count,
                       "recorded": len(outcome.recorded), "already": len(preview.already),
                       "unmatched": len(preview.unmatched), "duplicates": len(preview.duplicates)})
    db.session.flush()
    return preview, outcome


# --- choices for the scheduling form -------------------------------------------------------------------

def target_choices(course_ids: Collection[str] | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """(course title, [(value, label), …]) for the form: the whole course, then its workshop modules.

    ``course_ids`` limits them to these courses (a trainer's own); None means every course."""
    courses = [c for c in db.session.scalars(select(Course).order_by(Course.position))
               if course_ids is None or c.id in course_ids]
    modules = list(db.session.scalars(select(Module).where(Module.has_workshop, Module.is_retired.is_(False))
                                      .order_by(Module.course_id, Module.position)))
    groups = []
    for course in courses:
        options = [(f"course:{course.id}", f"Ganzer Kurs: {course.short_title or course.title}")]
        options += [(f"module:{m.id}", f"Modul {m.position}: {m.workshop_title or m.title}")
                    for m in modules if m.course_id == course.id]
        groups.append((course.title, options))
    return groups
