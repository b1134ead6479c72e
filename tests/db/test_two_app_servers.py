"""Two app servers (gunicorn with the shipped config) on one PostgreSQL and one Redis: what one
server saves the other shows, a session from one is valid on the other, the rate limit counts
the requests of both, and each server logs one JSON line per request.

This is the production set-up of the README ("Betrieb") in miniature; it needs the PostgreSQL
of NAMALMS_TEST_DATABASE_URL and the Redis at 127.0.0.1:6379.
"""
from __future__ import annotations

import http.cookiejar
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from namalms.certificates import keyring
from namalms.config import normalise_database_url
from tests.conftest import PASSWORD, PG_ENV, drop_postgres_database, recreate_postgres_database

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
FLASK = Path(sys.executable).parent / "flask"
REDIS_URL = "redis://127.0.0.1:6379/11"
STARTUP_LIMIT = 90  # seconds for a server to answer /healthz on a busy machine


def needs_postgres_and_redis() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"two app servers need PostgreSQL: set {PG_ENV}")
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except Exception as error:  # noqa: BLE001 - any failure: no Redis here
        pytest.skip(f"two app servers need Redis at {REDIS_URL}: {error}")
    return url


@pytest.fixture
def shared_database():
    """A database of its own on the test server, migrated and filled with the shipped content."""
    url = needs_postgres_and_redis()
    shared = recreate_postgres_database(url, f"{make_url(normalise_database_url(url)).database}_two_servers")
    yield shared
    drop_postgres_database(shared)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One gunicorn (one worker, two threads) with its own instance folder."""

    def __init__(self, name: str, env: dict[str, str], root: Path) -> None:
        self.port = free_port()
        self.log_path = root / f"{name}.log"
        instance = root / f"instance-{name}"
        instance.mkdir()
        (instance / "config.py").write_text("VERIFY_RATE_LIMIT = (5, 86400)\n")  # a day: no window edge
        env = {**env, "NAMALMS_INSTANCE_PATH": str(instance), "WEB_CONCURRENCY": "1", "NAMALMS_THREADS": "2",
               "NAMALMS_BIND": f"127.0.0.1:{self.port}"}
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(GUNICORN), "-c", "python:namalms.gunicorn_conf", "wsgi:app"], cwd=PROJECT_ROOT, env=env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.base = f"http://127.0.0.1:{self.port}"

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_LIMIT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.base} did not become healthy:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def log_lines(self) -> list[dict]:
        lines = []
        for line in self.log_path.read_text().splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
        return lines


class Browser:
    """A cookie jar and a form poster that follows the CSRF protection like a real browser."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  NoRedirect())

    def get(self, url: str) -> tuple[int, str, dict]:
        try:
            with self.opener.open(url, timeout=30) as response:
                return response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), dict(error.headers)

    def post_form(self, base: str, path: str, fields: dict[str, str], *, form_page: str | None = None):
        """Fetch the page with the form (``form_page``, default ``path``) for its CSRF token, then post."""
        _, page, _ = self.get(base + (form_page or path))
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({**fields, "csrf_token": token}).encode()
        request = urllib.request.Request(base + path, data=body, method="POST",
                                         headers={"Referer": base + path})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), dict(error.headers)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def migrate(url: str, env: dict[str, str]) -> None:
    for command in (["db", "upgrade"], ["content", "sync"]):
        finished = subprocess.run([str(FLASK), "--app", "namalms", *command], cwd=PROJECT_ROOT, env=env,
                                  capture_output=True, text=True, timeout=300)
        assert finished.returncode == 0, finished.stderr


def test_two_app_servers_share_state_sessions_and_rate_limits(shared_database, tmp_path):
    import redis

    ring = tmp_path / "signing-keys"
    keyring.generate(ring)  # shared by both servers, as the key ring is in production
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAMALMS_")}
    env.update({"NAMALMS_DATABASE_URL": shared_database, "NAMALMS_SECRET_KEY": secrets.token_urlsafe(32),
                "NAMALMS_SIGNING_KEY_FILE": str(ring), "NAMALMS_REDIS_URL": REDIS_URL,
                "NAMALMS_CONTENT_DIR": str(PROJECT_ROOT / "content"), "NAMALMS_PUBLIC_BASE_URL": "http://lernen.test",
                "PYTHONPATH": str(PROJECT_ROOT)})
    env["NAMALMS_INSTANCE_PATH"] = str(tmp_path / "instance-cli")
    migrate(shared_database, env)
    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()  # this test's own Redis database: no counts left from an earlier run
    first, second = Server("a", env, tmp_path), Server("b", env, tmp_path)
    try:
        first.wait_until_healthy()
        second.wait_until_healthy()

        # Registered on one server, logged in on the other.
        visitor = Browser()
        status, _, _ = visitor.post_form(first.base, "/register", {
            "name": "Zora Zweiserver", "email": "zora@example.org", "password": PASSWORD,
            "password_repeat": PASSWORD, "district_id": "kreis-dueren", "municipality": "Gemeinde Inden",
            "privacy": "y"})
        assert status == 302
        status, page, _ = visitor.get(second.base + "/dashboard")
        assert status == 200 and "Zora Zweiserver" in page, "the session from server A is valid on server B"
        other = Browser()
        status, _, headers = other.post_form(second.base, "/login", {"email": "zora@example.org",
                                                                    "password": PASSWORD})
        assert status == 302 and "/login" not in headers["Location"]

        # Enrolled on B, seen on A.
        status, _, _ = other.post_form(second.base, "/courses/grundlagenkurs/enrol", {},
                                       form_page="/courses/grundlagenkurs")
        assert status == 302
        status, page, _ = visitor.get(first.base + "/courses/grundlagenkurs")
        assert status == 200 and "Eingeschrieben seit" in page

        # The rate limit of the verification pages counts both servers' requests (Redis).
        statuses = [Browser().get(server.base + "/verify/gibt-es-nicht")[0]
                    for server in (first, second, first, second, first, second)]
        assert statuses[:5] == [404] * 5 and statuses[5] == 429, statuses
    finally:
        first.stop()
        second.stop()
        for key in store.scan_iter("namalms:ratelimit:verify:*"):
            store.delete(key)

    for server in (first, second):
        requests = [line for line in server.log_lines() if line.get("logger") == "namalms.request"]
        assert requests and all(line["request_id"] and "status" in line and "duration_ms" in line
                                for line in requests)
        assert any(line.get("route") == "/healthz" for line in requests)
    dashboard = [line for line in second.log_lines() if line.get("route") == "/dashboard"]
    assert dashboard and isinstance(dashboard[0]["user_id"], int), "the request line names the user"
