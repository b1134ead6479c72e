"""Programme office (admin): the audit log – who did what, when, to whom and why. Read-only."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import partial

from flask import render_template, request

from namalms.formatting import format_datetime
from namalms.models import REVOCATION_CATEGORIES, ROLES, AuditEvent
from namalms.pagination import requested_page
from namalms.services.audit import AuditFilters, audit_page, content_names
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
    "email_confirmed": "E-Mail-Adresse bestätigt",
    "email_changed": "E-Mail-Adresse geändert",
    "confirmation_resent": "Bestätigungslink erneut gesendet",
    "password_changed": "Passwort geändert",
    "password_reset": "Passwort über Link neu gesetzt",
    "password_reset_sent": "Link zum Zurücksetzen des Passworts gesendet",
    "page_published": "Seite veröffentlicht",
    "trainer_assigned": "Kurs zugeordnet",
    "trainer_unassigned": "Kurszuordnung aufgehoben",
}
TARGET_LABELS = {"certificate": "Zertifikat", "user": "Konto", "module": "Modul", "course": "Kurs",
                 "workshop": "Workshop", "revision": "Revision", "api_token": "API-Zugang", "programme": "Programm",
                 "regions": "Regionen", "page": "Seite"}
# The recorded details in German, by key. A key missing here is shown with a generic German
# label rather than as a raw key; technical keys (hashes, internal ids) are not shown at all –
# the office reads the log, the raw values stay in the database for an audit.
DATA_LABELS = {
    "category": "Kategorie", "replacement": "Ersetzt durch", "role": "Rolle", "email": "E-Mail",
    "password": "Passwort", "name": "Name", "district_id": "Kreis", "municipality": "Kommune",
    "account_name_before": "Kontoname vorher", "course": "Kurs", "module": "Modul", "module_id": "Modul",
    "revision": "Revision", "restored_revision": "Wiederhergestellt aus Revision", "path": "Datei",
    "direction": "Richtung", "positions": "Neue Positionen", "learners_with_progress": "Teilnehmende mit Fortschritt",
    "completed": "davon abgeschlossen", "title": "Titel", "starts_at": "Beginn", "ends_at": "Ende",
    "description": "Beschreibung", "format": "Format", "location": "Ort/Link", "capacity": "Plätze",
    "target": "Modul/Kurs", "course_id": "Kurs", "source": "Erfasst über", "module_completed": "Modul damit abgeschlossen",
    "filename": "Datei", "rows": "Zeilen", "recorded": "eingetragen", "already": "bereits eingetragen",
    "unmatched": "nicht zugeordnet", "duplicates": "doppelt", "file": "Datei", "revisions": "Neue Revisionen",
    "removed": "Entfernte Dateien", "retired": "Zurückgezogene Module", "bytes": "Größe (Bytes)",
    "width": "Breite (px)", "height": "Höhe (px)", "before": "vorher", "after": "nachher",
    "by": "durch", "rule": "Regel", "certificates_kept_anonymous": "anonym erhaltene Zertifikate",
    "expires_on": "gültig bis",
}
HIDDEN_DATA = {"source_hash", "sha256", "base_revision_id", "prefix", "workshop_id", "recorded_by"}
DATA_VALUES = {"generated": "erzeugt und einmal angezeigt", "entered": "vom Programmbüro gesetzt",
               "up": "nach oben", "down": "nach unten", "checklist": "Checkliste", "csv": "CSV-Import",
               "cli": "Kommandozeile", "demo": "Demo-Daten", "manual": "von Hand", "online": "Online",
               "praesenz": "In Präsenz", "self": "die Person selbst", "retention": "Aufbewahrungsregel",
               **REVOCATION_CATEGORIES, **ROLES}


def action_label(action: str) -> str:
    """The German name of a recorded action; an unknown one is shown readable, never as a raw key."""
    return ACTION_LABELS.get(action, action.replace("_", " ").capitalize())


def target_label(event: AuditEvent) -> str:
    if not event.target_type:
        return "–"
    return f"{TARGET_LABELS.get(event.target_type, event.target_type)} {event.target_id}".strip()


NAMED_KEYS = {"course", "course_id", "module", "module_id"}  # values that are ids of courses or modules


def _value(value, names: dict[str, str] | None = None) -> str:
    """One recorded value in German: ja/nein, German dates, lists joined, known keys translated."""
    if value is None or value == "" or value == [] or value == {}:
        return "–"
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, (int, float)):
        return f"{value:n}" if isinstance(value, float) else str(value)
    if isinstance(value, list):
        return ", ".join(_value(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{_label(k)}: {_value(v)}" for k, v in value.items() if k not in HIDDEN_DATA)
    text = str(value)
    moment = _instant(text)
    if moment is not None:
        return format_datetime(moment)
    return DATA_VALUES.get(text, (names or {}).get(text, text))


def _label(key: str) -> str:
    return DATA_LABELS.get(key, key.replace("_", " ").capitalize())


def _instant(text: str):
    """A recorded ISO timestamp (2026-04-14T08:00:00+00:00) as a datetime, else None."""
    if len(text) < 19 or text[4] != "-" or text[10] != "T":
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def describe_data(data: dict | None, names: dict[str, str] | None = None) -> list[str]:
    """The event's details as short German lines: "Rolle: Teilnehmer*in → Trainer*in".

    ``names`` turns course and module ids into their titles (see ``audit.content_names``)."""
    if not data:
        return []
    if set(data) == {"from", "to"}:
        return [f"{_value(data['from'])} → {_value(data['to'])}"]
    if set(data) == {"before", "after"} and isinstance(data["before"], dict) and isinstance(data["after"], dict):
        return [f"{_label(key)}: {_value(data['before'].get(key))} → {_value(value)}"
                for key, value in data["after"].items() if key not in HIDDEN_DATA]
    lines = []
    for key, value in data.items():
        if key in HIDDEN_DATA:
            continue
        if isinstance(value, dict) and set(value) == {"from", "to"}:
            lines.append(f"{_label(key)}: {_value(value['from'])} → {_value(value['to'])}")
        elif key in ("from", "to"):
            lines.append(f"{'vorher' if key == 'from' else 'nachher'}: {_value(value)}")
        else:
            lines.append(f"{_label(key)}: {_value(value, names if key in NAMED_KEYS else None)}")
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
        target_types=TARGET_LABELS, describe_data=partial(describe_data, names=content_names()), page_args=page_args,
        without_subject={k: v for k, v in page_args.items() if k != "subject"}), 400 if result.errors else 200
