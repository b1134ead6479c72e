"""xAPI statements built from progress records: one table of cases, every statement valid."""
from datetime import datetime, timezone

import pytest

from namalms.formats import xapi
from tests.xapi_rules import statement_problems

BASE = "https://lernen.nama.nrw"
AT = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=timezone.utc)
COURSE = xapi.Named("grundlagenkurs", "Grundlagenkurs")
MODULE = xapi.Named("gk-agenda-2030", "Die Agenda 2030")

CASES = [
    # kind, data, verb, object id suffix, result
    ("enrolled", {}, "registered", "/courses/grundlagenkurs", None),
    ("module_opened", {}, "experienced", "/modules/gk-agenda-2030", None),
    ("module_done", {}, "completed", "/modules/gk-agenda-2030#inhalt", {"completion": True}),
    ("quiz_attempt", {"score": 90, "passed": True}, "attempted", "/modules/gk-agenda-2030#selbstcheck",
     {"success": True, "completion": True, "score": {"scaled": 0.9, "raw": 90, "min": 0, "max": 100}}),
    ("quiz_attempt", {"score": 40, "passed": False}, "failed", "/modules/gk-agenda-2030#selbstcheck",
     {"success": False, "completion": True, "score": {"scaled": 0.4, "raw": 40, "min": 0, "max": 100}}),
    ("quiz_passed", {"score": 100}, "passed", "/modules/gk-agenda-2030#selbstcheck",
     {"success": True, "completion": True, "score": {"scaled": 1.0, "raw": 100, "min": 0, "max": 100}}),
    ("module_completed", {}, "completed", "/modules/gk-agenda-2030", {"completion": True}),
    ("workshop_attended", {"source": "manual"}, "attended", "/modules/gk-agenda-2030#workshop", None),
]


@pytest.mark.parametrize("kind, data, verb, suffix, result", CASES)
def test_every_progress_kind_becomes_a_valid_statement(kind, data, verb, suffix, result):
    record = xapi.ProgressRecord(event_id=7, kind=kind, at=AT, actor="a1b2c3", course=COURSE,
                                 module=None if kind == "enrolled" else MODULE, data=data)
    statement = xapi.progress_statement(BASE + "/", record)
    assert statement_problems(statement) == []
    assert statement["verb"]["id"] == xapi.VERBS[verb][0]
    assert statement["verb"]["display"]["de-DE"]
    assert statement["object"]["id"] == BASE + suffix
    assert statement["object"]["definition"]["name"]["de-DE"]
    assert statement.get("result") == result
    assert statement["actor"] == {"objectType": "Agent", "account": {"homePage": BASE, "name": "a1b2c3"}}
    assert statement["timestamp"] == "2026-03-02T09:30:15.123Z"
    assert statement["id"] == xapi.statement_id(BASE, "progress", 7), "stable: the same record, the same id"


def test_a_course_workshop_has_its_own_activity():
    record = xapi.ProgressRecord(event_id=1, kind="workshop_attended", at=AT, actor="x", course=COURSE,
                                 workshop=xapi.Named("12", "Abschlussworkshop"), data={"workshop_id": 12})
    statement = xapi.progress_statement(BASE, record)
    assert statement_problems(statement) == []
    assert statement["object"]["id"] == BASE + "/courses/grundlagenkurs#workshop-12"


def test_certificate_earned_and_revoked_void_the_same_statement():
    record = xapi.CertificateRecord(certificate_id=3, actor="x", definition=xapi.Named("pro", "Pro-Zertifikat"),
                                    issued_at=AT, revoked_at=AT.replace(month=4))
    earned, revoked = xapi.earned_statement(BASE, record), xapi.revoked_statement(BASE, record)
    assert statement_problems(earned) == [] and statement_problems(revoked) == []
    assert earned["verb"]["id"] == "http://id.tincanapi.com/verb/earned"
    assert revoked["object"] == {"objectType": "StatementRef", "id": earned["id"]}
    assert earned["id"] != revoked["id"]


def test_ids_differ_between_sources_and_installations():
    ids = {xapi.statement_id(base, source, 1) for base in (BASE, "https://other.example")
           for source in ("progress", "earned", "revoked")}
    assert len(ids) == 6


def test_unknown_kinds_and_naive_times_are_refused():
    with pytest.raises(ValueError):
        xapi.progress_statement(BASE, xapi.ProgressRecord(1, "teleported", AT, "x", module=MODULE))
    with pytest.raises(ValueError):
        xapi.timestamp(datetime(2026, 1, 1))


@pytest.mark.parametrize("bad, problem", [
    ({"result": {"score": {"scaled": 1.5}}}, "outside [-1, 1]"),
    ({"timestamp": "2026-01-01T10:00:00"}, "without time zone"),
    ({"verb": {"id": "passed"}}, "not an IRI"),
    ({"id": "123"}, "not a UUID"),
    ({"actor": {"objectType": "Agent", "mbox": "mailto:a@b.de", "account": {"homePage": BASE, "name": "x"}}},
     "exactly one"),
])
def test_the_rules_catch_broken_statements(bad, problem):
    statement = xapi.progress_statement(BASE, xapi.ProgressRecord(1, "module_opened", AT, "x", module=MODULE))
    statement.update(bad)
    assert any(problem in p for p in statement_problems(statement))
