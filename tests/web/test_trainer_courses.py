"""Trainers look after the courses the office assigns them; the office sees every course."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from namalms.extensions import db
from namalms.models import AuditEvent, Course, TrainerAssignment
from namalms.services import ServiceError, trainer_courses
from namalms.services import workshops as workshop_service
from tests.web.test_trainer_content import FIRST, content, course_zip  # noqa: F401  (fixture)
from tests.web.test_workshops import FINAL_MODULE, form, local_day

OWN, OTHER = "sonderkurs-strukturwandel", "grundlagenkurs"


@pytest.fixture
def grundlagen_workshop(make_user):
    """A workshop of the Grundlagenkurs, scheduled by its own trainer."""
    owner = make_user("trainer", name="Gerda Grundlagen", courses=[OTHER])
    draft = workshop_service.WorkshopDraft(**form(date=local_day(14)))
    workshop = workshop_service.schedule_workshop(draft, actor=owner)
    db.session.commit()
    return workshop


@pytest.fixture
def second_trainer(make_user, auth):
    """A trainer who looks after the Sonderkurs only, logged in."""
    user = make_user("trainer", name="Sven Sonderkurs", courses=[OWN])
    auth.login(user.email)
    return user


@pytest.mark.parametrize("url", [
    f"/trainer/content/module/{FIRST}/bearbeiten",
    f"/trainer/content/module/{FIRST}",
    f"/trainer/content/module/{FIRST}/revision/1",
    f"/trainer/content/module/{FIRST}/vergleich?alt=1&neu=1",
    f"/trainer/content/module/{FIRST}/zurueckziehen",
    f"/trainer/content/kurs/{OTHER}/neu",
    f"/trainer/content/kurs/{OTHER}/bilder",
    f"/trainer/learners?kurs={OTHER}",
])
def test_a_trainer_of_another_course_gets_403_on_this_courses_pages(client, second_trainer, url):
    response = client.get(url)
    assert response.status_code == 403
    assert "Kein Zugriff" in response.get_data(as_text=True)


@pytest.mark.parametrize("suffix", ["", "/edit", "/cancel"])
def test_a_trainer_of_another_course_gets_403_on_its_workshops(client, grundlagen_workshop, second_trainer, suffix):
    assert client.get(f"/trainer/workshops/{grundlagen_workshop.id}{suffix}").status_code == 403


@pytest.mark.parametrize(("url", "data"), [
    (f"/trainer/content/module/{FIRST}/bearbeiten", {"source": "x", "action": "veroeffentlichen", "message": "m"}),
    (f"/trainer/content/module/{FIRST}/verschieben", {"richtung": "runter"}),
    (f"/trainer/content/module/{FIRST}/wiederherstellen", {"revision": "1"}),
    (f"/trainer/content/module/{FIRST}/zurueckziehen", {"reason": "weg damit"}),
    ("/trainer/workshops/new", form()),
])
def test_a_trainer_of_another_course_cannot_change_it(client, second_trainer, url, data):
    revisions = db.session.scalar(select(db.func.count()).select_from(AuditEvent))
    assert client.post(url, data=data).status_code == 403
    assert db.session.scalar(select(db.func.count()).select_from(AuditEvent)) == revisions


def test_attendance_of_another_courses_workshop_is_refused(client, grundlagen_workshop, second_trainer, make_user):
    learner = make_user("learner")
    response = client.post(f"/trainer/workshops/{grundlagen_workshop.id}/attendance", data={"user_id": [learner.id]})
    assert response.status_code == 403


def test_a_zip_of_another_course_is_refused(client, second_trainer, content):  # noqa: F811
    for action in ("pruefen", "veroeffentlichen"):
        response = client.post("/trainer/content/zip", data={
            "file": (io.BytesIO(course_zip(content)), "grundlagenkurs.zip"), "action": action, "message": "neu"})
        assert response.status_code == 403, action


def test_the_overview_lists_only_the_trainers_own_courses(client, grundlagen_workshop, second_trainer):
    for url in ("/trainer/", "/trainer/content", "/trainer/learners"):
        page = client.get(url).get_data(as_text=True)
        assert "Sonderkurs" in page and "Grundlagenkurs Kommunales" not in page, url
    workshops = client.get("/trainer/workshops").get_data(as_text=True)
    assert grundlagen_workshop.title not in workshops
    form_page = client.get("/trainer/workshops/new").get_data(as_text=True)
    assert f"module:{FINAL_MODULE}" not in form_page and f"course:{OWN}" in form_page


def test_the_own_course_is_open(client, second_trainer):
    module = db.session.scalars(select(Course).where(Course.id == OWN)).one().modules[0]
    assert client.get(f"/trainer/content/module/{module.id}/bearbeiten").status_code == 200
    assert client.get(f"/trainer/learners?kurs={OWN}").status_code == 200
    assert client.get(f"/trainer/content/kurs/{OWN}/bilder").status_code == 200


def test_a_trainer_without_courses_is_told_who_assigns_them(client, make_user, auth):
    user = make_user("trainer", courses=[])
    auth.login(user.email)
    page = client.get("/trainer/").get_data(as_text=True)
    assert "Ihnen sind noch keine Kurse zugeordnet" in page


def test_the_office_sees_every_course(client, admin, grundlagen_workshop):
    assert client.get(f"/trainer/content/module/{FIRST}/bearbeiten").status_code == 200
    assert client.get(f"/trainer/workshops/{grundlagen_workshop.id}").status_code == 200
    assert client.get(f"/trainer/learners?kurs={OTHER}").status_code == 200


def test_the_office_assigns_courses_on_the_trainers_account_page_audited(client, admin, make_user):
    trainer = make_user("trainer", name="Tina Neu", courses=[])
    page = client.get(f"/office/users/{trainer.id}").get_data(as_text=True)
    assert "Betreute Kurse" in page and f'value="{OWN}"' in page
    response = client.post(f"/office/users/{trainer.id}/courses", data={"course": [OWN, OTHER], "reason": "Start"},
                           follow_redirects=True)
    assert "Kurse von Tina Neu gespeichert – zugeordnet:" in response.get_data(as_text=True)
    assert {c.id for c in trainer_courses.assigned_courses(trainer)} == {OWN, OTHER}
    client.post(f"/office/users/{trainer.id}/courses", data={"course": [OWN]})
    assert [c.id for c in trainer_courses.assigned_courses(trainer)] == [OWN]
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.subject_user_id == trainer.id)
                                .order_by(AuditEvent.id)).all()
    assert [(e.action, e.data["course"]) for e in events] == [
        ("trainer_assigned", OTHER), ("trainer_assigned", OWN), ("trainer_unassigned", OTHER)] or \
        [(e.action, e.data["course"]) for e in events] == [
        ("trainer_assigned", OWN), ("trainer_assigned", OTHER), ("trainer_unassigned", OTHER)]
    assert events[0].actor_id == admin.id and events[0].reason == "Start"
    log = client.get(f"/office/audit?subject={trainer.id}").get_data(as_text=True)
    assert "Kurs zugeordnet" in log and "Kurszuordnung aufgehoben" in log


def test_only_trainers_are_assigned_courses(client, admin, make_user):
    learner = make_user("learner")
    response = client.post(f"/office/users/{learner.id}/courses", data={"course": [OWN]}, follow_redirects=True)
    assert "nur Konten mit der Rolle Trainer*in" in response.get_data(as_text=True)
    assert db.session.scalar(select(TrainerAssignment).where(TrainerAssignment.user_id == learner.id)) is None


def test_an_unknown_course_is_refused_and_nothing_is_saved(app, make_user, admin):
    trainer = make_user("trainer", courses=[])
    with pytest.raises(ServiceError):
        trainer_courses.set_courses(trainer, [OWN, "gibt-es-nicht"], actor=admin)
    assert trainer_courses.assigned_courses(trainer) == []


def test_trainers_and_office_are_not_locked_out_of_learner_pages(client, second_trainer):
    """The learner-facing module page stays a preview for every trainer."""
    assert client.get(f"/modules/{FIRST}").status_code == 200
