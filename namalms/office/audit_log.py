"""Programme office (admin): the audit log – who did what, when, to whom and why. Read-only."""
from __future__ import annotations

from flask import render_template, request

from namalms.models import REVOCATION_CATEGORIES, ROLES, AuditEvent
from namalms.pagination import requested_page
from namalms.services.audit import AuditFilters, audit_page
from namalms.web import role_required

from namalms.office.blueprint import bp

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
    "trainer_assigned": "Kurs zugeordnet",
    "trainer_unassigned": "Kurszuordnung aufgehoben",
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


@bp.route("/audit")
@role_required("admin")
def audit():
    filters = AuditFilters.from_args(request.args)
    result = audit_page(filters, page=requested_page(request.args))
    actions = {**{a: action_label(a) for a in sorted(result.recorded_actions - set(ACTION_LABELS))},
               **{a: label for a, label in ACTION_LABELS.items()
                  if a in result.recorded_actions or a.startswith(("certificate_", "user_"))}}
    actions = dict(sorted(actions.items(), key=lambda item: item[1].lower()))
    page_args = filters.query_args()
    return render_template(
        "office/audit.html", result=result, filters=filters, actions=actions, action_label=action_label,
        target_types=TARGET_LABELS, describe_data=describe_data, page_args=page_args,
        without_subject={k: v for k, v in page_args.items() if k != "subject"}), 400 if result.errors else 200
