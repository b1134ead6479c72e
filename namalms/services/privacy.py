"""Data protection for learners: export everything (Art. 15/20 DSGVO), delete the account (Art. 17),
and the retention rule for unconfirmed and long-unused accounts.

The certificate rule on deletion (stated on the deletion page and in the Datenschutzerklärung):
every certificate stays as an anonymous record – number, verification code, certificate title,
issue date and status (valid, revoked, superseded) – so a verification link handed to an
employer keeps answering "gültig" (or "widerrufen"), but without name, municipality or
evidence. The signed JSON and the PDF the learner downloaded before keep their name and remain
checkable offline with the issuer's public key. Everything else about the person is deleted:
the account, enrolments, progress and quiz answers, workshop attendance, notification settings,
login sessions and queued mail; in the audit log, entries about the person lose every text that
names them, and the deletion itself is recorded without personal data.

Like every service this flushes and never commits.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select

from namalms.extensions import db
from namalms.formats.data_export import Table, build_archive
from namalms.formatting import format_datetime
from namalms.models import (
    NOTIFICATION_KINDS, AuditEvent, Certificate, CertificateDefinition, CertificatePdf, Course, Enrollment,
    LoginSession, Module, ModuleProgress, OutgoingMail, ProgressEvent, User, Workshop, WorkshopAttendance,
)
from namalms.models.base import utcnow
from namalms.services import ServiceError, notifications, sessions
from namalms.services.accounts import check_password
from namalms.services.audit import record_audit

REDACTED = "[gelöscht]"
DELETED_ACTOR = "Gelöschtes Konto"
# Audit data keys under which earlier names and addresses of the person were recorded.
IDENTITY_KEYS = ("from", "to", "email", "name", "account_name_before")
IDENTITY_ACTIONS = ("profile_changed", "email_changed", "certificate_name_corrected", "user_created")


# --- export ---------------------------------------------------------------------------------------

README = """Ihre Daten aus der NaMa NRW Lernplattform
==========================================

Erstellt am {created}. Jede Tabelle liegt zweimal bei: als JSON (genaue Werte, Zeiten in UTC)
und als CSV für Excel (Semikolon, Zeiten in deutscher Zeit).

profil                 Ihr Konto: Name, E-Mail-Adresse, Kreis, Kommune, Rolle, Zeitpunkte
einschreibungen        in welche Kurse Sie sich wann eingeschrieben haben
modulstand             Ihr aktueller Stand je Modul (gelesen, Selbstcheck, Workshop, abgeschlossen)
lernereignisse         das vollständige Protokoll Ihres Lernfortschritts
selbstchecks           jeder Selbstcheck-Versuch mit Ihren Antworten und Ihrem Ergebnis
workshops              Ihre eingetragene Teilnahme an Workshops
zertifikate            Ihre Zertifikate; die signierten Zertifikatsdateien liegen in zertifikate/
benachrichtigungen     welche E-Mail-Benachrichtigungen Sie eingeschaltet haben
anmeldungen            Ihre offenen Anmeldungen (Geräte), ohne deren geheime Schlüssel
e-mails                welche E-Mails wir Ihnen geschickt haben oder schicken werden
protokoll              Einträge im Änderungsprotokoll der Plattform, die Ihr Konto betreffen

Die Zertifikatsdateien (*.json) sind mit dem Schlüssel des Programmbüros signiert; ihre Echtheit
lässt sich mit dem öffentlichen Schlüssel prüfen ({public_key_url}).
"""


def _progress_state(user: User) -> list[dict]:
    rows = db.session.execute(
        select(ModuleProgress, Module.title, Module.course_id).join(Module, Module.id == ModuleProgress.module_id)
        .where(ModuleProgress.user_id == user.id).order_by(Module.course_id, Module.position)).all()
    return [{"module_id": p.module_id, "module": title, "course_id": course_id,
             "first_viewed_at": p.first_viewed_at, "last_viewed_at": p.last_viewed_at, "done_at": p.done_at,
             "best_quiz_score": p.best_quiz_score, "quiz_passed_at": p.quiz_passed_at,
             "workshop_attended_at": p.workshop_attended_at, "completed_at": p.completed_at}
            for p, title, course_id in rows]


def export_archive(user: User) -> bytes:
    """Everything the platform stores about ``user`` as one ZIP of JSON and CSV files.

    The export itself is noted in the audit log (``data_exported``), so the office can answer
    when a person received their data.
    """
    from namalms.links import external_url
    from namalms.services.certificates import document_for

    now = utcnow()
    district = user.district.name if user.district else ""
    region = user.region.name if user.region else ""
    profile = Table("profil", [
        ("id", "Kontonummer"), ("name", "Name"), ("email", "E-Mail-Adresse"), ("role", "Rolle"),
        ("district", "Kreis bzw. kreisfreie Stadt"), ("region", "Region"), ("municipality", "Kommune bzw. Institution"),
        ("created_at", "Registriert am"), ("email_confirmed_at", "E-Mail bestätigt am"),
        ("last_login_at", "Letzte Anmeldung"), ("last_activity_at", "Letzte Lernaktivität"),
        ("is_active_account", "Konto aktiv")], [{
            "id": user.id, "name": user.name, "email": user.email, "role": user.role_label, "district": district,
            "region": region, "municipality": user.municipality, "created_at": user.created_at,
            "email_confirmed_at": user.email_confirmed_at, "last_login_at": user.last_login_at,
            "last_activity_at": user.last_activity_at, "is_active_account": user.is_active_account}])
    enrolments = Table("einschreibungen", [("course_id", "Kurs-ID"), ("course", "Kurs"),
                                          ("enrolled_at", "Eingeschrieben am")], [
        {"course_id": e.course_id, "course": title, "enrolled_at": e.enrolled_at}
        for e, title in db.session.execute(select(Enrollment, Course.title).join(Course)
                                           .where(Enrollment.user_id == user.id).order_by(Enrollment.enrolled_at))])
    state = Table("modulstand", [
        ("course_id", "Kurs-ID"), ("module_id", "Modul-ID"), ("module", "Modul"),
        ("first_viewed_at", "Zuerst geöffnet"), ("last_viewed_at", "Zuletzt geöffnet"),
        ("done_at", "Als gelesen markiert"), ("best_quiz_score", "Bestes Selbstcheck-Ergebnis (%)"),
        ("quiz_passed_at", "Selbstcheck bestanden am"), ("workshop_attended_at", "Workshop besucht am"),
        ("completed_at", "Modul abgeschlossen am")], _progress_state(user))
    events = list(db.session.scalars(select(ProgressEvent).where(ProgressEvent.user_id == user.id)
                                     .order_by(ProgressEvent.created_at, ProgressEvent.id)))
    event_table = Table("lernereignisse", [
        ("id", "Nr."), ("created_at", "Zeitpunkt"), ("kind", "Ereignis"), ("course_id", "Kurs-ID"),
        ("module_id", "Modul-ID"), ("data", "Details")], [
        {"id": e.id, "created_at": e.created_at, "kind": e.kind, "course_id": e.course_id,
         "module_id": e.module_id, "data": e.data} for e in events])
    quizzes = Table("selbstchecks", [
        ("id", "Nr."), ("created_at", "Zeitpunkt"), ("module_id", "Modul-ID"), ("score", "Ergebnis (%)"),
        ("pass_mark", "Bestehensgrenze (%)"), ("passed", "Bestanden"), ("answers", "Ihre Antworten")], [
        {"id": e.id, "created_at": e.created_at, "module_id": e.module_id, "score": e.data.get("score"),
         "pass_mark": e.data.get("pass_mark"), "passed": e.data.get("passed"), "answers": e.data.get("answers")}
        for e in events if e.kind == "quiz_attempt"])
    workshops = Table("workshops", [
        ("workshop_id", "Workshop-Nr."), ("title", "Workshop"), ("starts_at", "Beginn"),
        ("recorded_at", "Teilnahme eingetragen am"), ("source", "Eingetragen über")], [
        {"workshop_id": w.id, "title": w.title, "starts_at": w.starts_at, "recorded_at": a.recorded_at,
         "source": a.source}
        for a, w in db.session.execute(select(WorkshopAttendance, Workshop).join(Workshop)
                                       .where(WorkshopAttendance.user_id == user.id)
                                       .order_by(WorkshopAttendance.recorded_at))])
    certificates = list(db.session.scalars(select(Certificate).where(Certificate.user_id == user.id)
                                           .order_by(Certificate.id)))
    titles = dict(db.session.execute(select(CertificateDefinition.id, CertificateDefinition.title)).all())
    certificate_table = Table("zertifikate", [
        ("number", "Nummer"), ("title", "Zertifikat"), ("issued_at", "Ausgestellt am"), ("status", "Status"),
        ("revoked_at", "Widerrufen am"), ("revocation_reason", "Begründung des Widerrufs"),
        ("verify_url", "Prüflink"), ("file", "Signierte Datei")], [
        {"number": c.number, "title": titles.get(c.definition_id, c.definition_id), "issued_at": c.issued_at,
         "status": c.status_label, "revoked_at": c.revoked_at, "revocation_reason": c.revocation_reason,
         "verify_url": (c.snapshot or {}).get("verify_url"), "file": f"zertifikate/{c.number}.json"}
        for c in certificates])
    documents = {f"zertifikate/{c.number}.json":
                 json.dumps(document_for(c), ensure_ascii=False, indent=2).encode("utf-8") for c in certificates}
    settings = notifications.settings_of(user)
    notification_table = Table("benachrichtigungen", [("kind", "Benachrichtigung"), ("label", "Beschreibung"),
                                                     ("enabled", "Eingeschaltet")], [
        {"kind": kind, "label": label, "enabled": settings[kind]} for kind, label in NOTIFICATION_KINDS.items()])
    logins = Table("anmeldungen", [("created_at", "Angemeldet am"), ("expires_at", "Läuft ab am"),
                                   ("is_remembered", "Angemeldet bleiben")], [
        {"created_at": s.created_at, "expires_at": s.expires_at, "is_remembered": s.is_remembered}
        for s in db.session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)
                                    .order_by(LoginSession.created_at))])
    mails = Table("e-mails", [("created_at", "Erstellt am"), ("kind", "Art"), ("recipient", "An"),
                              ("subject", "Betreff"), ("status", "Status"), ("sent_at", "Versendet am")], [
        {"created_at": m.created_at, "kind": m.kind, "recipient": m.recipient, "subject": m.subject,
         "status": m.status_label, "sent_at": m.sent_at}
        for m in db.session.scalars(select(OutgoingMail).where(OutgoingMail.user_id == user.id)
                                    .order_by(OutgoingMail.id))])
    log = Table("protokoll", [("created_at", "Zeitpunkt"), ("action", "Vorgang"), ("reason", "Begründung"),
                              ("data", "Details")], [
        {"created_at": e.created_at, "action": e.action, "reason": e.reason, "data": e.data}
        for e in db.session.scalars(select(AuditEvent).where(
            or_(AuditEvent.subject_user_id == user.id, AuditEvent.actor_id == user.id))
            .order_by(AuditEvent.created_at, AuditEvent.id))])
    readme = README.format(created=format_datetime(now), public_key_url=external_url("verify.public_key"))
    record_audit("data_exported", actor=user, target_type="user", target_id=str(user.id), subject_user_id=user.id)
    db.session.flush()
    return build_archive([profile, enrolments, state, event_table, quizzes, workshops, certificate_table,
                          notification_table, logins, mails, log], documents=documents, readme=readme)


def export_filename(user: User, now: datetime | None = None) -> str:
    """The download's file name: the date, no name or address (it may end up in shared folders)."""
    return f"nama-meine-daten-{(now or utcnow()):%Y-%m-%d}.zip"


# --- deletion --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeletionOutcome:
    """What a deletion did, without naming the person."""

    user_id: int
    certificates_kept: int


def delete_own_account(user: User, *, password: str) -> DeletionOutcome:
    """A learner deletes their account after entering the password again."""
    if user.role != "learner":
        raise ServiceError("Konten von Trainer*innen und des Programmbüros löscht das Programmbüro. Bitte wenden "
                           "Sie sich dorthin.", english="only learner accounts can be deleted by their holder")
    if not check_password(user, password or ""):
        raise ServiceError("Das Passwort stimmt nicht. Ihr Konto wurde nicht gelöscht.", "password",
                           english="wrong password")
    return erase_account(user, by="self")


def _anonymise_certificate(certificate: Certificate) -> None:
    """Keep what the verification link needs (number, title, date, status); drop the holder and evidence."""
    snapshot = certificate.snapshot or {}
    certificate.snapshot = {
        "version": snapshot.get("version"),
        "number": certificate.number,
        "verification_code": certificate.verification_code,
        "verify_url": snapshot.get("verify_url"),
        "certificate": snapshot.get("certificate", {}),
        "issuer": snapshot.get("issuer", {}),
        "issued_at": snapshot.get("issued_at") or certificate.issued_at.isoformat(),
        "grounds": snapshot.get("grounds", certificate.grounds),
        "supersedes": snapshot.get("supersedes"),
        "holder_deleted": True,
    }
    certificate.signature = ""
    certificate.revocation_reason = None
    certificate.seen_at = None
    certificate.user_id = None


def _identities(user: User, events: list[AuditEvent]) -> set[str]:
    """Every name and address the person had, as far as the platform recorded them."""
    found = {user.name, user.email}
    for event in events:
        if event.action in IDENTITY_ACTIONS and isinstance(event.data, dict):
            for key in IDENTITY_KEYS:
                value = event.data.get(key)
                if isinstance(value, dict):
                    found.update(v for v in (value.get("from"), value.get("to")) if isinstance(v, str))
                elif isinstance(value, str):
                    found.add(value)
    return {text.strip().lower() for text in found if text and len(text.strip()) >= 3}


def _redact(value: Any, identities: set[str]) -> Any:
    if isinstance(value, str):
        lowered = value.lower()
        return REDACTED if any(identity in lowered for identity in identities) else value
    if isinstance(value, dict):
        return {key: _redact(item, identities) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item, identities) for item in value]
    return value


def _scrub_audit_log(user: User) -> None:
    """Remove the person's names and addresses from the audit entries about or by them.

    The audit log is append-only for the application (models.base refuses ORM changes); erasure
    under Art. 17 DSGVO is the one deliberate exception, done here with direct UPDATEs that change
    only the texts naming the person – what happened and when stays.
    """
    events = list(db.session.scalars(select(AuditEvent).where(
        or_(AuditEvent.subject_user_id == user.id, AuditEvent.actor_id == user.id))))
    identities = _identities(user, events)
    for event in events:
        values = {"data": _redact(event.data or {}, identities), "reason": _redact(event.reason or "", identities)}
        if event.actor_id == user.id:
            values["actor_label"] = DELETED_ACTOR
        else:
            values["actor_label"] = _redact(event.actor_label or "", identities)
        table = AuditEvent.__table__  # Core, not the ORM: the append-only guard stays in force elsewhere
        db.session.execute(table.update().where(table.c.id == event.id).values(**values))
        db.session.expire(event)


def erase_account(user: User, *, by: str, rule: str = "") -> DeletionOutcome:
    """Delete the account and everything personal about it (see the module docstring for the rule).

    ``by`` is "self" (the learner), or "retention" (``purge-inactive``, ``rule`` says which).
    """
    user_id = user.id
    certificates = list(db.session.scalars(select(Certificate).where(Certificate.user_id == user_id)))
    for certificate in certificates:
        _anonymise_certificate(certificate)
    # Stored PDFs carry the holder's name; the anonymous record has no PDF.
    db.session.execute(delete(CertificatePdf).where(CertificatePdf.certificate_id.in_([c.id for c in certificates])))
    db.session.flush()
    _scrub_audit_log(user)
    db.session.delete(user)  # enrolments, progress, attendance, sessions, mail, settings follow (ON DELETE)
    db.session.flush()
    record_audit("account_deleted", actor_label="Teilnehmer*in selbst" if by == "self" else "Aufbewahrungsregel",
                 target_type="user", target_id=str(user_id),
                 data={"by": by, "rule": rule, "certificates_kept_anonymous": len(certificates)})
    db.session.flush()
    return DeletionOutcome(user_id, len(certificates))


# --- retention ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PurgeCandidate:
    """An account the retention rule would delete now, and why."""

    user: User
    reason: str  # German, for the office page
    english: str  # for the command line
    last_used_at: datetime

    @property
    def user_id(self) -> int:
        """The account's number (still known after the row was deleted)."""
        return self.user.id

    @property
    def email(self) -> str:
        """The account's address (for the dry run only)."""
        return self.user.email


def parse_age(text: str) -> timedelta:
    """``36m`` (months, counted as 30 days), ``30d`` or ``3y`` as a timedelta; ValueError otherwise."""
    text = (text or "").strip().lower()
    units = {"d": 1, "m": 30, "y": 365}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit() or int(text[:-1]) < 1:
        raise ValueError("give an age like 36m (months), 30d (days) or 3y (years)")
    return timedelta(days=int(text[:-1]) * units[text[-1]])


def purge_candidates(*, inactive_for: timedelta, unconfirmed_for: timedelta,
                     now: datetime | None = None) -> list[PurgeCandidate]:
    """Learner accounts that are unconfirmed for too long, or unused (no login, no learning) for too long."""
    now = now or utcnow()
    last_used = func.coalesce(User.last_login_at, User.created_at)
    rows = db.session.scalars(select(User).where(User.role == "learner", or_(
        and_(User.email_confirmed_at.is_(None), User.created_at < now - unconfirmed_for),
        and_(last_used < now - inactive_for,
             or_(User.last_activity_at.is_(None), User.last_activity_at < now - inactive_for)),
    )).order_by(User.id)).all()
    candidates = []
    for user in rows:
        used = max(d for d in (user.created_at, user.last_login_at, user.last_activity_at) if d is not None)
        if user.email_confirmed_at is None and user.created_at < now - unconfirmed_for:
            candidates.append(PurgeCandidate(user, f"E-Mail-Adresse seit über {unconfirmed_for.days} Tagen "
                                                   "nicht bestätigt",
                                             f"unconfirmed for more than {unconfirmed_for.days} days", used))
        else:
            candidates.append(PurgeCandidate(user, f"seit über {inactive_for.days // 30} Monaten weder angemeldet "
                                                   "noch aktiv",
                                             f"unused for more than {inactive_for.days} days", used))
    return candidates


def purge(*, inactive_for: timedelta, unconfirmed_for: timedelta, now: datetime | None = None) -> list[PurgeCandidate]:
    """Delete every account :func:`purge_candidates` names (same rule as deleting one's own account)
    and forget expired login sessions. Returns what was deleted."""
    candidates = purge_candidates(inactive_for=inactive_for, unconfirmed_for=unconfirmed_for, now=now)
    for candidate in candidates:
        erase_account(candidate.user, by="retention", rule=candidate.english)
    sessions.purge_expired(now=now)
    db.session.flush()
    return candidates
