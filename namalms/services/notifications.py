"""E-mail notifications for learners, each switchable in the profile (all on until switched off).

- certificate issued (with the verification link) and revoked (with the reason): called by
  :mod:`namalms.services.certificates` when it happens, in the same unit of work;
- workshop scheduled, changed or cancelled (with the .ics attached): called by
  :mod:`namalms.services.workshops`;
- a reminder the day before a workshop: :func:`send_due_reminders`, run by
  ``flask --app namalms notifications send-due`` (cron); idempotent through the mail queue's
  dedupe key, so running it every hour sends each reminder once.

Only confirmed addresses of active learners receive notifications.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, select

from namalms import formatting
from namalms.extensions import db
from namalms.formats.mail_message import Attachment
from namalms.links import external_url, public_host
from namalms.models import (
    NOTIFICATION_KINDS, REVOCATION_CATEGORIES, Certificate, Enrollment, ModuleProgress, NotificationOptOut, User,
    Workshop,
)
from namalms.models.base import utcnow
from namalms.services import mail

WORKSHOP_EVENTS = {
    "scheduled": ("Neuer Workshop", "für Ihren Kurs wurde ein Workshop angesetzt:"),
    "changed": ("Workshop geändert", "ein Workshop Ihres Kurses wurde geändert:"),
    "cancelled": ("Workshop abgesagt", "ein Workshop Ihres Kurses wurde abgesagt:"),
    "reminder": ("Erinnerung: Workshop morgen", "zur Erinnerung – morgen findet dieser Workshop statt:"),
}


# --- settings ------------------------------------------------------------------------------------------

def settings_of(user: User) -> dict[str, bool]:
    """Every notification kind and whether it is on for ``user``."""
    off = set(db.session.scalars(select(NotificationOptOut.kind).where(NotificationOptOut.user_id == user.id)))
    return {kind: kind not in off for kind in NOTIFICATION_KINDS}


def update_settings(user: User, enabled: set[str]) -> dict[str, bool]:
    """Switch the notifications in ``enabled`` on and all others off; returns the new settings."""
    db.session.execute(delete(NotificationOptOut).where(NotificationOptOut.user_id == user.id))
    for kind in NOTIFICATION_KINDS:
        if kind not in enabled:
            db.session.add(NotificationOptOut(user_id=user.id, kind=kind, created_at=utcnow()))
    db.session.flush()
    return settings_of(user)


def wants(user: User | None, kind: str) -> bool:
    """Whether ``user`` gets this notification: an active learner, confirmed address, not switched off."""
    if user is None or user.role != "learner" or not user.is_active_account or not user.is_email_confirmed:
        return False
    return db.session.scalar(select(NotificationOptOut.kind).where(
        NotificationOptOut.user_id == user.id, NotificationOptOut.kind == kind)) is None


# --- certificates --------------------------------------------------------------------------------------

def certificate_issued(certificate: Certificate, user: User) -> None:
    """Tell the holder a certificate was issued, with its page and its public verification link."""
    if not wants(user, "certificate_issued"):
        return
    snapshot = certificate.snapshot or {}
    title = snapshot.get("certificate", {}).get("title", "")
    mail.queue_mail("certificate_issued", to=user.email, name=user.name, user=user,
                    subject=f"Zertifikat ausgestellt: {title}", template="certificate_issued", context={
                        "title": title, "number": certificate.number, "supersedes": snapshot.get("supersedes"),
                        "certificate_url": external_url("learner.certificate", number=certificate.number),
                        "verify_url": snapshot.get("verify_url", "")})


def certificate_revoked(certificate: Certificate) -> None:
    """Tell the holder a certificate was revoked, with the category and the office's reason."""
    user = db.session.get(User, certificate.user_id) if certificate.user_id else None
    if not wants(user, "certificate_revoked"):
        return
    title = (certificate.snapshot or {}).get("certificate", {}).get("title", "")
    mail.queue_mail("certificate_revoked", to=user.email, name=user.name, user=user,
                    subject=f"Zertifikat widerrufen: {title}", template="certificate_revoked", context={
                        "title": title, "number": certificate.number,
                        "category": REVOCATION_CATEGORIES.get(certificate.revocation_category or "", ""),
                        "reason": certificate.revocation_reason or "",
                        "verify_url": (certificate.snapshot or {}).get("verify_url", "")})


# --- workshops -----------------------------------------------------------------------------------------

def workshop_audience(workshop: Workshop, kind: str) -> list[User]:
    """Learners the workshop concerns and who want ``kind``: enrolled in its course, and for a module
    workshop not yet recorded as having attended that module's workshop."""
    query = (select(User).join(Enrollment, Enrollment.user_id == User.id)
             .where(Enrollment.course_id == workshop.course_id, User.role == "learner",
                    User.is_active_account.is_(True), User.email_confirmed_at.is_not(None))
             .outerjoin(NotificationOptOut, and_(NotificationOptOut.user_id == User.id,
                                                 NotificationOptOut.kind == kind))
             .where(NotificationOptOut.user_id.is_(None)))
    if workshop.module_id:
        attended = select(ModuleProgress.user_id).where(ModuleProgress.module_id == workshop.module_id,
                                                        ModuleProgress.workshop_attended_at.is_not(None))
        query = query.where(User.id.not_in(attended))
    return list(db.session.scalars(query.order_by(User.id)))


def _workshop_context(workshop: Workshop, event: str, *, changed=(), reason: str = "") -> tuple[str, dict, Attachment]:
    from namalms.services.workshops import calendar_for  # workshops calls this module

    if workshop.module_id:
        page_url = external_url("learner.module", module_id=workshop.module_id)
    else:
        page_url = external_url("learner.course", course_id=workshop.course_id)
    calendar = calendar_for(workshop, host=public_host(), page_url=page_url)
    label, intro = WORKSHOP_EVENTS[event]
    subject = f"{label}: {workshop.title} am {formatting.format_date(workshop.starts_at)}"
    context = {"intro": intro, "title": workshop.title, "when": formatting.format_span(workshop.starts_at,
                                                                                       workshop.ends_at),
               "format_label": workshop.format_label, "location": workshop.location,
               "is_online": workshop.format == "online", "reason": reason, "changed": list(changed),
               "cancelled": workshop.is_cancelled, "page_url": page_url}
    attachment = Attachment(f"nama-workshop-{workshop.id}.ics", "text/calendar", calendar.encode("utf-8"),
                            (("method", "PUBLISH"), ("charset", "utf-8")))
    return subject, context, attachment


def workshop_event(workshop: Workshop, event: str, *, changed=(), reason: str = "") -> int:
    """Mail the workshop's learners that it was scheduled, changed or cancelled; returns how many."""
    if event not in ("scheduled", "changed", "cancelled"):
        raise ValueError(f"unknown workshop event {event!r}")
    if event != "cancelled" and workshop.ends_at <= utcnow():
        return 0  # a past workshop entered afterwards (for attendance) concerns nobody's calendar
    audience = workshop_audience(workshop, "workshop_changes")
    if not audience:
        return 0
    subject, context, attachment = _workshop_context(workshop, event, changed=changed, reason=reason)
    for user in audience:
        mail.queue_mail(f"workshop_{event}", to=user.email, name=user.name, user=user, subject=subject,
                        template="workshop", context=context, attachments=(attachment,))
    return len(audience)


def due_workshops(now: datetime | None = None) -> list[Workshop]:
    """Workshops a reminder is due for: not cancelled, starting between now and the end of tomorrow
    (Europe/Berlin), so a daily run at any hour – or a late one – reaches every workshop in time."""
    now = now or utcnow()
    tomorrow = formatting.to_local(now).date() + timedelta(days=1)
    until = formatting.local_midnight(tomorrow + timedelta(days=1))
    return list(db.session.scalars(select(Workshop).where(
        Workshop.is_cancelled.is_(False), Workshop.starts_at > now, Workshop.starts_at < until)
        .order_by(Workshop.starts_at, Workshop.id)))


def reminder_key(workshop: Workshop, user: User) -> str:
    """Once per workshop, start time and learner: a rescheduled workshop gets a new reminder."""
    return f"workshop-reminder:{workshop.id}:{workshop.starts_at.isoformat()}:{user.id}"


def send_due_reminders(*, now: datetime | None = None) -> list[tuple[Workshop, int]]:
    """Queue the day-before reminders that are due and not yet sent; (workshop, how many) each."""
    from namalms.models import OutgoingMail

    done = []
    for workshop in due_workshops(now):
        audience = workshop_audience(workshop, "workshop_reminder")
        prefix = f"workshop-reminder:{workshop.id}:{workshop.starts_at.isoformat()}:"
        sent = set(db.session.scalars(select(OutgoingMail.dedupe_key).where(OutgoingMail.dedupe_key.startswith(
            prefix, autoescape=True))))
        todo = [user for user in audience if reminder_key(workshop, user) not in sent]
        if not todo:
            continue
        subject, context, attachment = _workshop_context(workshop, "reminder")
        count = 0
        for user in todo:
            if mail.queue_mail("workshop_reminder", to=user.email, name=user.name, user=user, subject=subject,
                               template="workshop", context=context, attachments=(attachment,),
                               dedupe_key=reminder_key(workshop, user)) is not None:
                count += 1
        done.append((workshop, count))
    return done
