"""Request ids and structured logs: one JSON line per request, errors with their traceback."""
import io
import json
import logging

import pytest

from namalms import create_app
from namalms.observability import JsonFormatter, RequestContextFilter
from tests.conftest import app_config


@pytest.fixture
def request_records(caplog):
    caplog.set_level(logging.INFO, logger="namalms.request")
    return lambda: [r for r in caplog.records if r.name == "namalms.request"]


def as_json(record) -> dict:
    return json.loads(JsonFormatter().format(record))


def test_every_request_has_an_id_in_the_header(client):
    first, second = client.get("/"), client.get("/")
    assert len(first.headers["X-Request-Id"]) == 16
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]


def test_a_proxys_request_id_is_kept_but_garbage_is_replaced(client):
    assert client.get("/", headers={"X-Request-Id": "lb-4f2a9c0e-77"}).headers["X-Request-Id"] == "lb-4f2a9c0e-77"
    replaced = client.get("/", headers={"X-Request-Id": "<script>alert(1)</script>"}).headers["X-Request-Id"]
    assert "script" not in replaced and replaced.isalnum()


def test_one_json_line_per_request_with_user_route_status_and_duration(client, learner, request_records):
    response = client.get("/modules/gk-agenda-2030")
    [record] = [r for r in request_records() if r.endpoint == "learner.module"]
    line = as_json(record)
    assert line["request_id"] == response.headers["X-Request-Id"]
    assert line["user_id"] == learner.id and line["route"] == "/modules/<module_id>"
    assert line["status"] == response.status_code and line["method"] == "GET"
    assert isinstance(line["duration_ms"], float) and line["level"] == "INFO"
    assert "gk-agenda-2030" not in json.dumps(line), "the route pattern is logged, not the URL"


def test_anonymous_requests_log_no_user(client, request_records):
    client.get("/verify/kein-code")
    [record] = [r for r in request_records() if r.endpoint == "verify.show"]
    assert as_json(record).get("user_id") is None and record.status == 404


def test_an_error_is_logged_with_its_traceback_and_the_page_shows_the_request_id(tmp_path, caplog):
    app = create_app(app_config(f"sqlite:///{tmp_path / 'x.sqlite3'}", PROPAGATE_EXCEPTIONS=False),
                     instance_path=str(tmp_path / "i"))

    @app.route("/kaputt")
    def broken():
        raise ZeroDivisionError("absichtlich")

    with caplog.at_level(logging.ERROR, logger="namalms"):
        response = app.test_client().get("/kaputt")
    text = response.get_data(as_text=True)
    request_id = response.headers["X-Request-Id"]
    assert response.status_code == 500 and "Interner Fehler" in text and request_id in text
    [error] = [r for r in caplog.records if r.exc_info]
    line = as_json(error)
    assert line["request_id"] == request_id
    assert "ZeroDivisionError: absichtlich" in line["exc_info"] and "Traceback" in line["exc_info"]


def test_log_lines_are_single_line_json_even_for_tracebacks():
    logger = logging.getLogger("namalms.test.json")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("zwei\nZeilen")
        except ValueError:
            logger.exception("etwas ging schief", extra={"route": "/x"})
    finally:
        logger.removeHandler(handler)
    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["message"] == "etwas ging schief" and entry["route"] == "/x" and entry["request_id"] is None
    assert "ValueError: zwei" in entry["exc_info"]
