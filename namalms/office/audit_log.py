"""Programme office (admin): the audit log – who did what, when, to whom and why. Read-only."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import render_template, request
from sqlalchemy import func, or_, select

from namalms.extensions import db
from namalms.models import REVOCATION_CATEGORIES, ROLES, AuditEvent, User
from namalms.web import role_required

from namalms.office.blueprint import bp

PAGE_SIZE = 50
BERLIN = ZoneInfo("Europe/Berlin")

# Readable German names of the recorded actions; an action missing here is shown as recorded.
ACTION_LABELS = {
    "certificate_issued": "Zertifikat ausgestellt",
    "certificate_granted": "Zertifikat durch Entscheidung des Programmbüros erteilt",
    "certificate_revoked": "Zertifikat widerrufen",
    "certificate_reissued": "Zertifikat neu ausgestellt",
    "certificate_name_corrected": "Name auf Zertifikat berichtigt",
    "user_created": "Konto angelegt",
    "user_role_changed": "Rolle geändert",
    "user_deactivated": "Konto deaktiviert",
    "user_reactivated": "Konto reaktiviert",
    "profile_changed": "Profil geändert",
    "account_deleted": "Konto gelöscht",
    "data_exported": "Daten exportiert",
    "content_published": "Inhalt veröffentlicht",
    "content_uploaded": "Inhalte hochgeladen",
    "content_restored": "Frühere Inhaltsversion wiederhergestellt",
    "module_created": "Modul angelegt",
    "module_retired": "Modul zurückgezogen",
    "modules_reordered": "Module neu geordnet",
    "image_uploaded": "Bild hochgeladen",
    "workshop_scheduled": "Workshop angesetzt",
    "workshop_updated": "Workshop geändert",
    "workshop_cancelled": "Workshop abgesagt",
    "workshop_attendance_recorded": "Workshop-Teilnahme erfasst",
    "workshop_attendance_imported": "Teilnahmeliste importiert",
    "api_token_created": "API-Zugang angelegt",
    "api_token_revoked": "API-Zugang widerrufen",
}
TARGET_LABELS = {"certificate": "Zertifikat", "user": "Konto", "module": "Modul", "course": "Kurs",
                 "workshop": "Workshop", "revision": "Revision", "api_token": "API-Zugang", "programme": "Programm",
                 "regions": "Regionen"}
DATA_LABELS = {"category": "Kategorie", "replacement": "Ersetzt durch", "role": "Rolle", "email": "E-Mail",
               "password": "Passwort", "name": "Name", "district_id": "Kreis", "municipality": "Kommune",
               "account_name_before": "Kontoname vorher"}
DATA_VALUES = {"generated": "erzeugt und einmal angezeigt", "entered": "vom Programmbüro gesetzt",
               **REVOCATION_CATEGORIES, **ROLES}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def target_label(event: AuditEvent) -> str:
    if not event.target_type:
        return "–"
    return f"{TARGET_LABELS.get(event.target_type, event.target_type)} {event.target_id}".strip()


def _value(value) -> str:
    if value is None or value == "":
        return "–"
    return DATA_VALUES.get(value, str(value)) if isinstance(value, str) else str(value)


def describe_data(data: dict | None) -> list[str]:
    """The event's details as short German lines: "Rolle: Teilnehmer*in → Trainer*in"."""
    if not data:
        return []
    if set(data) == {"from", "to"}:
        return [f"{_value(data['from'])} → {_value(data['to'])}"]
    lines = []
    for key, value in data.items():
        label = DATA_LABELS.get(key, key)
        if isinstance(value, dict) and set(value) == {"from", "to"}:
            lines.append(f"{label}: {_value(value['from'])} → {_value(value['to'])}")
        elif key in ("from", "to"):
            lines.append(f"{'vorher' if key == 'from' else 'nachher'}: {_value(value)}")
        elif isinstance(value, (dict, list)):
            lines.append(f"{label}: {value}")
        else:
            lines.append(f"{label}: {_value(value)}")
    return lines


def parse_day(text: str) -> date | None:
    """A date from an <input type=date> (YYYY-MM-DD) or typed the German way (TT.MM.JJJJ)."""
    text = (text or "").strip()
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


def berlin_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BERLIN)


@bp.route("/audit")
@role_required("admin")
def audit():
    args = request.args
    filters = {key: args.get(key, "").strip() for key in ("action", "actor", "subject", "from", "to")}
    errors = {}
    query = select(AuditEvent)
    if filters["action"]:
        query = query.where(AuditEvent.action == filters["action"])
    if filters["actor"]:
        query = query.where(func.lower(AuditEvent.actor_label).like(f"%{filters['actor'].lower()}%"))
    subject_user = None
    if filters["subject"].isdigit():
        subject_user = db.session.get(User, int(filters["subject"]))
        query = query.where(AuditEvent.subject_user_id == int(filters["subject"]))
    elif filters["subject"]:
        like = f"%{filters['subject'].lower()}%"
        query = query.where(AuditEvent.subject_user_id.in_(
            select(User.id).where(or_(func.lower(User.name).like(like), User.email.like(like)))))
    for key, label in (("from", "Von"), ("to", "Bis")):
        if filters[key]:
            try:
                day = parse_day(filters[key])
            except ValueError:
                errors[key] = f"„{label}“: Bitte ein Datum wie 31.01.2026 angeben."
                continue
            if key == "from":
                query = query.where(AuditEvent.created_at >= berlin_midnight(day))
            else:
                query = query.where(AuditEvent.created_at < berlin_midnight(day + timedelta(days=1)))
    page = max(args.get("page", 1, type=int), 1)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    events = list(db.session.scalars(query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
                                     .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    people = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_({e.subject_user_id for e in events if e.subject_user_id})))}
    recorded = set(db.session.scalars(select(AuditEvent.action).distinct()))
    actions = {**{a: action_label(a) for a in sorted(recorded - set(ACTION_LABELS))},
               **{a: l for a, l in ACTION_LABELS.items() if a in recorded or a.startswith(("certificate_", "user_"))}}
    actions = dict(sorted(actions.items(), key=lambda item: item[1].lower()))
    page_args = {key: value for key, value in filters.items() if value}
    return render_template(
        "office/audit.html", events=events, total=total, page=page, page_size=PAGE_SIZE, filters=filters,
        errors=errors, people=people, subject_user=subject_user, actions=actions, action_label=action_label,
        target_types=TARGET_LABELS, describe_data=describe_data,
        page_args=page_args, without_subject={k: v for k, v in page_args.items() if k != "subject"})
