"""A learner's way through a course: enrol, read, mark done, quiz, progress."""
import re

from sqlalchemy import select

from namalms.extensions import db
from namalms.models import Module, ModuleProgress, ProgressEvent
from namalms.services import progress as progress_service
from tests.conftest import quiz_answers

FIRST = "gk-agenda-2030"


def module(module_id=FIRST) -> Module:
    return db.session.get(Module, module_id)


def correct_answers(client, user, module_id=FIRST) -> dict:
    return quiz_answers(client, user, module_id, correct=True)


def wrong_answers(client, user, module_id=FIRST) -> dict:
    return quiz_answers(client, user, module_id, correct=False)


def events(user, kind=None):
    query = select(ProgressEvent).where(ProgressEvent.user_id == user.id)
    if kind:
        query = query.where(ProgressEvent.kind == kind)
    return db.session.scalars(query).all()


def test_catalogue_lists_the_courses_for_everyone(client):
    text = client.get("/").get_data(as_text=True)
    assert "Grundlagenkurs Kommunales Nachhaltigkeitsmanagement" in text
    assert "Kommunales Nachhaltigkeitsmanagement in Nordrhein-Westfälischen Strukturwandelregionen" in text


def test_module_needs_enrolment_first(client, learner):
    response = client.get(f"/modules/{FIRST}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/courses/grundlagenkurs")


def test_enrol_read_mark_done_pass_quiz_completes_module(client, learner):
    assert client.post("/courses/grundlagenkurs/enrol").status_code == 302
    page = client.get(f"/modules/{FIRST}").get_data(as_text=True)
    assert "Lernziele" in page and "Selbstcheck" in page and "SDG" in page
    client.post(f"/modules/{FIRST}/done")
    response = client.post(f"/modules/{FIRST}/quiz", data=correct_answers(client, learner))
    assert "versuch=" in response.headers["Location"]
    feedback = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Bestanden" in feedback and "100 %" in feedback
    row = db.session.scalar(select(ModuleProgress).filter_by(user_id=learner.id, module_id=FIRST))
    assert row.completed_at is not None and row.best_quiz_score == 100
    course = client.get("/courses/grundlagenkurs").get_data(as_text=True)
    assert "1 von 6" in course
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "1 von 6" in dashboard and "Weiter mit: " in dashboard


def test_failed_quiz_shows_explanations_and_keeps_module_open(client, learner):
    client.post("/courses/grundlagenkurs/enrol")
    client.post(f"/modules/{FIRST}/done")
    response = client.post(f"/modules/{FIRST}/quiz", data=wrong_answers(client, learner), follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "Benötigt: 70 %" in text
    assert "Leider falsch." in text
    quiz = progress_service.quiz_of(module())
    assert quiz.questions[0].explanation.split()[0] in text
    row = db.session.scalar(select(ModuleProgress).filter_by(user_id=learner.id, module_id=FIRST))
    assert row.completed_at is None and row.quiz_passed_at is None


def test_later_failed_attempt_keeps_the_best_score_and_the_pass(client, learner):
    client.post("/courses/grundlagenkurs/enrol")
    client.post(f"/modules/{FIRST}/quiz", data=correct_answers(client, learner))
    client.post(f"/modules/{FIRST}/quiz", data=wrong_answers(client, learner))
    row = db.session.scalar(select(ModuleProgress).filter_by(user_id=learner.id, module_id=FIRST))
    assert row.best_quiz_score == 100 and row.quiz_passed_at is not None
    assert len(events(learner, "quiz_attempt")) == 2


def test_empty_quiz_submission_is_refused_without_an_attempt(client, learner):
    client.post("/courses/grundlagenkurs/enrol")
    attempt = correct_answers(client, learner)["attempt"]
    response = client.post(f"/modules/{FIRST}/quiz", data={"attempt": attempt}, follow_redirects=True)
    assert "mindestens eine Frage" in response.get_data(as_text=True)
    assert events(learner, "quiz_attempt") == []


def test_a_submission_without_its_attempt_is_refused(client, learner):
    client.post("/courses/grundlagenkurs/enrol")
    answers = correct_answers(client, learner)
    del answers["attempt"]
    response = client.post(f"/modules/{FIRST}/quiz", data=answers, follow_redirects=True)
    assert "nicht mehr gültig" in response.get_data(as_text=True)
    assert events(learner, "quiz_attempt") == []


def test_options_are_shuffled_per_attempt_and_stay_put_on_reload(client, learner):
    client.post("/courses/grundlagenkurs/enrol")
    first = correct_answers(client, learner)
    again = correct_answers(client, learner)
    assert first == again, "reloading the page keeps the attempt and its order"
    client.post(f"/modules/{FIRST}/quiz", data=first)
    orders = set()
    for _ in range(6):  # each new attempt draws a new order
        answers = correct_answers(client, learner)
        orders.add(tuple((k, tuple(v)) for k, v in sorted(answers.items()) if k != "attempt"))
        client.post(f"/modules/{FIRST}/quiz", data=answers)
    assert len(orders) > 1


def test_a_double_submit_of_one_attempt_is_graded_once(client, learner):
    client.post("/courses/grundlagenkurs/enrol")
    answers = correct_answers(client, learner)
    first = client.post(f"/modules/{FIRST}/quiz", data=answers)
    second = client.post(f"/modules/{FIRST}/quiz", data=answers)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert len(events(learner, "quiz_attempt")) == 1


def test_someone_elses_attempt_cannot_be_used(client, learner, make_user, auth):
    client.post("/courses/grundlagenkurs/enrol")
    theirs = correct_answers(client, learner)
    auth.logout()
    other = make_user("learner", email="andere@example.org")
    auth.login(other.email)
    client.post("/courses/grundlagenkurs/enrol")
    response = client.post(f"/modules/{FIRST}/quiz", data=theirs, follow_redirects=True)
    assert "nicht mehr gültig" in response.get_data(as_text=True)
    assert events(other, "quiz_attempt") == []


def test_double_submit_of_done_and_enrol_records_once(client, learner):
    client.post("/courses/grundlagenkurs/enrol")
    client.post("/courses/grundlagenkurs/enrol")
    client.post(f"/modules/{FIRST}/done")
    response = client.post(f"/modules/{FIRST}/done", follow_redirects=True)
    assert "bereits als erledigt markiert" in response.get_data(as_text=True)
    assert len(events(learner, "enrolled")) == 1
    assert len(events(learner, "module_done")) == 1


def test_workshop_module_waits_for_attendance(client, learner):
    client.post("/courses/grundlagenkurs/enrol")
    workshop_module = "gk-verwaltung-verankern"
    client.post(f"/modules/{workshop_module}/done")
    client.post(f"/modules/{workshop_module}/quiz", data=correct_answers(client, learner, workshop_module))
    text = client.get(f"/modules/{workshop_module}").get_data(as_text=True)
    assert "Workshop-Teilnahme ausstehend" in text
    row = db.session.scalar(select(ModuleProgress).filter_by(user_id=learner.id, module_id=workshop_module))
    assert row.completed_at is None
    progress_service.record_workshop_attendance(learner, module(workshop_module))
    db.session.commit()
    db.session.refresh(row)
    assert row.completed_at is not None


def test_every_progress_event_is_recorded_with_time_and_append_only(client, learner):
    import pytest

    client.post("/courses/grundlagenkurs/enrol")
    client.get(f"/modules/{FIRST}")
    client.post(f"/modules/{FIRST}/done")
    kinds = [e.kind for e in events(learner)]
    assert kinds == ["enrolled", "module_opened", "module_done"]
    assert all(e.created_at is not None for e in events(learner))
    event = events(learner)[0]
    event.kind = "tampered"
    with pytest.raises(ValueError, match="append-only"):
        db.session.flush()
    db.session.rollback()


def test_module_page_serves_stored_html_without_parsing_markdown(client, learner, monkeypatch):
    client.post("/courses/grundlagenkurs/enrol")
    import markdown

    def forbidden(*args, **kwargs):
        raise AssertionError("a page view must not parse Markdown")

    monkeypatch.setattr(markdown, "markdown", forbidden)
    monkeypatch.setattr(markdown.Markdown, "convert", forbidden)
    response = client.get(f"/modules/{FIRST}")
    assert response.status_code == 200


def test_module_images_are_served_by_the_app(client, learner):
    client.post("/courses/grundlagenkurs/enrol")
    text = client.get(f"/modules/{FIRST}").get_data(as_text=True)
    sources = re.findall(r'<img[^>]+src="([^"]+)"', text)
    assert sources, "the first module has a figure"
    for src in sources:
        assert src.startswith("/assets/")
        image = client.get(src)
        assert image.status_code == 200 and image.mimetype == "image/png"
        assert "immutable" in image.headers["Cache-Control"]


def test_unknown_module_and_course_are_404_in_german(client, learner):
    response = client.get("/modules/gibt-es-nicht")
    assert response.status_code == 404
    assert "Seite nicht gefunden" in response.get_data(as_text=True)
    assert client.get("/courses/gibt-es-nicht").status_code == 404
