"""Programme office (admin): everything about one learner, and the office's certificate actions.

Each action is a POST with a mandatory reason; the certificates service validates, changes and
audits, the view commits once. A refused field re-renders the record with the message beside
the form (422); a refused state (already revoked, already replaced – e.g. a double submit) is
flashed and the record shown again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from namalms.extensions import db
from namalms.models import REVOCATION_CATEGORIES, Certificate, CertificateDefinition, Course, Module, ProgressEvent, User
from namalms.pagination import requested_page
from namalms.services import ServiceError
from namalms.services import certificates as certificate_service
from namalms.services.learner_records import LearnerRecord, load_record
from namalms.unit_of_work import refuse
from namalms.web import role_required

from namalms.office.audit_log import action_label, describe_data, target_label
from namalms.office.blueprint import bp

HISTORY_STEP = 50
MAX_HISTORY = 5000
GROUNDS_LABELS = {"rule": "Regel erfüllt", "office_decision": "Entscheidung des Programmbüros"}
WORKSHOP_SOURCES = {"checklist": "Anwesenheitsliste", "manual": "von Hand", "csv": "CSV-Import", "cli": "Kommandozeile",
                    "demo": "Demo-Daten"}


@dataclass
class HistoryEntry:
    at: datetime
    kind: str  # "progress" | "audit"
    text: str
    actor: str = ""
    reason: str = ""
    details: list[str] = field(default_factory=list)


def _module_title(modules: dict[str, Module], module_id: str | None) -> str:
    module = modules.get(module_id or "")
    return f"„{module.title}“" if module else f"„{module_id}“"


def describe_progress(event: ProgressEvent, modules: dict[str, Module], courses: dict[str, Course],
                      people: dict[int, User]) -> str:
    """A progress event in one German sentence."""
    module = _module_title(modules, event.module_id)
    data = event.data or {}
    if event.kind == "enrolled":
        course = courses.get(event.course_id or "")
        return f"In den Kurs „{course.title if course else event.course_id}“ eingeschrieben"
    if event.kind == "module_opened":
        return f"Modul {module} geöffnet"
    if event.kind == "module_done":
        return f"Modul {module} als bearbeitet markiert"
    if event.kind == "quiz_attempt":
        outcome = "bestanden" if data.get("passed") else "nicht bestanden"
        return f"Selbstcheck zu {module}: {data.get('score', '–')} % ({outcome}, nötig {data.get('pass_mark', '–')} %)"
    if event.kind == "quiz_passed":
        return f"Selbstcheck zu {module} bestanden"
    if event.kind == "module_completed":
        return f"Modul {module} abgeschlossen"
    if event.kind == "workshop_attended":
        by = people.get(data.get("recorded_by") or 0)
        return f"Workshop zu {module} besucht" + (f" (erfasst von {by.name})" if by else "")
    return f"{event.kind} {module if event.module_id else ''}".strip()


def history_of(record: LearnerRecord, *, limit: int) -> tuple[list[HistoryEntry], bool]:
    """Progress and audit events merged into one German timeline, newest first; and whether more exist."""
    history = [HistoryEntry(e.created_at, "progress", describe_progress(e, record.modules, record.courses, record.people))
               for e in record.progress_events]
    history += [HistoryEntry(a.created_at, "audit", action_label(a.action) + (f" – {target_label(a)}" if a.target_type else ""),
                             actor=a.actor_label, reason=a.reason, details=describe_data(a.data)) for a in record.audit_events]
    history.sort(key=lambda h: h.at, reverse=True)
    return history[:limit], len(history) > limit


def render_record(user: User, *, errors: dict | None = None, values: dict | None = None, status: int = 200):
    history_limit = max(min(requested_page(request.args, "verlauf") if "verlauf" in request.args else HISTORY_STEP,
                            MAX_HISTORY), HISTORY_STEP)
    record = load_record(user, history_limit=history_limit)
    history, has_more_history = history_of(record, limit=history_limit)
    return render_template(
        "office/record.html", learner=user, categories=REVOCATION_CATEGORIES, grounds_labels=GROUNDS_LABELS,
        workshop_sources=WORKSHOP_SOURCES, errors=errors or {}, values=values or {}, history_limit=history_limit,
        history_step=HISTORY_STEP, history=history, has_more_history=has_more_history, **vars(record)), status


@bp.route("/learners/<id:user_id>")
@role_required("admin")
def learner_record(user_id: int):
    return render_record(db.get_or_404(User, user_id))


def _certificate_of(user: User, certificate_id: int) -> Certificate:
    """The learner's certificate, locked for this transaction so a double submit acts once."""
    certificate = db.session.get(Certificate, certificate_id, with_for_update=True)
    if certificate is None or certificate.user_id != user.id:
        abort(404)
    return certificate


def _done(user: User, message: str):
    flash(message, "success")
    return redirect(url_for("office.learner_record", user_id=user.id))


def _refused(user: User, error: ServiceError, form_key: str):
    """A bad field is shown at its form (422); anything else (e.g. already revoked) as a message."""
    if error.field:
        return render_record(user, errors={form_key: {error.field: error.message}},
                             values={form_key: request.form.to_dict()}, status=422)
    return refuse(error, url_for("office.learner_record", user_id=user.id))


@bp.route("/learners/<id:user_id>/certificates/<id:certificate_id>/revoke", methods=["POST"])
@role_required("admin")
def revoke_certificate(user_id: int, certificate_id: int):
    user = db.get_or_404(User, user_id)
    certificate = _certificate_of(user, certificate_id)
    try:
        certificate_service.revoke_certificate(certificate, category=request.form.get("category", ""),
                                               reason=request.form.get("reason", ""), actor=current_user)
    except ServiceError as error:
        return _refused(user, error, f"revoke-{certificate_id}")
    return _done(user, f"Das Zertifikat {certificate.number} ist widerrufen. Die Prüfseite zeigt das ab sofort.")


@bp.route("/learners/<id:user_id>/certificates/<id:certificate_id>/reissue", methods=["POST"])
@role_required("admin")
def reissue_certificate(user_id: int, certificate_id: int):
    user = db.get_or_404(User, user_id)
    certificate = _certificate_of(user, certificate_id)
    try:
        replacement = certificate_service.reissue_certificate(certificate, reason=request.form.get("reason", ""),
                                                              actor=current_user)
    except ServiceError as error:
        return _refused(user, error, f"reissue-{certificate_id}")
    return _done(user, f"Neu ausgestellt als {replacement.number}; {certificate.number} ist als ersetzt markiert.")


@bp.route("/learners/<id:user_id>/certificates/<id:certificate_id>/correct-name", methods=["POST"])
@role_required("admin")
def correct_name(user_id: int, certificate_id: int):
    user = db.get_or_404(User, user_id)
    certificate = _certificate_of(user, certificate_id)
    try:
        replacement = certificate_service.correct_certificate_name(
            certificate, new_name=request.form.get("new_name", ""), reason=request.form.get("reason", ""),
            actor=current_user)
    except ServiceError as error:
        return _refused(user, error, f"name-{certificate_id}")
    return _done(user, f"Name berichtigt: neu ausgestellt als {replacement.number} auf „{user.name}“; "
                       f"{certificate.number} ist als ersetzt markiert.")


@bp.route("/learners/<id:user_id>/grant", methods=["POST"])
@role_required("admin")
def grant_certificate(user_id: int):
    user = db.get_or_404(User, user_id)
    definition = db.session.get(CertificateDefinition, request.form.get("definition_id", ""))
    if definition is None or not definition.is_active:
        return _refused(user, ServiceError("Bitte wählen Sie das Zertifikat aus, das erteilt werden soll.",
                                           "definition_id"), "grant")
    try:
        certificate = certificate_service.grant_certificate(user, definition, reason=request.form.get("reason", ""),
                                                            actor=current_user)
    except ServiceError as error:
        return _refused(user, error, "grant")
    return _done(user, f"{definition.title} erteilt (Nr. {certificate.number}) – als Entscheidung des "
                       "Programmbüros vermerkt.")
