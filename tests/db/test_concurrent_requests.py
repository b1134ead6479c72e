"""Registering and enrolling are idempotent under races: no error page, no duplicate event."""
import pytest
from sqlalchemy import func, select

from namalms.extensions import db
from namalms.models import Enrollment, ProgressEvent, User
from tests.conftest import PASSWORD, FreshUserClient
from tests.db.test_concurrent_issue import run_concurrently

pytestmark = pytest.mark.both_databases  # its behaviour depends on the database

ATTEMPTS = 12


def clients(app, count):
    app.test_client_class = FreshUserClient
    return [app.test_client() for _ in range(count)]


def test_concurrent_registrations_with_one_address_make_one_account_and_no_error(app, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTER_LIMIT", "100 per hour")  # one address registers 12 times: a race, not a flood
    visitors = clients(app, ATTEMPTS)
    form = {"name": "Renate Rennen", "email": "Rennen@Example.org", "password": PASSWORD,
            "password_repeat": PASSWORD, "district_id": "kreis-dueren", "municipality": "Gemeinde Merzenich",
            "privacy": "y"}
    db.session.rollback()  # hold no transaction (and on SQLite no lock) while the requests race
    statuses, pages = [], []

    def register(index):
        response = visitors[index].post("/register", data=form)
        statuses.append(response.status_code)
        pages.append(response.get_data(as_text=True))

    errors = run_concurrently(register, ATTEMPTS)
    assert errors == [], errors[0] if errors else ""
    assert 500 not in statuses and sorted(statuses) == [302] + [422] * (ATTEMPTS - 1), statuses
    refusals = [page for status, page in zip(statuses, pages) if status == 422]
    assert all("bereits ein Konto" in page for page in refusals)
    assert db.session.scalar(select(func.count()).select_from(User)
                             .where(User.email == "rennen@example.org")) == 1


def test_concurrent_enrolment_clicks_enrol_once_and_log_it_once(app, make_user):
    user = make_user("learner")
    visitors = clients(app, ATTEMPTS)
    for visitor in visitors:
        visitor.post("/login", data={"email": user.email, "password": PASSWORD})
    user_id = user.id
    db.session.rollback()
    statuses = []

    def enrol(index):
        statuses.append(visitors[index].post("/courses/grundlagenkurs/enrol").status_code)

    errors = run_concurrently(enrol, ATTEMPTS)
    assert errors == [], errors[0] if errors else ""
    assert statuses == [302] * ATTEMPTS
    assert db.session.scalar(select(func.count()).select_from(Enrollment)
                             .where(Enrollment.user_id == user_id)) == 1
    assert db.session.scalar(select(func.count()).select_from(ProgressEvent).where(
        ProgressEvent.user_id == user_id, ProgressEvent.kind == "enrolled")) == 1
