"""Workshops: scheduling, what learners see, attendance by checklist and by CSV list."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from namalms.demo import complete_module
from namalms.formatting import to_local as utc_to_local
from namalms.extensions import db
from namalms.models import (
    AuditEvent, Certificate, Course, Module, ModuleProgress, User, Workshop, WorkshopAttendance,
)
from namalms.models.base import utcnow
from namalms.services import progress
from namalms.services import workshops as service
from namalms.services.certificates import load_facts

FINAL_MODULE = "gk-verwaltung-verankern"  # the Grundlagenkurs module with the closing workshop


# --- helpers ------------------------------------------------------------------------------------------

@pytest.fixture
def trainer(make_user, auth):
    user = make_user("trainer", name="Tobias Trainer")
    auth.login(user.email)
    return user


def local_day(days: int) -> str:
    return utc_to_local(utcnow() + timedelta(days=days)).strftime("%Y-%m-%d")


def form(**overrides) -> dict:
    data = {"target": f"module:{FINAL_MODULE}", "title": "Abschlussworkshop Grundlagenkurs",
            "date": local_day(14), "start_time": "10:00", "end_time": "12:30", "end_date": "", "duration": "",
            "format": "online", "location": "https://meet.example.org/abschluss", "capacity": "20",
            "description": "Wir stellen unsere Fahrpläne vor."}
    data.update(overrides)
    return data


def make_workshop(actor, *, days=14, module_id=FINAL_MODULE, course_id="grundlagenkurs", **overrides):
    """A workshop `days` from now (negative: already held)."""
    target = f"module:{module_id}" if module_id else f"course:{course_id}"
    draft = service.WorkshopDraft(**{**form(target=target, date=local_day(days), start_time="00:05",
                                            end_time="23:55"), **overrides})
    workshop = service.schedule_workshop(draft, actor=actor)
    db.session.commit()
    return workshop


def learner_one_workshop_short(make_user, **overrides) -> User:
    """Enrolled in the Grundlagenkurs, everything done except the closing workshop."""
    user = make_user("learner", **overrides)
    course = db.session.get(Course, "grundlagenkurs")
    progress.enrol(user, course)
    modules = [m for m in course.modules if not m.is_retired]
    for module in modules[:-1]:
        complete_module(user, module, utcnow() - timedelta(days=30))
    last = modules[-1]
    assert last.id == FINAL_MODULE and last.has_workshop
    progress.mark_done(user, last)
    quiz = progress.quiz_of(last)
    progress.submit_quiz(user, last, {q.id: {i for i, o in enumerate(q.options) if o.is_correct}
                                      for q in quiz.questions})
    db.session.commit()
    return user


def enrolled(make_user, course_id="grundlagenkurs", **overrides) -> User:
    user = make_user("learner", **overrides)
    progress.enrol(user, db.session.get(Course, course_id))
    db.session.commit()
    return user


def certificates_of(user):
    return db.session.scalars(select(Certificate).where(Certificate.user_id == user.id)).all()


def attendance_ids(workshop):
    return set(db.session.scalars(select(WorkshopAttendance.user_id)
                                  .where(WorkshopAttendance.workshop_id == workshop.id)))


def audit_actions(target_id=None):
    query = select(AuditEvent.action).order_by(AuditEvent.id)
    if target_id is not None:
        query = query.where(AuditEvent.target_id == str(target_id))
    return list(db.session.scalars(query))


def text(response) -> str:
    return response.get_data(as_text=True)


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden field {name}"
    return match.group(1)


def upload(client, workshop, content: bytes, filename="teilnahme.csv"):
    import io
    return client.post(f"/trainer/workshops/{workshop.id}/import",
                       data={"file": (io.BytesIO(content), filename)}, content_type="multipart/form-data")


def confirm(client, workshop, page: str):
    return client.post(f"/trainer/workshops/{workshop.id}/import/confirm", data={
        name: hidden(page, name) for name in ("sha256", "expected", "filename", "content")})


# --- scheduling ---------------------------------------------------------------------------------------

def test_trainer_schedules_a_workshop_in_berlin_time(client, trainer):
    response = client.post("/trainer/workshops/new", data=form(date="2030-07-02", end_time="12:30"))
    assert response.status_code == 302
    workshop = db.session.scalar(select(Workshop))
    assert workshop.module_id == FINAL_MODULE and workshop.course_id == "grundlagenkurs"
    # 10:00 in July is summer time (UTC+2)
    assert (workshop.starts_at.hour, workshop.ends_at.hour, workshop.ends_at.minute) == (8, 10, 30)
    assert workshop.capacity == 20 and workshop.created_by_id == trainer.id
    assert audit_actions(workshop.id) == ["workshop_scheduled"]
    page = text(client.get("/trainer/workshops"))
    assert "Dienstag, 02.07.2030, 10:00–12:30 Uhr" in page and "Abschlussworkshop Grundlagenkurs" in page


def test_winter_date_is_stored_with_utc_plus_one_and_shown_back_as_entered(client, trainer):
    client.post("/trainer/workshops/new", data=form(date="14.01.2031", start_time="9.30", end_time="",
                                                    duration="90"))
    workshop = db.session.scalar(select(Workshop))
    assert (workshop.starts_at.hour, workshop.starts_at.minute) == (8, 30)
    assert workshop.ends_at - workshop.starts_at == timedelta(minutes=90)
    edit = text(client.get(f"/trainer/workshops/{workshop.id}/edit"))
    assert 'value="2031-01-14"' in edit and 'value="09:30"' in edit and 'value="11:00"' in edit


def test_empty_title_takes_the_modules_workshop_title(client, trainer):
    client.post("/trainer/workshops/new", data=form(title=""))
    assert db.session.scalar(select(Workshop.title)) == db.session.get(Module, FINAL_MODULE).workshop_title


def test_course_level_workshop(client, trainer):
    client.post("/trainer/workshops/new", data=form(
        target="course:sonderkurs-strukturwandel", title="Vernetzungstreffen", format="praesenz",
        location="Zeche Zollverein, Essen"))
    workshop = db.session.scalar(select(Workshop))
    assert workshop.module_id is None and workshop.course_id == "sonderkurs-strukturwandel"
    assert workshop.format == "praesenz"


@pytest.mark.parametrize("overrides, message", [
    ({"date": ""}, "Bitte geben Sie das Datum an."),
    ({"date": "31.02.2031"}, "Den Tag „31.02.2031“ gibt es nicht."),
    ({"start_time": "25:00"}, "als SS:MM"),
    ({"end_time": "09:00"}, "Das Ende muss nach dem Beginn liegen."),
    ({"end_time": "", "duration": ""}, "Endzeit oder eine Dauer"),
    ({"duration": "90"}, "entweder eine Endzeit oder eine Dauer"),
    ({"date": "2031-03-30", "start_time": "02:30", "end_time": "04:00"}, "gibt es am 30.03.2031 nicht"),
    ({"format": "praesenz", "location": ""}, "Ort des Präsenzworkshops"),
    ({"location": "javascript:alert(1)"}, "https://"),
    ({"capacity": "0"}, "Zahl der Plätze"),
    ({"capacity": "zwanzig"}, "Zahl der Plätze"),
    ({"target": "module:gk-agenda-2030"}, "sieht keinen Workshop vor"),
    ({"target": "course:gibt-es-nicht"}, "Bitte wählen Sie ein Modul oder einen Kurs."),
    ({"end_date": "2031-01-20", "date": "2031-01-10"}, "höchstens 7 Tage"),
])
def test_bad_schedule_input_gets_a_german_message_and_saves_nothing(client, trainer, overrides, message):
    response = client.post("/trainer/workshops/new", data=form(**overrides))
    assert response.status_code == 422
    page = text(response)
    assert message in page and 'role="alert"' in page
    assert db.session.scalar(select(func.count()).select_from(Workshop)) == 0
    assert audit_actions() == []


def test_edit_moves_the_workshop_and_is_audited(client, trainer):
    workshop = make_workshop(trainer, days=10)
    response = client.post(f"/trainer/workshops/{workshop.id}/edit",
                           data=form(date="2031-05-05", start_time="14:00", end_time="16:00", capacity=""))
    assert response.status_code == 302
    db.session.refresh(workshop)
    assert (workshop.starts_at.hour, workshop.capacity) == (12, None)
    assert "Geändert: Beginn, Ende, Plätze" in text(client.get(response.headers["Location"]))
    assert audit_actions(workshop.id) == ["workshop_scheduled", "workshop_updated"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "workshop_updated"))
    assert event.actor_id == trainer.id and "starts_at" in event.data["after"] and "capacity" in event.data["before"]


def test_saving_an_unchanged_workshop_changes_nothing(client, trainer):
    workshop = make_workshop(trainer)
    draft = service.draft_from(workshop)
    response = client.post(f"/trainer/workshops/{workshop.id}/edit", data=vars(draft), follow_redirects=True)
    assert "Keine Änderungen" in text(response)
    assert audit_actions(workshop.id) == ["workshop_scheduled"]


def test_cancel_hides_the_workshop_from_learners_and_is_audited(client, trainer, make_user, auth):
    workshop = make_workshop(trainer, title="Abschlussrunde im Herbst")
    response = client.post(f"/trainer/workshops/{workshop.id}/cancel", data={"reason": "Referentin erkrankt"})
    assert response.status_code == 302
    db.session.refresh(workshop)
    assert workshop.is_cancelled
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "workshop_cancelled"))
    assert event.reason == "Referentin erkrankt"
    assert "abgesagt" in text(client.get("/trainer/workshops"))
    assert client.get(f"/trainer/workshops/{workshop.id}/edit").status_code == 302  # no editing any more
    learner = enrolled(make_user)
    auth.login(learner.email)
    assert workshop.title not in text(client.get("/courses/grundlagenkurs"))
    ics = text(client.get(f"/workshops/{workshop.id}.ics"))
    assert "STATUS:CANCELLED" in ics and "SEQUENCE:1" in ics


def test_a_workshop_with_recorded_attendance_cannot_be_cancelled_or_moved(client, trainer, make_user):
    learner = enrolled(make_user)
    workshop = make_workshop(trainer, days=-1)
    client.post(f"/trainer/workshops/{workshop.id}/attendance", data={"user_id": [learner.id]})
    page = text(client.post(f"/trainer/workshops/{workshop.id}/cancel", follow_redirects=True))
    assert "nicht mehr abgesagt" in page
    response = client.post(f"/trainer/workshops/{workshop.id}/edit",
                           data=form(target="course:grundlagenkurs", date=local_day(-1)))
    assert response.status_code == 422 and "keinem anderen Modul" in text(response)
    db.session.refresh(workshop)
    assert not workshop.is_cancelled and workshop.module_id == FINAL_MODULE


TRAINER_GETS = ["/trainer/workshops", "/trainer/workshops/new", "/trainer/workshops/{id}",
                "/trainer/workshops/{id}/edit", "/trainer/workshops/{id}/cancel"]
TRAINER_POSTS = ["/trainer/workshops/new", "/trainer/workshops/{id}/edit", "/trainer/workshops/{id}/cancel",
                 "/trainer/workshops/{id}/attendance", "/trainer/workshops/{id}/import",
                 "/trainer/workshops/{id}/import/confirm"]


@pytest.mark.parametrize("method, url", [("get", u) for u in TRAINER_GETS] + [("post", u) for u in TRAINER_POSTS])
@pytest.mark.parametrize("role", [None, "learner", "trainer", "admin"])
def test_only_trainers_and_admins_manage_workshops(client, make_user, auth, role, method, url):
    workshop = make_workshop(make_user("trainer"))
    if role:
        auth.login(make_user(role).email)
    response = getattr(client, method)(url.format(id=workshop.id))
    if role is None:
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    elif role == "learner":
        assert response.status_code == 403
    else:
        assert response.status_code in (200, 302, 409, 422)
    if role in (None, "learner"):
        db.session.refresh(workshop)
        assert not workshop.is_cancelled and audit_actions() == ["workshop_scheduled"]


def test_unknown_workshop_is_404(client, trainer):
    assert client.get("/trainer/workshops/999999").status_code == 404


# --- what learners see --------------------------------------------------------------------------------

def test_enrolled_learner_sees_upcoming_workshop_and_downloads_the_calendar_entry(client, make_user, auth):
    trainer = make_user("trainer")
    workshop = make_workshop(trainer, days=20, title="Abschluss; Fahrpläne, Ideen", start_time="10:00",
                             end_time="12:30")
    make_workshop(trainer, days=-3, title="Vergangener Termin")
    cancelled = make_workshop(trainer, days=5, title="Abgesagter Termin")
    service.cancel_workshop(cancelled, actor=trainer)
    db.session.commit()
    learner = enrolled(make_user)
    auth.login(learner.email)

    module_page = text(client.get(f"/modules/{FINAL_MODULE}"))
    assert "Workshop-Termine" in module_page and "Abschluss; Fahrpläne, Ideen" in module_page
    assert "10:00–12:30 Uhr" in module_page
    assert "https://meet.example.org/abschluss" in module_page and "20 Plätze" in module_page
    assert "Vergangener Termin" not in module_page and "Abgesagter Termin" not in module_page
    assert f"/workshops/{workshop.id}.ics" in module_page
    course_page = text(client.get("/courses/grundlagenkurs"))
    assert "Anstehende Workshops" in course_page and "Abschluss; Fahrpläne, Ideen" in course_page

    response = client.get(f"/workshops/{workshop.id}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    body = text(response)
    unfolded = body.replace("\r\n ", "")
    assert body.startswith("BEGIN:VCALENDAR\r\n") and "BEGIN:VEVENT\r\n" in body
    assert f"UID:workshop-{workshop.id}@" in body
    assert re.search(r"DTSTART:\d{8}T\d{6}Z\r\n", body) and re.search(r"DTSTAMP:\d{8}T\d{6}Z\r\n", body)
    assert f"DTSTART:{workshop.starts_at:%Y%m%dT%H%M%S}Z" in body
    assert "SUMMARY:NaMa NRW: Abschluss\\; Fahrpläne\\, Ideen" in unfolded
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))


def test_visitors_see_dates_but_not_the_meeting_link(client, make_user, auth):
    workshop = make_workshop(make_user("trainer"), days=9)
    page = text(client.get("/courses/grundlagenkurs"))
    assert workshop.title in page and "nach der Einschreibung" in page
    assert "meet.example.org" not in page and ".ics" not in page
    anonymous = client.get(f"/workshops/{workshop.id}.ics")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    other = make_user("learner")
    auth.login(other.email)
    assert client.get(f"/workshops/{workshop.id}.ics").status_code == 403
    assert "meet.example.org" not in text(client.get("/courses/grundlagenkurs"))


def test_module_without_a_date_says_none_is_announced_yet(client, learner):
    progress.enrol(learner, db.session.get(Course, "grundlagenkurs"))
    db.session.commit()
    assert "noch kein Termin angekündigt" in text(client.get(f"/modules/{FINAL_MODULE}"))
    assert "Workshop-Termine" not in text(client.get("/modules/gk-agenda-2030"))


# --- attendance by checklist --------------------------------------------------------------------------

def test_checklist_attendance_completes_the_final_module_and_issues_the_certificate(client, trainer, make_user):
    almost = learner_one_workshop_short(make_user, name="Jana Jäger")
    beginner = enrolled(make_user, name="Bernd Beginner")
    workshop = make_workshop(trainer, days=-1)
    assert certificates_of(almost) == []
    page = text(client.get(f"/trainer/workshops/{workshop.id}"))
    assert "Jana Jäger" in page and "Bernd Beginner" in page and "Teilnahme speichern" in page

    response = client.post(f"/trainer/workshops/{workshop.id}/attendance",
                           data={"user_id": [str(almost.id), str(beginner.id)]}, follow_redirects=True)
    message = text(response)
    assert "2 Teilnahmen eingetragen" in message
    assert "abgeschlossen: Jana Jäger." in message  # only she completed the module
    assert "Zertifikat erhalten: Jana Jäger (Zertifikat Grundlagenkurs" in message
    [certificate] = certificates_of(almost)
    assert certificate.definition_id == "zertifikat-grundlagenkurs"
    row = db.session.scalar(select(ModuleProgress).where(ModuleProgress.user_id == almost.id,
                                                         ModuleProgress.module_id == FINAL_MODULE))
    assert row.completed_at is not None and row.workshop_attended_at is not None
    assert certificates_of(beginner) == []
    assert attendance_ids(workshop) == {almost.id, beginner.id}
    recorded = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "workshop_attendance_recorded")).all()
    assert {e.subject_user_id for e in recorded} == {almost.id, beginner.id}
    assert all(e.actor_id == trainer.id and e.data["source"] == "checklist" for e in recorded)
    assert "certificate_issued" in audit_actions()


def test_recorded_attendance_is_shown_ticked_with_date_and_who_recorded_it(client, trainer, make_user):
    learner = enrolled(make_user, name="Anna Achterberg")
    workshop = make_workshop(trainer, days=-1)
    client.post(f"/trainer/workshops/{workshop.id}/attendance", data={"user_id": [learner.id]})
    page = text(client.get(f"/trainer/workshops/{workshop.id}"))
    assert re.search(rf'id="u-{learner.id}" name="user_id" value="{learner.id}"\s+checked disabled', page)
    assert "von Tobias Trainer (Checkliste)" in page
    assert "Korrekturen übernimmt das Programmbüro" in page


def test_double_submit_records_once(client, trainer, make_user):
    learner = enrolled(make_user)
    workshop = make_workshop(trainer, days=-1)
    client.post(f"/trainer/workshops/{workshop.id}/attendance", data={"user_id": [learner.id]})
    second = client.post(f"/trainer/workshops/{workshop.id}/attendance", data={"user_id": [learner.id]},
                         follow_redirects=True)
    assert "Keine neuen Teilnahmen" in text(second)
    assert db.session.scalar(select(func.count()).select_from(WorkshopAttendance)) == 1
    assert audit_actions().count("workshop_attendance_recorded") == 1


def test_a_list_with_someone_not_enrolled_records_nobody(client, trainer, make_user):
    learner = enrolled(make_user)
    outsider = make_user("learner")
    workshop = make_workshop(trainer, days=-1)
    response = client.post(f"/trainer/workshops/{workshop.id}/attendance",
                           data={"user_id": [learner.id, outsider.id]}, follow_redirects=True)
    assert "nicht in diesen Kurs eingeschrieben" in text(response)
    assert attendance_ids(workshop) == set()


def test_nothing_ticked_gets_a_message(client, trainer):
    workshop = make_workshop(trainer, days=-1)
    response = client.post(f"/trainer/workshops/{workshop.id}/attendance", data={}, follow_redirects=True)
    assert "mindestens eine Person" in text(response)


def test_attendance_cannot_be_recorded_before_the_workshop_starts(client, trainer, make_user):
    learner = enrolled(make_user)
    workshop = make_workshop(trainer, days=3)
    page = text(client.get(f"/trainer/workshops/{workshop.id}"))
    assert "ab Beginn des Workshops" in page and "Teilnahme speichern" not in page
    response = client.post(f"/trainer/workshops/{workshop.id}/attendance", data={"user_id": [learner.id]},
                           follow_redirects=True)
    assert "erst ab Beginn" in text(response) and attendance_ids(workshop) == set()


def test_course_level_workshop_attendance_counts_for_the_course(client, trainer, make_user):
    learner = enrolled(make_user, course_id="sonderkurs-strukturwandel")
    workshop = make_workshop(trainer, days=-2, module_id=None, course_id="sonderkurs-strukturwandel")
    response = client.post(f"/trainer/workshops/{workshop.id}/attendance", data={"user_id": [learner.id]},
                           follow_redirects=True)
    assert "1 Teilnahme eingetragen" in text(response)
    facts = load_facts(db.session.get(User, learner.id))
    assert [course for course, _ in facts.workshops_attended] == ["sonderkurs-strukturwandel"]


# --- attendance by CSV list ---------------------------------------------------------------------------

def test_csv_preview_lists_unmatched_rows_and_records_nothing(client, trainer, make_user):
    anna = enrolled(make_user, name="Anna Achterberg", email="anna@stadt.de")
    make_user("learner", email="nicht.eingeschrieben@stadt.de")
    workshop = make_workshop(trainer, days=-1)
    content = ("Name;E-Mail\r\n"
               "Achterberg, Anna;ANNA@stadt.de\r\n"
               "„Müller“;unbekannt@stadt.de\r\n"
               "Nicht eingeschrieben;nicht.eingeschrieben@stadt.de\r\n"
               "Kaputt;kein-at-zeichen\r\n"
               f"Trainer;{trainer.email}\r\n"
               "Nochmal Anna;anna@stadt.de\r\n").encode("cp1252")
    response = upload(client, workshop, content)
    assert response.status_code == 200
    page = text(response)
    assert "Kodierung Windows-1252" in page and "Trennzeichen Semikolon" in page and "(„E-Mail“" in page
    assert "Wird eingetragen (1)" in page and "Anna Achterberg" in page
    assert "Nicht zugeordnet (4)" in page
    for line, reason in [(3, "unbekannte E-Mail-Adresse"), (4, "nicht in „Grundlagenkurs“ eingeschrieben"),
                         (5, "keine gültige E-Mail-Adresse"), (6, "kein Teilnehmendenkonto (Trainer*in)")]:
        assert re.search(rf"<tr><td>{line}</td><td[^>]*><code>[^<]*</code>(<br><span[^>]*>[^<]*</span>)?</td>"
                         rf"<td>{re.escape(reason)}", page), line
    assert "ganze Zeile: „Müller“;unbekannt@stadt.de" in page
    assert "Doppelt in der Liste (1)" in page and "Noch ist nichts gespeichert." in page
    assert attendance_ids(workshop) == set() and "workshop_attendance_recorded" not in audit_actions()
    assert anna.id not in attendance_ids(workshop)


def test_csv_confirm_records_everyone_matched_in_one_go_and_certificates_follow(client, trainer, make_user):
    jana = learner_one_workshop_short(make_user, name="Jana Jäger", email="jana.jaeger@stadt.de")
    bernd = enrolled(make_user, name="Bernd Brückner", email="bernd@stadt.de")
    workshop = make_workshop(trainer, days=-1)
    content = "\ufeffE-Mail,Name\njana.jaeger@stadt.de,Jana\nbernd@stadt.de,Bernd\nfremd@stadt.de,X\n".encode()
    preview = text(upload(client, workshop, content, filename="zoom-export.csv"))
    assert "2 Teilnahmen eintragen" in preview
    response = confirm(client, workshop, preview)
    assert response.status_code == 302
    message = text(client.get(response.headers["Location"]))
    assert "2 Teilnahmen eingetragen" in message and "Zertifikat erhalten: Jana Jäger" in message
    assert attendance_ids(workshop) == {jana.id, bernd.id}
    sources = set(db.session.scalars(select(WorkshopAttendance.source)))
    assert sources == {"csv"}
    [certificate] = certificates_of(jana)
    assert certificate.definition_id == "zertifikat-grundlagenkurs"
    summary = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "workshop_attendance_imported"))
    assert summary.data["filename"] == "zoom-export.csv" and summary.data["recorded"] == 2
    assert summary.data["unmatched"] == 1

    # The same list again: nobody new, no duplicates.
    again = text(upload(client, workshop, content))
    assert "Wird eingetragen (0)" in again and "Bereits eingetragen (2)" in again
    assert "Es gibt nichts einzutragen." in again
    assert db.session.scalar(select(func.count()).select_from(WorkshopAttendance)) == 2
    assert len(certificates_of(jana)) == 1


def test_csv_confirm_refuses_when_the_matches_changed_since_the_preview(client, trainer, make_user):
    anna = enrolled(make_user, email="anna@stadt.de")
    bernd = enrolled(make_user, email="bernd@stadt.de")
    workshop = make_workshop(trainer, days=-1)
    preview = text(upload(client, workshop, b"anna@stadt.de\nbernd@stadt.de\n"))
    # Meanwhile a colleague records Bernd by checklist.
    client.post(f"/trainer/workshops/{workshop.id}/attendance", data={"user_id": [bernd.id]})
    response = confirm(client, workshop, preview)
    assert response.status_code == 409
    page = text(response)
    assert "Seit der Vorschau hat sich etwas geändert" in page and "Wird eingetragen (1)" in page
    assert attendance_ids(workshop) == {bernd.id}
    assert confirm(client, workshop, page).status_code == 302
    assert attendance_ids(workshop) == {anna.id, bernd.id}


def test_csv_confirm_with_a_tampered_file_records_nothing(client, trainer, make_user):
    enrolled(make_user, email="anna@stadt.de")
    other = enrolled(make_user, email="mallory@stadt.de")
    workshop = make_workshop(trainer, days=-1)
    preview = text(upload(client, workshop, b"anna@stadt.de\n"))
    import base64
    import zlib
    fields = {name: hidden(preview, name) for name in ("sha256", "expected", "filename")}
    fields["content"] = base64.b64encode(zlib.compress(b"anna@stadt.de\nmallory@stadt.de\n")).decode()
    response = client.post(f"/trainer/workshops/{workshop.id}/import/confirm", data=fields, follow_redirects=True)
    assert "nicht dieselbe wie in der Vorschau" in text(response)
    fields["content"] = "kein base64!"
    client.post(f"/trainer/workshops/{workshop.id}/import/confirm", data=fields)
    assert other.id not in attendance_ids(workshop) and attendance_ids(workshop) == set()


def test_a_large_list_is_chosen_again_to_confirm(client, trainer, make_user, monkeypatch):
    import io

    from namalms.trainer import workshops as views
    monkeypatch.setattr(views, "CARRY_LIMIT", 10)
    anna = enrolled(make_user, email="anna@stadt.de")
    workshop = make_workshop(trainer, days=-1)
    content = b"E-Mail\nanna@stadt.de\n"
    preview = text(upload(client, workshop, content))
    assert "dieselbe Datei zur Bestätigung noch einmal" in preview and 'name="content"' not in preview
    fields = {name: hidden(preview, name) for name in ("sha256", "expected", "filename")}
    wrong = client.post(f"/trainer/workshops/{workshop.id}/import/confirm", content_type="multipart/form-data",
                        data={**fields, "file": (io.BytesIO(b"E-Mail\nandere@stadt.de\n"), "x.csv")},
                        follow_redirects=True)
    assert "nicht dieselbe" in text(wrong) and attendance_ids(workshop) == set()
    right = client.post(f"/trainer/workshops/{workshop.id}/import/confirm", content_type="multipart/form-data",
                        data={**fields, "file": (io.BytesIO(content), "teilnahme.csv")})
    assert right.status_code == 302 and attendance_ids(workshop) == {anna.id}


@pytest.mark.parametrize("content, message", [
    (b"", "Die Datei ist leer."),
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00", "Excel-Arbeitsmappe"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "Binärdaten"),
    (b"Name;Vorname\nA;B\n", "keine Spalte mit E-Mail-Adressen"),
    (b"E-Mail\n" + b"a@stadt.de\n" * 5001, "mehr als 5.000 Zeilen"),
    (b"x" * (2 * 1024 * 1024 + 1), "größer als 2 MB"),
])
def test_bad_uploads_get_a_clear_german_message(client, trainer, content, message):
    workshop = make_workshop(trainer, days=-1)
    response = upload(client, workshop, content, filename="liste.csv")
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert message in page
    assert attendance_ids(workshop) == set()


def test_upload_without_a_file(client, trainer):
    workshop = make_workshop(trainer, days=-1)
    response = client.post(f"/trainer/workshops/{workshop.id}/import", data={}, follow_redirects=True)
    assert "Bitte wählen Sie eine CSV-Datei" in text(response)


def test_confirm_is_all_or_nothing_when_recording_fails(client, trainer, make_user, monkeypatch):
    anna = enrolled(make_user, email="anna@stadt.de")
    bernd = enrolled(make_user, email="bernd@stadt.de")
    workshop = make_workshop(trainer, days=-1)
    preview = text(upload(client, workshop, b"anna@stadt.de\nbernd@stadt.de\n"))
    real = progress.record_workshop_attendance
    calls = []

    def failing_on_second(user, module, **kwargs):
        calls.append(user.id)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real(user, module, **kwargs)

    monkeypatch.setattr(progress, "record_workshop_attendance", failing_on_second)
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = confirm(client, workshop, preview)
    finally:
        client.application.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    db.session.rollback()
    assert attendance_ids(workshop) == set() and calls == sorted([anna.id, bernd.id])
    assert db.session.scalar(select(func.count()).select_from(ModuleProgress)
                             .where(ModuleProgress.workshop_attended_at.is_not(None))) == 0
