"""xAPI learning records: export of the demo data, the token API, and forwarding to an LRS that
is sometimes down. The LRS is a small real HTTP server on 127.0.0.1, started by the test."""
import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from namalms import lrs
from namalms.demo import seed_demo
from namalms.extensions import db
from namalms.formats import xapi as xapi_format
from namalms.models import Certificate, ProgressEvent, XapiOutbox
from namalms.services import tokens as token_service
from tests.conftest import PUBLIC_BASE as BASE
from tests.web.test_certificates import course_modules, work_through
from tests.xapi_rules import EMAIL, statement_problems

pytestmark = pytest.mark.both_databases


class StubLrs:
    """A minimal LRS: stores statements by id, refuses a batch with a known id (409, as strict
    LRSs do), accepts PUT by id, checks version header, credentials and the statement rules.

    ``mode``: "up", "unavailable" (503) or "drop" (stores, then closes without an answer – the
    answer is lost on the way)."""

    def __init__(self):
        self.statements: dict[str, dict] = {}
        self.received = 0
        self.mode = "up"
        self.invalid: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status, body=None):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _store(self, items):
                for statement in items:
                    stub.invalid += statement_problems(statement)
                    stub.statements[statement["id"]] = statement
                    stub.received += 1

            def _refused(self, items):
                if stub.mode == "unavailable":
                    self._reply(503)
                    return True
                if self.headers.get("X-Experience-API-Version") != "1.0.3":
                    self._reply(400, {"error": "version header"})
                    return True
                expected = "Basic " + base64.b64encode(b"nama:geheim").decode()
                if self.headers.get("Authorization") != expected:
                    self._reply(401)
                    return True
                return False

            def do_POST(self):
                items = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                items = items if isinstance(items, list) else [items]
                if self._refused(items):
                    return
                if any(s["id"] in stub.statements for s in items):
                    self._reply(409, {"error": "statement id exists"})
                    return
                self._store(items)
                if stub.mode == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self._reply(200, [s["id"] for s in items])

            def do_PUT(self):
                statement = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self._refused([statement]):
                    return
                statement_id = parse_qs(urlsplit(self.path).query)["statementId"][0]
                if statement_id in stub.statements:
                    self._reply(409 if stub.statements[statement_id] != statement else 204)
                    return
                self._store([statement])
                self._reply(204)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/xapi"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub_lrs(app, public_base):
    stub = StubLrs()
    app.config.update(LRS_URL=stub.url, LRS_USERNAME="nama", LRS_PASSWORD="geheim", LRS_TIMEOUT=5,
                      LRS_SEND_AFTER_COMMIT=False)
    yield stub
    lrs.wait_for_deliveries()
    app.config.update(LRS_URL=None, LRS_USERNAME=None, LRS_PASSWORD=None, LRS_SEND_AFTER_COMMIT=True)
    stub.close()


def closed_port_url():
    """An address where nothing listens: the LRS is down (connection refused)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/xapi"


def queued():
    return db.session.scalar(select(func.count(XapiOutbox.id)).where(XapiOutbox.sent_at.is_(None)))


def send(runner, *extra):
    return runner.invoke(args=["xapi", "send-queued", *extra])


# --- export ---------------------------------------------------------------------------------------

def test_export_of_the_demo_data_has_a_valid_statement_for_every_event_and_no_email(runner, app, public_base,
                                                                                     tmp_path):
    seed_demo()
    db.session.commit()
    target = tmp_path / "statements.jsonl"
    result = runner.invoke(args=["xapi", "export", "--since", "2000-01-01", str(target)])
    assert result.exit_code == 0, result.output
    text = target.read_text(encoding="utf-8")
    statements = [json.loads(line) for line in text.splitlines()]

    events = db.session.scalars(select(ProgressEvent)).all()
    certificates = db.session.scalars(select(Certificate)).all()
    revoked = [c for c in certificates if c.revoked_at]
    assert {e.kind for e in events} >= {"enrolled", "module_opened", "module_done", "quiz_attempt",
                                        "quiz_passed", "module_completed", "workshop_attended"}
    assert revoked, "the demo has a revoked certificate"
    expected = {xapi_format.statement_id(BASE, "progress", e.id) for e in events}
    expected |= {xapi_format.statement_id(BASE, "earned", c.id) for c in certificates}
    expected |= {xapi_format.statement_id(BASE, "revoked", c.id) for c in revoked}
    assert {s["id"] for s in statements} == expected
    assert len(statements) == len(expected), "no statement twice"
    for statement in statements:
        assert statement_problems(statement) == [], statement
    assert not EMAIL.search(text), "no e-mail address anywhere in the export"
    assert "demo.nama.nrw" not in text
    timestamps = [s["timestamp"] for s in statements]
    assert timestamps == sorted(timestamps)


def test_export_period_and_bad_dates(runner, learner, public_base):
    work_through(learner, "grundlagenkurs", count=1)
    result = runner.invoke(args=["xapi", "export", "--since", "01.01.2000", "--until", "31.12.2000"])
    assert result.exit_code == 0 and result.stdout == ""
    assert "exported 0 statement(s)" in result.output
    result = runner.invoke(args=["xapi", "export", "--since", "gestern"])
    assert result.exit_code == 2 and "--since must be a date" in result.output


# --- API ------------------------------------------------------------------------------------------

def test_statements_api_pages_and_filters_by_since(client, learner, public_base):
    _, raw = token_service.create_token("Evaluation", actor_label="Test")
    db.session.commit()
    work_through(learner, "grundlagenkurs", count=2)
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/statements").status_code == 401
    total = db.session.scalar(select(func.count(ProgressEvent.id)))
    first = client.get("/api/v1/statements?per_page=3", headers=headers).get_json()
    assert first["total"] == total and len(first["items"]) == 3 and first["next"]
    second = client.get(first["next"], headers=headers).get_json()
    assert not {s["id"] for s in first["items"]} & {s["id"] for s in second["items"]}
    for statement in first["items"] + second["items"]:
        assert statement_problems(statement) == []
        assert learner.email not in json.dumps(statement)
    assert client.get("/api/v1/statements?since=2999-01-01", headers=headers).get_json()["total"] == 0
    assert client.get("/api/v1/statements?since=2000-01-01T00:00:00Z", headers=headers).get_json()["total"] == total
    bad = client.get("/api/v1/statements?since=irgendwann&page=x", headers=headers)
    assert bad.status_code == 400 and set(bad.get_json()["fields"]) == {"since", "page"}


# --- forwarding -------------------------------------------------------------------------------------

def test_nothing_is_queued_without_an_lrs(learner):
    work_through(learner, "grundlagenkurs", count=1)
    assert queued() == 0


def test_statements_are_queued_with_the_event_and_not_without_it(client, learner, stub_lrs):
    module = course_modules("grundlagenkurs")[0]
    client.post("/courses/grundlagenkurs/enrol")
    assert queued() == 1, "the enrolment and its queue row were committed together"
    response = client.post(f"/modules/{module.id}/done")
    assert response.status_code in (302, 303)
    assert queued() == 2
    # A refused request saves neither the event nor its statement.
    client.post(f"/modules/{course_modules('sonderkurs-strukturwandel')[0].id}/done")
    assert queued() == 2


def test_forwarding_survives_the_lrs_being_down_and_sends_each_statement_once(app, runner, learner, stub_lrs):
    app.config["LRS_URL"] = closed_port_url()
    work_through(learner, "grundlagenkurs", count=2)
    waiting = queued()
    assert waiting > 5

    result = send(runner)
    assert result.exit_code == 1 and "not reachable" in result.output
    assert queued() == waiting, "nothing lost while the LRS is unreachable"
    item = db.session.scalars(select(XapiOutbox)).first()
    assert item.attempts == 1 and item.last_error and item.next_attempt_at > item.created_at

    app.config["LRS_URL"] = stub_lrs.url
    stub_lrs.mode = "unavailable"
    assert "sent 0" in send(runner).output, "backing off: not retried at once"
    assert send(runner, "--now").exit_code == 1 and queued() == waiting

    stub_lrs.mode = "drop"  # the LRS stores the batch, but its answer never arrives
    assert send(runner, "--now").exit_code == 1
    assert stub_lrs.received == waiting and queued() == waiting

    stub_lrs.mode = "up"
    result = send(runner, "--now")
    assert result.exit_code == 0, result.output
    assert queued() == 0
    assert len(stub_lrs.statements) == stub_lrs.received == waiting, "stable ids: nothing stored twice"
    assert stub_lrs.invalid == []
    events = db.session.scalar(select(func.count(ProgressEvent.id)))
    certificates = db.session.scalar(select(func.count(Certificate.id)))
    assert len(stub_lrs.statements) == events + certificates


def test_revocation_is_forwarded_as_voiding_the_earned_statement(runner, learner, stub_lrs):
    from namalms.services import certificates as certificate_service

    work_through(learner, "grundlagenkurs")
    [certificate] = db.session.scalars(select(Certificate)).all()
    certificate_service.revoke_certificate(certificate, category="error", reason="Test: Widerruf")
    db.session.commit()
    assert send(runner).exit_code == 0
    earned = xapi_format.statement_id(BASE, "earned", certificate.id)
    voiding = stub_lrs.statements[xapi_format.statement_id(BASE, "revoked", certificate.id)]
    assert earned in stub_lrs.statements and voiding["object"] == {"objectType": "StatementRef", "id": earned}


def test_statements_are_sent_right_after_commit(app, client, learner, stub_lrs):
    app.config["LRS_SEND_AFTER_COMMIT"] = True
    client.post("/courses/grundlagenkurs/enrol")
    lrs.wait_for_deliveries()
    assert len(stub_lrs.statements) == 1
    db.session.expire_all()
    assert queued() == 0


def test_send_without_an_lrs_says_so(runner):
    result = send(runner)
    assert result.exit_code == 1 and "no LRS configured" in result.output
