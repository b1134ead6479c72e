"""The learner's pages cost a small, constant number of SQL statements.

A learner in three courses with a certificate and progress in every module costs exactly as many
statements as one who has just started; the module page reads the learner's part in one query
and never loads the Markdown source or the revision again while the content is unchanged.
"""
from __future__ import annotations

import pytest

from namalms import page_memo
from namalms.extensions import db
from namalms.models import Certificate, Module
from namalms.services import certificates as certificate_service
from tests.conftest import counted_statements
from tests.web.test_certificates import work_through
from tests.web.test_workshops import FINAL_MODULE, make_workshop

pytestmark = pytest.mark.both_databases  # statement counts depend on the database's queries

MODULE = "/modules/gk-agenda-2030"
# Page → the most statements it may take for any learner (SQLite's BEGIN not counted: PostgreSQL's
# driver sends none).
BOUNDS = {
    "/": 5,
    "/courses/grundlagenkurs": 7,  # login, content stamp, the learner's four records, workshops
    "/dashboard": 6,  # login, the learner's four records, content stamp
    "/certificates": 6,
    MODULE: 2,  # the login, the learner's part
}


@pytest.fixture(autouse=True)
def pages_drawn_every_time(app):
    """These tests count what drawing a page costs: no page is answered from memory
    (tests/web/test_page_memo.py covers the kept pages)."""
    memo = app.extensions[page_memo.EXTENSION]
    budget, memo.budget = memo.budget, 0
    yield
    memo.budget = budget


def statements_for(client, url: str) -> list[str]:
    with counted_statements() as statements:
        response = client.get(url)
        assert response.status_code == 200, url
    return [s for s in statements if not s.lstrip().upper().startswith("BEGIN")]


def warm_up(client) -> None:
    """First views write (the visit, a self-check attempt) and fill the process's content cache."""
    for url in BOUNDS:
        assert client.get(url).status_code == 200, url


def seen_all_certificates(user) -> None:
    for certificate in db.session.query(Certificate).filter_by(user_id=user.id):
        certificate_service.mark_seen(certificate)
    db.session.commit()


@pytest.mark.parametrize("url", list(BOUNDS))
def test_a_busy_learner_costs_as_many_statements_as_a_new_one(client, make_user, auth, url):
    beginner = make_user("learner")
    work_through(beginner, "grundlagenkurs", count=1)
    auth.login(beginner.email)
    warm_up(client)
    few = statements_for(client, url)
    auth.logout()

    busy = make_user("learner")  # Kreis Düren: the Sonderkurs is open to them too
    work_through(busy, "grundlagenkurs")
    work_through(busy, "sonderkurs-strukturwandel")
    work_through(busy, "regulaerer-lehrgang", count=4)
    assert db.session.query(Certificate).filter_by(user_id=busy.id).count() >= 1
    seen_all_certificates(busy)
    auth.login(busy.email)
    warm_up(client)
    many = statements_for(client, url)

    assert len(few) == len(many), "\n".join(many)
    assert len(many) <= BOUNDS[url], "\n".join(many)


def test_the_module_page_reads_no_content_while_the_content_is_unchanged(client, learner):
    work_through(learner, "grundlagenkurs", count=1)
    client.get(MODULE)  # prepares the page in this process
    statements = statements_for(client, MODULE)
    assert not [s for s in statements if "content_revision" in s], "\n".join(statements)
    assert len(statements) == BOUNDS[MODULE]


def test_a_new_certificate_on_the_module_page_costs_no_statement_more(client, learner):
    work_through(learner, "grundlagenkurs")  # issues the certificate, not yet opened
    certificate = db.session.query(Certificate).filter_by(user_id=learner.id).one()
    client.get(MODULE)
    statements = statements_for(client, MODULE)
    assert len(statements) == BOUNDS[MODULE], "\n".join(statements)
    page = client.get(MODULE).get_data(as_text=True)
    assert f"Neu ausgestellt:</strong> {certificate.definition.title} (Nr. {certificate.number})" in page

    certificate_service.mark_seen(certificate)
    db.session.commit()
    assert "Neu ausgestellt" not in client.get(MODULE).get_data(as_text=True)


@pytest.mark.parametrize("url", ["/courses/grundlagenkurs", "/dashboard", "/certificates"])
def test_pages_that_read_the_certificates_show_the_new_one_without_asking_again(client, learner, url):
    work_through(learner, "grundlagenkurs")  # issues the certificate, not yet opened
    certificate = db.session.query(Certificate).filter_by(user_id=learner.id).one()
    client.get(url)
    statements = statements_for(client, url)
    page = client.get(url).get_data(as_text=True)
    assert f"{certificate.definition.title} (Nr. {certificate.number})" in page
    assert len(statements) <= BOUNDS[url]
    assert not [s for s in statements if "seen_at IS NULL" in s], "the notice came from the records already read"

    certificate_service.mark_seen(certificate)
    db.session.commit()
    assert "Neu ausgestellt" not in client.get(url).get_data(as_text=True)


def test_listed_workshops_cost_no_statement_each(client, make_user, auth):
    """The course page lists each upcoming workshop with the module it belongs to; with three of
    them it costs as many statements as with one (no module loaded per workshop)."""
    trainer = make_user("trainer")
    learner = make_user("learner")
    work_through(learner, "grundlagenkurs", count=1)
    make_workshop(trainer, days=10)
    auth.login(learner.email)
    warm_up(client)
    one = statements_for(client, "/courses/grundlagenkurs")

    make_workshop(trainer, days=12, title="Zweiter Abschlusstermin")
    make_workshop(trainer, days=14, module_id=None, title="Kursauftakt")
    page = client.get("/courses/grundlagenkurs").get_data(as_text=True)
    three = statements_for(client, "/courses/grundlagenkurs")

    assert len(three) == len(one) <= BOUNDS["/courses/grundlagenkurs"], "\n".join(three)
    final_title = db.session.get(Module, FINAL_MODULE).title
    assert page.count(f"Modul „{final_title}“") == 2 and "Zweiter Abschlusstermin" in page
    assert "Kursauftakt" in page and "dem ganzen Kurs" in page
