"""What a process keeps from the published content is current the moment the content changes.

Every app process prepares module pages, the course structure and the programme's rules once per
content stamp; these tests change content the ways the app does and check that every process –
also a second app server on the same database – shows the change at once, and that a change
that rolled back leaves nothing behind.
"""
from __future__ import annotations

import pytest

from namalms import content_cache, create_app
from namalms.extensions import db
from namalms.models import Module
from namalms.services import course_structure
from namalms.services.progress import enrol
from tests.conftest import app_config

pytestmark = pytest.mark.both_databases  # transactions and isolation differ between the databases

MODULE = "gk-agenda-2030"


def stamp() -> int:
    return db.session.scalar(content_cache.STAMP_QUERY)


@pytest.fixture
def restore_title(app):
    original = db.session.get(Module, MODULE).title
    yield
    db.session.rollback()
    db.session.get(Module, MODULE).title = original
    db.session.commit()


def test_changing_content_changes_the_stamp_and_learner_data_does_not(app, make_user):
    before = stamp()
    learner = make_user("learner")
    enrol(learner, db.session.get(Module, MODULE).course)
    db.session.commit()
    assert stamp() == before, "enrolments and accounts are not content"
    db.session.get(Module, MODULE).position += 0  # touched, written back unchanged
    module = db.session.get(Module, MODULE)
    module.title = module.title + " "
    db.session.commit()
    after = stamp()
    assert after != before
    module.title = module.title.rstrip()
    db.session.commit()
    assert stamp() not in (before, after), "stamps are never reused"


def test_a_rolled_back_change_leaves_the_stamp_and_the_prepared_structure(app, restore_title):
    before, title = stamp(), db.session.get(Module, MODULE).title
    db.session.get(Module, MODULE).title = "Nie veröffentlicht"
    db.session.flush()
    seen_inside = [m.title for c in course_structure.courses() for m in c.modules if m.id == MODULE]
    assert seen_inside == ["Nie veröffentlicht"], "the change's own transaction sees it"
    db.session.rollback()
    assert stamp() == before
    assert [m.title for c in course_structure.courses() for m in c.modules if m.id == MODULE] == [title]


def test_a_second_app_server_shows_a_change_published_on_the_first(app, database_url, tmp_path, make_user,
                                                                     restore_title):
    other = create_app(app_config(database_url), instance_path=str(tmp_path / "other"))
    learner = make_user("learner")
    enrol(learner, db.session.get(Module, MODULE).course)
    db.session.commit()

    def title_on_other_server() -> str:
        with other.app_context():
            try:
                return next(m.title for c in course_structure.courses() for m in c.modules if m.id == MODULE)
            finally:
                db.session.remove()

    first = title_on_other_server()  # prepared and kept by the other server
    db.session.get(Module, MODULE).title = "Agenda 2030 – neu gefasst"
    db.session.commit()
    assert first != "Agenda 2030 – neu gefasst"
    assert title_on_other_server() == "Agenda 2030 – neu gefasst"
    with other.app_context():
        db.engine.dispose()


def test_the_module_page_shows_a_new_title_at_once(client, learner, restore_title):
    enrol(learner, db.session.get(Module, MODULE).course)
    db.session.commit()
    assert "Agenda 2030 – neu gefasst" not in client.get(f"/modules/{MODULE}").get_data(as_text=True)
    db.session.get(Module, MODULE).title = "Agenda 2030 – neu gefasst"
    db.session.commit()
    page = client.get(f"/modules/{MODULE}").get_data(as_text=True)
    assert "<h1>Agenda 2030 – neu gefasst</h1>" in page
