"""A learner's pages are answered from memory while nothing they show has changed – and only then.

The second view of an unchanged page costs the login's one statement and gives the same bytes.
Whatever changes – the learner's own records (by them, by a trainer, by a batch job), the
workshops, the content, their login, the minute – the next view is drawn afresh.
"""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from namalms import page_memo
from namalms.extensions import db
from namalms.models import Certificate, ContentState, Course, LearnerStamp, Module
from namalms.models.base import replayed_clock, utcnow
from namalms.services import account_admin, evaluation
from namalms.services import certificates as certificate_service
from namalms.services import progress as progress_service
from tests.conftest import counted_statements
from tests.web.test_certificates import work_through
from tests.web.test_workshops import FINAL_MODULE, make_workshop

pytestmark = pytest.mark.both_databases

MODULE = "/modules/gk-agenda-2030"
PAGES = [MODULE, "/courses/grundlagenkurs", "/dashboard", "/certificates"]


def view(client, url: str) -> tuple[str, list[str]]:
    """The page and the statements its request made (SQLite's BEGIN not counted)."""
    with counted_statements() as statements:
        response = client.get(url)
        assert response.status_code == 200, url
    return response.get_data(as_text=True), [s for s in statements if not s.lstrip().upper().startswith("BEGIN")]


def settled(client, url: str) -> str:
    """View until the page is kept (a first view may write: the visit, a self-check attempt)."""
    for _ in range(3):
        page, statements = view(client, url)
        if len(statements) == 1:
            return page
    raise AssertionError(f"{url} is never answered from memory: {statements}")


def stamp_of(user) -> int | None:
    db.session.expire_all()
    return db.session.scalar(select(LearnerStamp.stamp).where(LearnerStamp.user_id == user.id))


@pytest.mark.parametrize("url", PAGES)
def test_an_unchanged_page_is_answered_from_memory(client, learner, url):
    work_through(learner, "grundlagenkurs", count=2)
    page = settled(client, url)
    again, statements = view(client, url)
    assert again == page
    assert len(statements) == 1 and "login_session" in statements[0]  # the login, nothing else


def test_the_stored_pdf_is_answered_from_memory(client, learner):
    work_through(learner, "grundlagenkurs")
    number = client.get("/certificates").get_data(as_text=True).split("/certificates/")[1].split('"')[0]
    number = number.removesuffix(".pdf")
    first = client.get(f"/certificates/{number}.pdf")  # builds and stores the PDF: a write, not kept
    client.get(f"/certificates/{number}.pdf")  # the stored PDF: kept
    with counted_statements() as statements:
        again = client.get(f"/certificates/{number}.pdf")
    assert again.status_code == 200 and again.data == first.data and again.data.startswith(b"%PDF")
    assert again.headers["Content-Disposition"] == first.headers["Content-Disposition"]
    assert len([s for s in statements if not s.upper().startswith("BEGIN")]) == 1


def test_the_learners_own_step_shows_at_once(client, learner):
    work_through(learner, "grundlagenkurs", count=0)
    before = settled(client, MODULE)
    assert "Als erledigt markieren" in before
    client.post(f"{MODULE}/done")
    after, statements = view(client, MODULE)
    assert len(statements) > 1 and after != before
    assert "Als erledigt markieren" not in after


def test_a_trainers_entry_for_the_learner_shows_at_once(client, learner):
    """Written by someone else, in another request: the learner's stamp still changes."""
    course = db.session.get(Course, "grundlagenkurs")
    progress_service.enrol(learner, course)
    for module in [m for m in course.modules if not m.is_retired][:-1]:
        progress_service.record_visit(learner, module)
    db.session.commit()
    before = settled(client, f"/modules/{FINAL_MODULE}")
    stamp = stamp_of(learner)
    progress_service.record_workshop_attendance(learner, db.session.get(Module, FINAL_MODULE))
    db.session.commit()
    assert stamp_of(learner) != stamp
    after, statements = view(client, f"/modules/{FINAL_MODULE}")
    assert len(statements) > 1 and after != before


def test_a_new_workshop_shows_on_every_learners_course_page(client, learner, make_user):
    work_through(learner, "grundlagenkurs", count=1)
    before = settled(client, "/courses/grundlagenkurs")
    assert "Zweiter Abschlusstermin" not in before
    make_workshop(make_user("trainer"), days=12, title="Zweiter Abschlusstermin")
    after, _ = view(client, "/courses/grundlagenkurs")
    assert "Zweiter Abschlusstermin" in after


def test_changed_content_shows_at_once(client, learner):
    work_through(learner, "grundlagenkurs", count=1)
    before = settled(client, "/courses/grundlagenkurs")
    module = db.session.get(Module, "gk-agenda-2030")
    title, module.title = module.title, "Die Agenda 2030 – neu gefasst"
    db.session.commit()
    try:
        after, _ = view(client, "/courses/grundlagenkurs")
        assert "Die Agenda 2030 – neu gefasst" in after and after != before
    finally:  # the content is shared by every test of the run
        db.session.get(Module, "gk-agenda-2030").title = title
        db.session.commit()


def test_each_learner_sees_only_their_own_page(client, make_user, auth):
    for name in ("Anna Erste", "Berta Zweite"):
        user = make_user("learner", name=name)
        work_through(user, "grundlagenkurs", count=1)
        auth.login(user.email)
        page = settled(client, "/dashboard")
        assert name in page
        assert ({"Anna Erste", "Berta Zweite"} - {name}).pop() not in page
        auth.logout()


def test_a_logged_out_session_gets_no_kept_page(client, learner, auth):
    work_through(learner, "grundlagenkurs", count=1)
    settled(client, "/dashboard")
    cookie = client.get_cookie("session").value
    auth.logout()
    client.set_cookie("session", cookie)  # the old cookie, replayed
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_deactivated_learner_gets_no_kept_page(client, learner, make_user):
    work_through(learner, "grundlagenkurs", count=1)
    settled(client, "/dashboard")
    account_admin.deactivate_user(learner, actor=make_user("admin"))
    db.session.commit()
    assert client.get("/dashboard").status_code == 302


def test_a_message_waiting_in_the_session_is_shown_once_and_not_kept(client, learner):
    work_through(learner, "grundlagenkurs", count=1)
    settled(client, "/dashboard")
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "Eine Nachricht für genau einen Blick.")]
    page, _ = view(client, "/dashboard")
    assert "Eine Nachricht für genau einen Blick." in page
    page, _ = view(client, "/dashboard")
    assert "Eine Nachricht für genau einen Blick." not in page


def test_a_page_of_another_minute_is_drawn_afresh(client, learner):
    work_through(learner, "grundlagenkurs", count=1)
    settled(client, "/dashboard")
    with replayed_clock(utcnow() - timedelta(minutes=2)):
        _, statements = view(client, "/dashboard")
    assert len(statements) > 1


def test_nothing_is_kept_without_a_budget(app, client, learner):
    work_through(learner, "grundlagenkurs", count=1)
    memo = app.extensions[page_memo.EXTENSION]
    budget, memo.budget = memo.budget, 0
    try:
        for _ in range(3):
            _, statements = view(client, "/dashboard")
        assert len(statements) > 1
    finally:
        memo.budget = budget


def test_the_batch_evaluation_changes_the_stamps_of_the_learners_it_wrote(app, learner):
    """Standings written by `certificates evaluate` bypass the ORM; they name their learners."""
    work_through(learner, "grundlagenkurs", count=2)
    stamp = stamp_of(learner)
    evaluation.evaluate_everyone(dry_run=False)
    db.session.commit()
    assert stamp_of(learner) != stamp


def test_a_rolled_back_change_writes_no_stamp(learner):
    work_through(learner, "grundlagenkurs", count=1)
    stamp = stamp_of(learner)
    learner.name = "Niemals Gespeichert"
    db.session.flush()
    db.session.rollback()
    assert stamp_of(learner) == stamp


def test_a_workshop_changes_the_site_stamp_not_the_learners(learner, make_user):
    work_through(learner, "grundlagenkurs", count=1)
    stamp = stamp_of(learner)
    site = db.session.scalar(select(ContentState.site_stamp))
    make_workshop(make_user("trainer"), days=9)
    db.session.expire_all()
    assert db.session.scalar(select(ContentState.site_stamp)) != site
    assert stamp_of(learner) == stamp


def test_kept_pages_stay_within_their_budget():
    memo = page_memo.PageMemo(budget=1000)
    for n in range(10):
        memo.put(n, (200, [], b"x" * 200))
    assert len(memo) == 5 and memo.get(0) is None and memo.get(9) is not None
    memo.put("too big", (200, [], b"x" * 400))  # more than a quarter of the budget: not kept
    assert memo.get("too big") is None


def test_a_verification_page_is_kept_until_the_certificate_changes(client, learner, make_user, auth):
    work_through(learner, "grundlagenkurs")
    certificate = db.session.scalar(select(Certificate).where(Certificate.user_id == learner.id))
    auth.logout()  # checked by anyone, without an account
    url = f"/verify/{certificate.verification_code}"
    client.get(url)  # shows (and so removes) "Sie sind abgemeldet"
    first, _ = view(client, url)
    page, statements = view(client, url)
    assert page == first and len(statements) == 1 and "verification_code" in statements[0]
    assert "gültig" in page.lower()

    certificate_service.revoke_certificate(certificate, category="fraud", reason="Täuschung festgestellt",
                               actor=make_user("admin"))
    db.session.commit()
    page, statements = view(client, url)
    assert len(statements) > 1 and "widerrufen" in page.lower()


def test_an_unknown_code_is_answered_as_not_found_every_time(client):
    for _ in range(2):
        assert client.get("/verify/KEINCODE1234").status_code == 404


@pytest.mark.parametrize("budget", [-1, "32 MB", 1.5, True])
def test_a_budget_that_is_not_a_number_of_bytes_stops_the_start(budget):
    from flask import Flask

    app = Flask(__name__)
    app.config["PAGE_MEMO_BYTES"] = budget
    with pytest.raises(RuntimeError, match="PAGE_MEMO_BYTES must be a whole number of bytes"):
        page_memo.init_app(app)


def test_a_kept_page_opens_no_transaction(client, learner):
    """The login is checked by one statement on its own (no BEGIN, no COMMIT): a kept page
    never holds a transaction, on SQLite not even a read one."""
    work_through(learner, "grundlagenkurs", count=1)
    settled(client, "/dashboard")
    with counted_statements() as statements:
        assert client.get("/dashboard").status_code == 200
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("SELECT"), statements


def test_the_log_line_of_a_kept_page_names_the_learner(client, learner, caplog):
    work_through(learner, "grundlagenkurs", count=1)
    settled(client, "/dashboard")
    caplog.set_level(logging.INFO, logger="namalms.request")
    caplog.clear()
    client.get("/dashboard")
    [record] = [r for r in caplog.records if r.name == "namalms.request"]
    assert record.user_id == learner.id and record.status == 200


def test_another_browser_with_the_same_cookie_is_not_answered_from_memory_at_first(client, learner):
    """flask-login's session protection marks the session as no longer fresh when the browser
    changes; a kept page must not skip that."""
    work_through(learner, "grundlagenkurs", count=1)
    settled(client, "/dashboard")
    with counted_statements() as statements:
        response = client.get("/dashboard", headers={"User-Agent": "Ein ganz anderer Browser"})
    assert response.status_code == 200 and len(statements) > 1
    assert "session=" in response.headers.get("Set-Cookie", "")  # no longer fresh
    with client.session_transaction() as session:
        assert session["_fresh"] is False


def test_a_remembered_login_without_session_is_logged_in_not_served_a_kept_anonymous_page(client, make_user, auth):
    holder = make_user("learner")
    work_through(holder, "grundlagenkurs")
    code = db.session.scalar(select(Certificate.verification_code).where(Certificate.user_id == holder.id))
    auth.logout()
    client.delete_cookie("session")
    url = f"/verify/{code}"
    settled(client, url)  # kept for visitors without a session
    client.delete_cookie("session")

    visitor = make_user("learner", name="Rita Remember")
    auth.login(visitor.email, remember=True)
    client.delete_cookie("session")  # the browser was closed: only "angemeldet bleiben" is left
    response = client.get(url)
    assert response.status_code == 200 and "Rita Remember" in response.get_data(as_text=True)


def test_a_kept_page_opens_no_database_session(client, learner):
    """Nothing was read or written through the ORM: the unit of work has nothing to end."""
    work_through(learner, "grundlagenkurs", count=1)
    settled(client, "/dashboard")
    db.session.remove()  # the test's own session (a server's request starts without one)
    response = client.get("/dashboard")
    assert response.status_code == 200 and not db.session.registry.has()


def test_stamps_of_more_learners_than_a_statement_may_name_are_all_written(learner, make_user, monkeypatch):
    """A transaction that changed very many learners (an evaluation of everyone) writes their
    stamps in several statements; PostgreSQL takes at most 65,535 parameters in one."""
    from namalms import learner_stamps

    others = [make_user("learner") for _ in range(4)]
    users = [learner, *others]
    before = {user.id: stamp_of(user) for user in users}
    monkeypatch.setattr(learner_stamps, "CHUNK", 2)
    with counted_statements() as statements:
        learner_stamps.note_changed(db.session(), [user.id for user in users])
        db.session.commit()
    assert len([s for s in statements if "learner_stamp" in s and s.lstrip().upper().startswith("INSERT")]) == 3
    after = {user.id: stamp_of(user) for user in users}
    assert all(after[user_id] != before[user_id] for user_id in after)
