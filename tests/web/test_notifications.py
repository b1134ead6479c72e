"""E-mail notifications, each switchable in the profile: certificates issued and revoked, workshops
scheduled, changed and cancelled (with the .ics), and the reminder the day before."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from namalms.extensions import db
from namalms.formatting import local_midnight, to_local
from namalms.models import Certificate, CertificateDefinition, Course, NotificationOptOut, OutgoingMail, User
from namalms.models.base import utcnow
from namalms.services import notifications, progress
from namalms.services import workshops as workshop_service
from namalms.services.certificates import grant_certificate, revoke_certificate
from tests.web.test_workshops import FINAL_MODULE, form, local_day

pytestmark = pytest.mark.both_databases  # recipients and reminders are chosen in SQL


def enrolled(make_user, course_id="grundlagenkurs", **overrides) -> User:
    user = make_user("learner", **overrides)
    progress.enrol(user, db.session.get(Course, course_id))
    db.session.commit()
    return user


def opt_out(user: User, kind: str) -> None:
    db.session.add(NotificationOptOut(user_id=user.id, kind=kind))
    db.session.commit()


def schedule(actor, *, days=14, target=f"module:{FINAL_MODULE}", **overrides):
    draft = workshop_service.WorkshopDraft(**{**form(target=target, date=local_day(days)), **overrides})
    workshop = workshop_service.schedule_workshop(draft, actor=actor)
    db.session.commit()
    return workshop


def grant(user: User) -> Certificate:
    certificate = grant_certificate(db.session.get(User, user.id),
                                    db.session.get(CertificateDefinition, "zertifikat-grundlagenkurs"),
                                    reason="Anerkennung einer externen Qualifizierung", actor_label="Test")
    db.session.commit()
    return certificate


def ics_of(received) -> str:
    [attachment] = received.attachments()
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename().endswith(".ics")
    return attachment.get_payload(decode=True).decode("utf-8")


# --- certificates ------------------------------------------------------------------------------------

def test_an_issued_certificate_is_mailed_with_its_verification_link(app, smtp, make_user):
    learner = make_user("learner", name="Ömer Özdemir", email="oemer@example.org")
    certificate = grant(learner)
    [received] = smtp.to("oemer@example.org")
    assert received.subject == f"Zertifikat ausgestellt: {certificate.definition.title}"
    assert certificate.snapshot["verify_url"] in received.text  # the link printed on the certificate
    assert certificate.snapshot["verify_url"].endswith(f"/verify/{certificate.verification_code}")
    assert f"http://localhost/certificates/{certificate.number}" in received.text
    assert "Abschalten können Sie sie dort jederzeit: http://localhost/profile" in received.text


def test_a_revoked_certificate_is_mailed_with_the_reason(app, smtp, make_user):
    learner = make_user("learner", email="oemer@example.org")
    certificate = grant(learner)
    revoke_certificate(certificate, category="data", reason="Falscher Kreis angegeben", actor_label="Test")
    db.session.commit()
    received = smtp.to("oemer@example.org")[-1]
    assert received.subject == f"Zertifikat widerrufen: {certificate.definition.title}"
    assert "Fehlerhafte Angaben" in received.text and "Falscher Kreis angegeben" in received.text


def test_switched_off_notifications_are_not_sent(app, smtp, make_user):
    learner = make_user("learner", email="oemer@example.org")
    opt_out(learner, "certificate_issued")
    certificate = grant(learner)
    assert smtp.messages == []
    revoke_certificate(certificate, category="error", reason="Irrtum bei der Eingabe", actor_label="Test")
    db.session.commit()
    assert [m.subject for m in smtp.messages] == [f"Zertifikat widerrufen: {certificate.definition.title}"]


def test_the_profile_switches_notifications(client, smtp, make_user, auth):
    learner = make_user("learner")
    auth.login(learner.email)
    page = client.get("/profile").get_data(as_text=True)
    assert page.count('type="checkbox"') == 4 and page.count("checked") == 4
    client.post("/profile/notifications", data={"notify-certificate_revoked": "1", "notify-workshop_reminder": "1"})
    assert notifications.settings_of(learner) == {"certificate_issued": False, "certificate_revoked": True,
                                                  "workshop_changes": False, "workshop_reminder": True}
    page = client.get("/profile").get_data(as_text=True)
    assert page.count("checked") == 2


# --- workshops -----------------------------------------------------------------------------------------

def test_a_scheduled_workshop_is_mailed_to_its_learners_with_a_calendar_entry(app, smtp, make_user):
    trainer = make_user("trainer")
    anna = enrolled(make_user, name="Anna Ähre", email="anna@example.org")
    enrolled(make_user, email="stumm@example.org").id
    opt_out(db.session.scalar(select(User).where(User.email == "stumm@example.org")), "workshop_changes")
    enrolled(make_user, email="unbestaetigt@example.org", email_confirmed=False)
    enrolled(make_user, course_id="sonderkurs-strukturwandel", email="anderer-kurs@example.org")
    workshop = schedule(trainer)
    assert [m.recipients for m in smtp.messages] == [["anna@example.org"]]
    [received] = smtp.to(anna.email)
    assert received.subject.startswith("Neuer Workshop: Abschlussworkshop Grundlagenkurs am ")
    assert "https://meet.example.org/abschluss" in received.text
    calendar = ics_of(received)
    assert f"UID:workshop-{workshop.id}@" in calendar and "STATUS:CONFIRMED" in calendar
    assert "SEQUENCE:0" in calendar


def test_a_change_and_a_cancellation_update_the_calendar_entry(app, smtp, make_user):
    trainer = make_user("trainer")
    anna = enrolled(make_user, email="anna@example.org")
    workshop = schedule(trainer)
    draft = workshop_service.draft_from(workshop)
    draft.start_time = "09:00"
    workshop_service.update_workshop(workshop, draft, actor=trainer)
    db.session.commit()
    changed = smtp.to(anna.email)[-1]
    assert changed.subject.startswith("Workshop geändert:") and "Geändert: Beginn" in changed.text
    assert "SEQUENCE:1" in ics_of(changed)

    workshop_service.cancel_workshop(workshop, actor=trainer, reason="Referentin erkrankt")
    db.session.commit()
    cancelled = smtp.to(anna.email)[-1]
    assert cancelled.subject.startswith("Workshop abgesagt:") and "Referentin erkrankt" in cancelled.text
    calendar = ics_of(cancelled)
    assert "STATUS:CANCELLED" in calendar and "SEQUENCE:2" in calendar


def test_a_description_change_alone_mails_nobody(app, smtp, make_user):
    trainer = make_user("trainer")
    enrolled(make_user, email="anna@example.org")
    workshop = schedule(trainer)
    draft = workshop_service.draft_from(workshop)
    draft.description = "Neue Beschreibung."
    workshop_service.update_workshop(workshop, draft, actor=trainer)
    db.session.commit()
    assert len(smtp.messages) == 1


def test_learners_who_attended_the_module_workshop_are_not_mailed_about_new_dates(app, smtp, make_user):
    from namalms.models import Module

    trainer = make_user("trainer")
    done = enrolled(make_user, email="fertig@example.org")
    progress.record_workshop_attendance(done, db.session.get(Module, FINAL_MODULE), recorded_by=trainer)
    db.session.commit()
    enrolled(make_user, email="offen@example.org")
    schedule(trainer)
    assert [m.recipients for m in smtp.messages] == [["offen@example.org"]]


def test_reminders_go_out_the_day_before_once(app, smtp, make_user, runner):
    trainer = make_user("trainer")
    anna = enrolled(make_user, email="anna@example.org")
    schedule(trainer, days=1, start_time="10:00", end_time="12:00")
    schedule(trainer, days=3, start_time="10:00", end_time="12:00", title="Später")
    smtp.clear()
    first = runner.invoke(args=["notifications", "send-due"])
    assert first.exit_code == 0, first.output
    assert "1 reminder(s) queued" in first.output
    [received] = smtp.to(anna.email)
    assert received.subject.startswith("Erinnerung: Workshop morgen: Abschlussworkshop Grundlagenkurs")
    assert "morgen findet dieser Workshop statt" in received.text
    assert ics_of(received)
    second = runner.invoke(args=["notifications", "send-due"])
    assert "0 reminder(s) queued" in second.output and len(smtp.messages) == 1


def test_a_switched_off_reminder_and_a_cancelled_workshop_send_nothing(app, smtp, make_user, runner):
    trainer = make_user("trainer")
    anna = enrolled(make_user, email="anna@example.org")
    opt_out(anna, "workshop_reminder")
    bert = enrolled(make_user, email="bert@example.org")
    workshop = schedule(trainer, days=1, start_time="10:00", end_time="12:00")
    smtp.clear()
    runner.invoke(args=["notifications", "send-due"])
    assert smtp.to(anna.email) == [] and len(smtp.to(bert.email)) == 1
    workshop_service.cancel_workshop(workshop, actor=trainer)
    db.session.commit()
    smtp.clear()
    assert "0 reminder(s)" in runner.invoke(args=["notifications", "send-due"]).output


def test_due_workshops_are_those_starting_by_the_end_of_tomorrow_in_berlin(app, make_user):
    trainer = make_user("trainer")
    now = utcnow()  # one "now" for the dates and the question, so midnight cannot fall in between
    today = to_local(now).date()
    soon = schedule(trainer, date=(today + timedelta(days=1)).isoformat(), start_time="23:00", end_time="23:30")
    later = schedule(trainer, date=(today + timedelta(days=2)).isoformat(), start_time="00:30", end_time="01:00")
    due = notifications.due_workshops(now)
    assert soon in due and later not in due
    end_of_tomorrow = local_midnight(to_local(now).date() + timedelta(days=2))
    assert all(w.starts_at < end_of_tomorrow for w in due)


def test_a_rescheduled_workshop_gets_a_new_reminder(app, smtp, make_user, runner):
    trainer = make_user("trainer")
    anna = enrolled(make_user, email="anna@example.org")
    workshop = schedule(trainer, days=1, start_time="10:00", end_time="12:00")
    runner.invoke(args=["notifications", "send-due"])
    draft = workshop_service.draft_from(workshop)
    draft.start_time = "11:00"
    workshop_service.update_workshop(workshop, draft, actor=trainer)
    db.session.commit()
    runner.invoke(args=["notifications", "send-due"])
    reminders = db.session.scalars(select(OutgoingMail.dedupe_key).where(OutgoingMail.kind == "workshop_reminder")
                                   ).all()
    assert len(reminders) == 2 and len({key for key in reminders}) == 2
    assert sum(m.subject.startswith("Erinnerung") for m in smtp.to(anna.email)) == 2
