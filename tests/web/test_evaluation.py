"""Evaluating everyone at once (after a rule change) gives the same standings and certificates as
evaluating each learner, in a number of statements that does not grow with each learner."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from namalms.demo import complete_module
from namalms.extensions import db
from namalms.models import Certificate, Course, Eligibility
from namalms.models.base import utcnow
from namalms.services import progress
from namalms.services.certificates import evaluate_and_issue
from namalms.services.evaluation import evaluate_everyone
from tests.conftest import counted_statements

pytestmark = pytest.mark.both_databases  # bulk updates behave differently per database


def learners_with_progress(make_user, count: int, *, finished: int = 2, prefix: str = "eval"):
    users = []
    course = db.session.get(Course, "grundlagenkurs")
    modules = [m for m in course.modules if not m.is_retired]
    for number in range(count):
        user = make_user("learner", email=f"{prefix}{number}@example.org")
        progress.enrol(user, course)
        for module in modules[:finished if number else len(modules)]:  # the first one finishes the course
            complete_module(user, module, utcnow())
        users.append(user)
    db.session.execute(Eligibility.__table__.delete())
    db.session.execute(Certificate.__table__.delete())
    db.session.commit()
    return users


def standings() -> dict:
    return {(row.user_id, row.definition_id): (row.is_met, row.is_reachable, row.missing_count, row.done,
                                               row.total, tuple(row.missing))
            for row in db.session.scalars(select(Eligibility))}


def test_bulk_evaluation_matches_the_per_learner_path_and_issues_once(app, make_user):
    users = learners_with_progress(make_user, 5)
    report = evaluate_everyone(batch_size=2)
    db.session.commit()
    bulk = standings()
    assert report.learners == 5 and [c.definition_id for c in report.issued] == ["zertifikat-grundlagenkurs"]
    assert report.issued[0].user_id == users[0].id
    db.session.execute(Eligibility.__table__.delete())
    db.session.commit()
    for user in users:
        assert evaluate_and_issue(user) == [], "nothing is issued twice"
    db.session.commit()
    assert standings() == bulk


def test_a_dry_run_changes_nothing(app, make_user):
    learners_with_progress(make_user, 3)
    report = evaluate_everyone(dry_run=True)
    db.session.rollback()
    assert len(report.due) == 1 and report.issued == []
    assert db.session.scalar(select(Eligibility)) is None and db.session.scalar(select(Certificate)) is None


def test_statements_grow_with_batches_not_with_learners(app, make_user):
    learners_with_progress(make_user, 2, finished=1)
    with counted_statements() as few:
        evaluate_everyone(dry_run=True, batch_size=50)
    db.session.rollback()
    learners_with_progress(make_user, 12, finished=1, prefix="more")
    with counted_statements() as many:
        evaluate_everyone(dry_run=True, batch_size=50)
    db.session.rollback()
    assert len(few) == len(many)


def test_updating_earlier_standings_gives_the_per_learner_result(app, make_user):
    """The second run updates rows the first one wrote (the update path), to what each learner's
    own evaluation writes."""
    users = learners_with_progress(make_user, 4, finished=1)
    evaluate_everyone(batch_size=3)
    db.session.commit()
    course = db.session.get(Course, "grundlagenkurs")
    for module in [m for m in course.modules if not m.is_retired][1:3]:  # more progress since
        complete_module(users[2], module, utcnow())
    db.session.commit()
    report = evaluate_everyone(batch_size=3)
    db.session.commit()
    bulk = standings()
    assert report.learners == 4 and len(bulk) == 4 * len({d for _, d in bulk})
    db.session.execute(Eligibility.__table__.delete())
    db.session.commit()
    for user in users:
        evaluate_and_issue(user)
    db.session.commit()
    assert standings() == bulk


def test_each_rule_is_parsed_once_per_run_not_per_learner(app, make_user, monkeypatch):
    from namalms.services import evaluation

    learners_with_progress(make_user, 5, finished=1)
    parsed = []
    original = evaluation.parse_rule
    monkeypatch.setattr(evaluation, "parse_rule", lambda raw: parsed.append(raw) or original(raw))
    evaluate_everyone(dry_run=True, batch_size=2)
    db.session.rollback()
    assert len(parsed) == len(evaluation.active_definitions())


def learners_on_the_way(make_user, count: int, prefix: str) -> None:
    """Learners with one module done: standings to write, no certificate due."""
    course = db.session.get(Course, "grundlagenkurs")
    first = next(m for m in course.modules if not m.is_retired)
    for number in range(count):
        user = make_user("learner", email=f"{prefix}{number}@example.org")
        progress.enrol(user, course)
        complete_module(user, first, utcnow())
    db.session.commit()


def test_statements_of_a_real_run_grow_with_batches_not_with_learners(app, make_user):
    learners_on_the_way(make_user, 2, "few")
    with counted_statements() as few:
        evaluate_everyone(batch_size=50)
    db.session.commit()
    learners_on_the_way(make_user, 12, "more")
    with counted_statements() as many:
        evaluate_everyone(batch_size=50)
    db.session.rollback()
    assert len(few) == len(many)
