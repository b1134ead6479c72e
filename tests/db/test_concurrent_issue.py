"""Exactly one certificate per learner and definition, even when many requests race."""
import threading
import traceback

import pytest
from sqlalchemy import select

from namalms.demo import complete_module
from namalms.extensions import db
from namalms.models import Certificate, Course, ProgressEvent
from namalms.models.base import utcnow
from namalms.services import certificates as service
from namalms.services import progress
from tests.conftest import FreshUserClient, PASSWORD

pytestmark = pytest.mark.both_databases  # its behaviour depends on the database

ATTEMPTS = 20


def run_concurrently(target, count=ATTEMPTS):
    barrier = threading.Barrier(count)
    errors = []

    def worker(index):
        try:
            barrier.wait(timeout=30)
            target(index)
        except Exception:  # collected and asserted below
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def complete_course_without_certificate(user, course_id="grundlagenkurs"):
    course = db.session.get(Course, course_id)
    progress.enrol(user, course)
    for module in course.modules:
        complete_module(user, module, utcnow())
    db.session.flush()
    for certificate in db.session.scalars(select(Certificate).where(Certificate.user_id == user.id)):
        db.session.delete(certificate)
    db.session.commit()


def test_twenty_concurrent_issue_attempts_make_one_certificate(app, make_user):
    user = make_user("learner")
    complete_course_without_certificate(user)
    user_id = user.id
    db.session.rollback()  # hold no transaction (and on SQLite no lock) while the threads race

    def attempt(_):
        with app.app_context():
            learner = db.session.get(type(user), user_id)
            definition = db.session.get(service.CertificateDefinition, "zertifikat-grundlagenkurs")
            service.issue_certificate(learner, definition)
            db.session.commit()

    errors = run_concurrently(attempt)
    assert errors == [], errors[0] if errors else ""
    rows = db.session.scalars(select(Certificate).where(Certificate.user_id == user_id)).all()
    assert len(rows) == 1 and rows[0].number


def test_twenty_concurrent_final_clicks_issue_once_without_error_pages(app, make_user):
    user = make_user("learner")
    course = db.session.get(Course, "grundlagenkurs")
    progress.enrol(user, course)
    *first, last = course.modules
    for module in first:
        complete_module(user, module, utcnow())
    quiz = progress.quiz_of(last)
    progress.submit_quiz(user, last, {q.id: {i for i, o in enumerate(q.options) if o.is_correct}
                                      for q in quiz.questions})
    progress.record_workshop_attendance(user, last)
    db.session.commit()
    url = f"/modules/{last.id}/done"
    last_id, user_id = last.id, user.id
    clients = []
    for _ in range(ATTEMPTS):
        app.test_client_class = FreshUserClient
        client = app.test_client()
        client.post("/login", data={"email": user.email, "password": PASSWORD})
        clients.append(client)
    db.session.rollback()
    statuses = []

    def click(index):
        statuses.append(clients[index].post(url).status_code)

    errors = run_concurrently(click)
    assert errors == [], errors[0] if errors else ""
    assert statuses == [302] * ATTEMPTS
    db.session.expire_all()
    assert len(db.session.scalars(select(Certificate).where(Certificate.user_id == user_id)).all()) == 1
    done_events = db.session.scalars(select(ProgressEvent).where(
        ProgressEvent.user_id == user_id, ProgressEvent.module_id == last_id, ProgressEvent.kind == "module_done")).all()
    assert len(done_events) == 1
