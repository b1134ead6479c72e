"""Benchmark: how much does a logged-in module page cost compared with the health check?

The product promise is "a module page costs about as much as a static page". This script puts
a number on it: it builds a throw-away SQLite database (migrations + shipped content + one
learner enrolled in the Grundlagenkurs), starts the real production stack (gunicorn with
`wsgi:app`) on a free port of 127.0.0.1, logs in through the real login form (CSRF token and
all) and then hammers `GET /healthz` and `GET /modules/gk-agenda-2030` from several client
threads on the same server in one run.

Run from the project root:  .venv/bin/python -m tests.bench.bench_pages [--threads 4 --requests 2000]

It prints one figure per line, `name: value unit`. It is not a test (pytest does not collect
`bench_*.py`), stops gunicorn even on errors and gives up after a fixed time budget.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GUNICORN = PROJECT_ROOT / ".venv" / "bin" / "gunicorn"
HOST = "127.0.0.1"  # never anything else: the benchmark only talks to itself
COURSE_ID = "grundlagenkurs"
MODULE_PATH = "/modules/gk-agenda-2030"
LEARNER_EMAIL = "bench-lernende@example.org"
LEARNER_PASSWORD = "Sonnenblume-Windrad-42"
CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
STARTUP_TIMEOUT_S = 20.0
# Time budgets: start-up 20 s + 2 × (warm-up 5 s + phase 35 s) keeps a run under two minutes.
PHASE_BUDGET_S = 35.0
WARM_UP_BUDGET_S = 5.0
REQUEST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Settings:
    threads: int
    requests: int
    workers: int


@dataclass(frozen=True)
class LoadResult:
    """What one load phase measured: successful requests, failures, wall time, latencies (s)."""

    ok: int
    failed: int
    elapsed_s: float
    latencies_s: tuple[float, ...]
    stopped_early: bool

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0

    def percentile_ms(self, share: float) -> float:
        """Latency below which `share` of the requests finished, in milliseconds."""
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


# --- set-up -------------------------------------------------------------------------------------


def build_database(database_url: str, secret_key: str) -> None:
    """Schema by the migrations, the shipped content, and one learner enrolled in the Grundlagenkurs."""
    from flask_migrate import upgrade

    from namalms import create_app
    from namalms.content.loader import load_tree
    from namalms.extensions import db
    from namalms.models import Course
    from namalms.services.accounts import create_user
    from namalms.services.content_sync import sync_tree
    from namalms.services.progress import enrol

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": secret_key,
        "CONTENT_DIR": str(PROJECT_ROOT / "content"),
    })
    with app.app_context():
        upgrade()
        result = load_tree(PROJECT_ROOT / "content")
        if result.problems:
            raise SystemExit("content has problems:\n" + "\n".join(map(str, result.problems)))
        sync_tree(result.tree)
        learner = create_user(email=LEARNER_EMAIL, name="Bernd Benchmark", role="learner",
                              password=LEARNER_PASSWORD, district_id="rhein-erft-kreis",
                              municipality="Stadt Bergheim")
        enrol(learner, db.session.get(Course, COURSE_ID))
        db.session.commit()
        db.engine.dispose()


def write_instance(directory: Path) -> str:
    """A fresh secret key, kept in the temporary instance folder (0600) and handed over by env."""
    key = secrets.token_urlsafe(48)
    path = directory / "secret_key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start_gunicorn(port: int, workers: int, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """gunicorn serving `wsgi:app` from the project root, its output going to a log file."""
    command = [str(GUNICORN), "-w", str(workers), "-b", f"{HOST}:{port}", "--log-level", "warning", "wsgi:app"]
    log = open(log_path, "wb")
    try:
        # Its own process group, so stopping it also stops its workers.
        return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    finally:
        log.close()


def stop_gunicorn(process: subprocess.Popen) -> None:
    """Graceful stop (SIGTERM to the arbiter's group), then SIGKILL if it does not go in time."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def wait_until_healthy(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with code {process.returncode} during start-up")
        try:
            status, _, _ = fetch(port, "GET", "/healthz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer /healthz within {STARTUP_TIMEOUT_S:.0f} s")


# --- HTTP helpers -------------------------------------------------------------------------------


def fetch(port: int, method: str, path: str, *, body: str | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPMessage, str]:
    """One request on a fresh connection: (status, headers, text)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


class CookieJar:
    """The few cookies one client keeps; Secure flags are ignored on purpose (plain HTTP to ourselves)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def take(self, headers: http.client.HTTPMessage) -> None:
        for raw in headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(raw).items():
                self.values[name] = morsel.value

    def header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.values.items())} if self.values else {}


def log_in(port: int) -> dict[str, str]:
    """Log in through the real form (CSRF token from the page); returns the Cookie header to send."""
    jar = CookieJar()
    status, headers, page = fetch(port, "GET", "/login")
    jar.take(headers)
    token = CSRF_INPUT.search(page)
    if status != 200 or token is None:
        raise RuntimeError(f"GET /login gave {status} without a csrf_token field")
    form = urlencode({"csrf_token": token.group(1), "email": LEARNER_EMAIL, "password": LEARNER_PASSWORD})
    status, headers, _ = fetch(port, "POST", "/login", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", **jar.header()})
    jar.take(headers)
    if status != 302 or not headers.get("Location", "").endswith("/dashboard"):
        raise RuntimeError(f"login failed: POST /login gave {status} → {headers.get('Location')!r}")
    status, _, page = fetch(port, "GET", MODULE_PATH, headers=jar.header())
    if status != 200 or "Selbstcheck" not in page:
        raise RuntimeError(f"the logged-in learner cannot open {MODULE_PATH} (status {status})")
    return jar.header()


# --- load ---------------------------------------------------------------------------------------


def client_loop(port: int, path: str, headers: dict[str, str], count: int, deadline: float,
                start: threading.Barrier, latencies: list[float], failures: list[int]) -> None:
    """One client thread: `count` GETs over one keep-alive connection (reopened if the server closes it)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
    start.wait()
    try:
        for _ in range(count):
            if time.monotonic() > deadline:
                break
            began = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                failures.append(1)
                connection.close()  # the next request opens a new connection
                continue
            if response.status == 200:
                latencies.append(time.perf_counter() - began)
            else:
                failures.append(response.status)
    finally:
        connection.close()


def measure(port: int, path: str, headers: dict[str, str], settings: Settings,
            budget_s: float = PHASE_BUDGET_S) -> LoadResult:
    """Run `threads` clients × `requests` GETs of `path` at once; stop early at the time budget."""
    latencies: list[float] = []  # list.append is atomic in CPython: safe to share
    failures: list[int] = []
    start = threading.Barrier(settings.threads + 1)
    deadline = time.monotonic() + budget_s
    workers = [
        threading.Thread(target=client_loop, daemon=True,
                         args=(port, path, headers, settings.requests, deadline, start, latencies, failures))
        for _ in range(settings.threads)
    ]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join(budget_s + REQUEST_TIMEOUT_S)
    elapsed = time.perf_counter() - began
    expected = settings.threads * settings.requests
    return LoadResult(ok=len(latencies), failed=len(failures), elapsed_s=elapsed,
                      latencies_s=tuple(latencies), stopped_early=len(latencies) + len(failures) < expected)


def warm_up(port: int, path: str, headers: dict[str, str], settings: Settings) -> None:
    """A few requests per worker process first, so imports and first connections are not measured."""
    measure(port, path, headers, Settings(threads=settings.threads, requests=25, workers=settings.workers),
            budget_s=WARM_UP_BUDGET_S)


def report(name: str, result: LoadResult) -> None:
    print(f"{name}_rps: {result.rps:.1f} req/s")
    print(f"{name}_p50_ms: {result.percentile_ms(0.50):.2f} ms")
    print(f"{name}_p95_ms: {result.percentile_ms(0.95):.2f} ms")
    print(f"{name}_requests: {result.ok} ok, {result.failed} failed{' (time budget hit)' if result.stopped_early else ''}")


# --- main ---------------------------------------------------------------------------------------


def parse_settings(argv: list[str] | None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=4, help="concurrent client threads (default 4)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per thread and page (default 2000)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    args = parser.parse_args(argv)
    return Settings(threads=args.threads, requests=args.requests, workers=args.workers)


def run(settings: Settings, workdir: Path) -> None:
    database_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    secret_key = write_instance(workdir)
    build_database(database_url, secret_key)
    env = {**os.environ, "NAMALMS_DATABASE_URL": database_url, "NAMALMS_SECRET_KEY": secret_key}
    port = free_port()
    log_path = workdir / "gunicorn.log"
    server = start_gunicorn(port, settings.workers, env, log_path)
    try:
        wait_until_healthy(port, server)
        cookie = log_in(port)
        print(f"setup: gunicorn -w {settings.workers}, {settings.threads} client threads × "
              f"{settings.requests} requests per page, SQLite", file=sys.stderr)
        warm_up(port, "/healthz", {}, settings)
        healthz = measure(port, "/healthz", {}, settings)
        warm_up(port, MODULE_PATH, cookie, settings)
        module_page = measure(port, MODULE_PATH, cookie, settings)
    except BaseException:
        print(f"--- gunicorn log ({log_path}) ---\n{log_path.read_text(errors='replace')[-3000:]}", file=sys.stderr)
        raise
    finally:
        stop_gunicorn(server)
    report("healthz", healthz)
    report("module_page", module_page)
    ratio = module_page.rps / healthz.rps if healthz.rps else float("nan")
    print(f"module_page_ratio: {ratio:.2f}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: set up, measure, print figures, and always clean up the temporary files."""
    settings = parse_settings(argv)
    workdir = Path(tempfile.mkdtemp(prefix="namalms-bench-"))
    try:
        run(settings, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
