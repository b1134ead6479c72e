"""Benchmark: what the learner pages cost, as shares of a bare Flask app on the same stack.

The product promise is "a module page costs about as much as a static page". This script puts
numbers on it, all in one run so they can be compared:

1. A throw-away installation in a temporary directory: an instance folder (secret key, signing
   key, `config.py`) and an SQLite database built by the migrations with the shipped content,
   16 learners enrolled in the Grundlagenkurs – half of them worked through it and hold the
   certificate (issued by the services, as a finished course issues it), the others on the way.
2. Two gunicorns with identical settings (2 sync workers, 127.0.0.1, free ports): the real app
   (`wsgi.py`, via `tests/bench/server.py` for the instance folder) and the bare Flask app of
   `tests/bench/hello.py`, the reference for every ratio.
3. 16 logins through the real login form (CSRF token and all), one per learner.
4. `wrk -t2 -c16` with `tests/bench/sessions.lua`, which sends the 16 sessions' cookies
   round-robin. Every target is warmed up, then measured in rounds that each run every target
   once (interleaved: a busy moment of the machine hits all targets alike). The script leaves
   the answers to wrk (handing each body to Lua cost the client more per byte than the server);
   wrk counts 4xx/5xx answers itself, and after each run every session is asked once more, so a
   lost login (a redirect) is caught too.

It prints `name: value unit` lines per target – `<name>_rps`, `<name>_p50_ms`, `<name>_p99_ms`
(medians over the rounds) and `<name>_ratio` (its req/s over the bare app's) – and, for the
app's targets, the SQL statements and write locks (`BEGIN IMMEDIATE`) of one request, counted
in-process (a kept page – see `namalms.page_memo` – costs the login's one statement; the
figure `<name>_drawn_sql` is what drawing it afresh costs). Each round's req/s go to stderr: how
far they differ shows how noisy the machine was. Any 4xx/5xx answer, a session that lost its
login, any timeout or socket error stops the run with the reason: a benchmark of redirects to
/login or of 429s measures nothing.

Run from the project root (needs wrk, e.g. `apt install wrk`):
    .venv/bin/python -m tests.bench.bench_pages [--duration 5 --rounds 3 --warm-up 1]

It is not a test (pytest does not collect `bench_*.py`). Both gunicorns are stopped and the
temporary files removed whatever happens (errors, Ctrl+C, SIGTERM). The defaults take about
three minutes.
"""
from __future__ import annotations

import argparse
import http.client
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Iterator
from urllib.parse import urlencode

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = Path(__file__).resolve().parent
LUA_SCRIPT = BENCH_DIR / "sessions.lua"
# The gunicorn of the Python running this script (.venv/bin/gunicorn under `make bench`).
GUNICORN = Path(sys.executable).parent / "gunicorn"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
HOST = "127.0.0.1"  # never anything else: the benchmark only talks to itself
WORKERS = 2
WRK_THREADS = 2
CONNECTIONS = 16
SESSIONS = 16  # learners, one login each
CERTIFICATE_HOLDERS = 8  # the first learners work through the whole course
COURSE_ID = "grundlagenkurs"
MODULE_ID = "gk-agenda-2030"
PASSWORD = "Sonnenblume-Windrad-42"
INSTANCE_VARIABLE = "NAMALMS_BENCH_INSTANCE"  # read by tests/bench/server.py
PROBE_PATH = "/_bench/user"  # the routes tests/bench/server.py adds
STATE_PROBE_PATH = "/_bench/module-state"
DRAWN_PROBE_PATH = "/_bench/module-drawn"
USER_AGENT = "namalms-bench"  # the same on every request: login sessions are bound to it
CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
STARTUP_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 30.0
WRK_TIMEOUT_S = 10  # a request slower than this counts as failed (wrk's default of 2 s is too short for the PDF)
# Rate limits the benchmark's instance raises in its config.py (the defaults in namalms/config.py
# stay): the 16 logins and wrk's hundreds of /verify requests a second all come from 127.0.0.1.
# The limiter keeps running, so its cost is in every figure; a one-second window keeps its
# in-memory list of hits short.
RAISED_LIMITS = {
    "LOGIN_LIMIT_PER_ACCOUNT": "1000 per 15 minutes",
    "LOGIN_LIMIT_PER_ADDRESS": "1000 per 15 minutes",
    "VERIFY_RATE_LIMIT": "1000000 per second",
}


# --- pure parts: requests, wrk's report, summaries ---------------------------------------------


@dataclass(frozen=True)
class Request:
    """One GET as wrk sends it: a path and the headers of the session it belongs to."""

    path: str
    headers: tuple[tuple[str, str], ...] = ()

    def line(self) -> str:
        """The request as a line of the requests file `sessions.lua` reads."""
        fields = [self.path, *(f"{name}: {value}" for name, value in self.headers)]
        if any("\t" in part or "\n" in part for part in fields):
            raise ValueError(f"tab or newline in a request of {self.path!r}")
        return "\t".join(fields)


@dataclass(frozen=True)
class Target:
    """A page to measure: its requests (sent round-robin) and which server answers them."""

    name: str
    requests: tuple[Request, ...]
    server: str = "app"  # "app" or "bare"


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run reported (the line `sessions.lua` prints in done())."""

    requests: int
    duration_us: int
    p50_us: float
    p99_us: float
    failed: int
    statuses: dict[int, int]
    socket_errors: dict[str, int]

    @property
    def rps(self) -> float:
        return self.requests / (self.duration_us / 1e6) if self.duration_us else 0.0

    def problem(self, *, may_be_empty: bool = False) -> str | None:
        """Why the run does not count (non-2xx answers, socket errors, nothing answered), or None."""
        if self.failed:
            listed = ", ".join(f"{count} × {status}" for status, count in sorted(self.statuses.items()))
            return f"{self.failed} of {self.requests} answers were not 2xx" + (f" ({listed})" if listed else "")
        errors = {kind: count for kind, count in self.socket_errors.items() if count}
        if errors:
            return "socket errors: " + ", ".join(f"{count} {kind}" for kind, count in errors.items())
        if not self.requests and not may_be_empty:
            return "no request was answered (slower than the duration? try a longer --duration)"
        return None


RESULT_LINE = re.compile(r"^wrk-result (.*)$", re.MULTILINE)


def parse_wrk_output(text: str) -> WrkResult:
    """Read the `wrk-result key=value ...` line out of wrk's output (ValueError if it is missing)."""
    found = RESULT_LINE.search(text)
    if found is None:
        raise ValueError("wrk printed no wrk-result line (did the Lua script fail?)")
    values = dict(pair.split("=", 1) for pair in found.group(1).split())
    statuses = {}
    if values.get("statuses", "-") != "-":
        for item in values["statuses"].split(","):
            status, count = item.split(":")
            statuses[int(status)] = int(count)
    return WrkResult(
        requests=int(values["requests"]), duration_us=int(values["duration_us"]),
        p50_us=float(values["p50_us"]), p99_us=float(values["p99_us"]), failed=int(values["failed"]),
        statuses=statuses,
        socket_errors={kind: int(values[f"{kind}_errors"]) for kind in ("connect", "read", "write")}
        | {"timeouts": int(values["timeouts"])},
    )


@dataclass(frozen=True)
class Summary:
    """One target's figures over all rounds."""

    rps: float
    p50_ms: float
    p99_ms: float
    ratio: float


def summarise(rounds: list[dict[str, WrkResult]], bare: str = "bare") -> dict[str, Summary]:
    """Medians over the rounds; the ratio is the median req/s over the bare app's median req/s
    (the two printed figures divided, so a reader can check it)."""
    summaries = {}
    bare_rps = statistics.median(measured[bare].rps for measured in rounds)
    for name in rounds[0]:
        results = [measured[name] for measured in rounds]
        rps = statistics.median(r.rps for r in results)
        summaries[name] = Summary(
            rps=rps,
            p50_ms=statistics.median(r.p50_us for r in results) / 1000,
            p99_ms=statistics.median(r.p99_us for r in results) / 1000,
            ratio=rps / bare_rps if bare_rps else float("nan"),
        )
    return summaries


def round_line(number: int, measured: dict[str, WrkResult]) -> str:
    """One round's req/s per target, for stderr: how far the rounds agree shows how noisy the machine was."""
    return f"round {number}: " + ", ".join(f"{name} {result.rps:.0f}" for name, result in measured.items()) + " req/s"


def figure_lines(summaries: dict[str, Summary], queries: dict[str, tuple[int, int, int]]) -> list[str]:
    """The `name: value unit` lines, target by target."""
    lines = []
    for name, summary in summaries.items():
        lines += [f"{name}_rps: {summary.rps:.0f} req/s", f"{name}_p50_ms: {summary.p50_ms:.2f} ms",
                  f"{name}_p99_ms: {summary.p99_ms:.2f} ms", f"{name}_ratio: {summary.ratio:.3f}"]
        if name in queries:
            statements, write_locks, drawn = queries[name]
            lines += [f"{name}_sql: {statements} statements", f"{name}_drawn_sql: {drawn} statements",
                      f"{name}_write_locks: {write_locks} per request"]
    return lines


# --- set-up: instance folder and database --------------------------------------------------------


@dataclass
class Learner:
    """A seeded learner, with the certificate the services issued to them (if any)."""

    email: str
    number: str | None = None
    code: str | None = None
    cookie: str = ""  # the Cookie header of their login, once logged in


def write_instance(instance: Path, database_url: str, public_url: str) -> None:
    """The benchmark's instance folder: a fresh secret key (0600), its own certificate signing key
    ring and a config.py with the raised limits.

    The app finds everything there, as a production installation would; nothing of the
    checkout's own instance/ is read or written.
    """
    instance.mkdir()
    fd = os.open(instance / "secret_key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    from namalms.keys import ensure_signing_keys

    ensure_signing_keys(str(instance))  # instance/signing-keys: the benchmark's own, never the installation's
    settings = {"SQLALCHEMY_DATABASE_URI": database_url, "PUBLIC_BASE_URL": public_url, **RAISED_LIMITS}
    (instance / "config.py").write_text(
        "# Written by tests/bench/bench_pages.py for one benchmark run; removed with it.\n"
        + "".join(f"{key} = {value!r}\n" for key, value in settings.items()))


def make_app(instance: Path):
    """An app on the benchmark's instance (for seeding and counting statements, not for serving)."""
    from flask import Config

    from namalms import create_app

    # The instance's config.py, but not the environment: a NAMALMS_DATABASE_URL exported in the
    # developer's shell must never receive the benchmark's learners.
    written = Config(str(instance))
    written.from_pyfile("config.py")
    return create_app({
        "SQLALCHEMY_DATABASE_URI": written["SQLALCHEMY_DATABASE_URI"],
        "PUBLIC_BASE_URL": written["PUBLIC_BASE_URL"],
        "SECRET_KEY": (instance / "secret_key").read_text().strip(),
        "CONTENT_DIR": str(PROJECT_ROOT / "content"),
        # Seeded passwords are hashed cheaply (the hash names its method, so logins check it
        # cheaply too): logging in is set-up, not a measured page.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",
    }, instance_path=str(instance))


@contextmanager
def quiet() -> Iterator[None]:
    """Without INFO lines (Alembic's, the in-process request log) and SQLite's note on expression indexes."""
    logging.disable(logging.INFO)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
            yield
    finally:
        logging.disable(logging.NOTSET)


def build_database(instance: Path) -> list[Learner]:
    """Migrations, shipped content, 16 learners in the Grundlagenkurs; the first ones certified.

    Progress goes through the services (`namalms.demo.complete_module`: visit, done, quiz,
    workshop), so the certificates are issued exactly as a finished course issues them.
    """
    from flask_migrate import upgrade
    from sqlalchemy import select

    from namalms.content.loader import load_tree
    from namalms.demo import complete_module
    from namalms.extensions import db
    from namalms.models import Certificate, Course
    from namalms.models.base import utcnow
    from namalms.services import mail
    from namalms.services.accounts import create_user
    from namalms.services.content_sync import sync_tree
    from namalms.services.progress import enrol

    app = make_app(instance)
    learners = []
    with app.app_context(), mail.suppressed():
        with quiet():
            upgrade()
        result = load_tree(PROJECT_ROOT / "content")
        if result.problems:
            raise SystemExit("content has problems:\n" + "\n".join(map(str, result.problems)))
        sync_tree(result.tree)
        course = db.session.get(Course, COURSE_ID)
        modules = [m for m in course.modules if not m.is_retired]
        start = utcnow() - timedelta(days=60)
        for n in range(SESSIONS):
            learner = Learner(email=f"bench-lernende-{n:02d}@example.org")
            user = create_user(email=learner.email, name=f"Bernd Benchmark {n:02d}", role="learner",
                               password=PASSWORD, district_id="rhein-erft-kreis", municipality="Stadt Bergheim")
            began = start + timedelta(hours=n)
            enrol(user, course, at=began)
            done = len(modules) if n < CERTIFICATE_HOLDERS else (n - CERTIFICATE_HOLDERS) % len(modules)
            for index, module in enumerate(modules[:done]):
                complete_module(user, module, began + timedelta(days=index + 1))
            db.session.commit()
            if n < CERTIFICATE_HOLDERS:
                certificate = db.session.scalar(select(Certificate).where(
                    Certificate.user_id == user.id, Certificate.status == "valid"))
                if certificate is None:
                    raise RuntimeError(f"working through {COURSE_ID} issued no certificate to {learner.email}")
                learner.number, learner.code = certificate.number, certificate.verification_code
            learners.append(learner)
        db.engine.dispose()
    return learners


# --- servers --------------------------------------------------------------------------------------


@dataclass
class Server:
    """One gunicorn (its own process group), the path that shows it is up, where its output goes."""

    name: str
    port: int
    probe: str
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, size: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-size:]


def free_port(taken: set[int]) -> int:
    """A port of 127.0.0.1 nobody listens on now (and not one already handed out in this run)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((HOST, 0))
            port = probe.getsockname()[1]
        if port not in taken:
            taken.add(port)
            return port


def child_environment(instance: Path) -> dict[str, str]:
    """The environment of both gunicorns: ours without any NAMALMS_* (a developer's exported
    database URL, Redis or HTTPS setting must not leak in), plus the benchmark's instance folder."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NAMALMS_")}
    env[INSTANCE_VARIABLE] = str(instance)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


@contextmanager
def gunicorn(name: str, app: str, probe: str, port: int, env: dict[str, str], workdir: Path) -> Iterator[Server]:
    """A running gunicorn serving `app`; stopped (its whole process group) when the block ends."""
    log_path = workdir / f"gunicorn-{name}.log"
    command = [str(GUNICORN), "--workers", str(WORKERS), "--worker-class", "sync", "--bind", f"{HOST}:{port}",
               "--log-level", "warning", app]
    with open(log_path, "wb") as log:
        # A session (and so a process group) of its own: stopping it stops its workers too, and a
        # Ctrl+C in the terminal reaches only this script, which then stops it in order.
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        yield Server(name, port, probe, process, log_path)
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """Graceful stop (SIGTERM to the process group), then SIGKILL if it does not go in time."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def wait_until_up(server: Server) -> None:
    """Until the probe answers 200; fails with gunicorn's log if it exits or does not come up in time."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn ({server.name}) exited with code {server.process.returncode}:\n"
                               f"{server.log_tail()}")
        try:
            if fetch(server.port, "GET", server.probe)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn ({server.name}) did not answer {server.probe} within {STARTUP_TIMEOUT_S:.0f} s:\n"
                       f"{server.log_tail()}")


# --- HTTP: logging in, checking every request once -----------------------------------------------


def fetch(port: int, method: str, path: str, *, body: str | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request on a fresh connection: (status, headers, body)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
    try:
        connection.request(method, path, body=body, headers={"User-Agent": USER_AGENT, **(headers or {})})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
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

    def header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.values.items())


def log_in(port: int, email: str) -> str:
    """Log in through the real form and open the dashboard once; returns the Cookie header.

    The dashboard shows (and so removes from the session) the "Sie sind angemeldet" message, as
    a browser would: the cookie the benchmark replays is one of a settled session.
    """
    jar = CookieJar()
    status, headers, page = fetch(port, "GET", "/login")
    jar.take(headers)
    token = CSRF_INPUT.search(page.decode("utf-8", "replace"))
    if status != 200 or token is None:
        raise RuntimeError(f"GET /login answered {status} without a csrf_token field")
    form = urlencode({"csrf_token": token.group(1), "email": email, "password": PASSWORD})
    status, headers, _ = fetch(port, "POST", "/login", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": jar.header()})
    jar.take(headers)
    if status != 302 or not headers.get("Location", "").endswith("/dashboard"):
        raise RuntimeError(f"login of {email} failed: POST /login answered {status} → {headers.get('Location')!r}")
    status, headers, _ = fetch(port, "GET", "/dashboard", headers={"Cookie": jar.header()})
    jar.take(headers)
    if status != 200:
        raise RuntimeError(f"{email} cannot open /dashboard after logging in (status {status})")
    return jar.header()


def check_once(server: Server, target: Target) -> None:
    """Every distinct request of the target once, outside the load: each must answer 2xx."""
    for request in dict.fromkeys(target.requests):
        status, headers, _ = fetch(server.port, "GET", request.path, headers=dict(request.headers))
        if not 200 <= status < 300:
            where = f" → {headers.get('Location')}" if headers.get("Location") else ""
            raise RuntimeError(f"{target.name}: GET {request.path} answered {status}{where}")


# --- targets --------------------------------------------------------------------------------------


def targets_for(learners: list[Learner]) -> list[Target]:
    """The measured targets, in the order of every round; the bare app first."""
    anonymous = (("User-Agent", USER_AGENT),)

    def session(learner: Learner) -> tuple[tuple[str, str], ...]:
        return anonymous + (("Cookie", learner.cookie),)

    def for_everyone(path: str) -> tuple[Request, ...]:
        return tuple(Request(path, session(learner)) for learner in learners)

    holders = [learner for learner in learners if learner.number]
    codes = [learner.code for learner in holders]
    return [
        Target("bare", (Request("/", anonymous),), server="bare"),
        Target("healthz", (Request("/healthz", anonymous),)),
        Target("logged_in", for_everyone(PROBE_PATH)),
        # The module page's login and its one query of the learner's state, nothing drawn: the
        # least a module page drawn afresh costs (a kept one – namalms.page_memo – reads no state).
        Target("module_state", for_everyone(f"{STATE_PROBE_PATH}/{MODULE_ID}")),
        Target("module_page", for_everyone(f"/modules/{MODULE_ID}")),
        # The same page drawn afresh on every view (no page memo): what the first view after
        # each step of the learner costs.
        Target("module_drawn", for_everyone(f"{DRAWN_PROBE_PATH}/{MODULE_ID}")),
        Target("course_page", for_everyone(f"/courses/{COURSE_ID}")),
        Target("dashboard", for_everyone("/dashboard")),
        Target("certificates", for_everyone("/certificates")),
        # Verification is public; here the learners check their (and each other's) certificates.
        Target("verify", tuple(Request(f"/verify/{codes[n % len(codes)]}", session(learner))
                               for n, learner in enumerate(learners))),
        Target("certificate_pdf", tuple(Request(f"/certificates/{learner.number}.pdf", session(learner))
                                        for learner in holders)),
    ]


# --- statements and write locks of one request (in-process) ---------------------------------------


def count_queries(instance: Path, targets: list[Target]) -> dict[str, tuple[int, int, int]]:
    """(SQL statements, `BEGIN IMMEDIATE`s, statements when drawn afresh) of one request per app
    target, each after one request to warm up.

    Measured with the Flask test client on the same database and instance, before the load:
    first as served (a page kept by the process costs the login only), then with the page memo
    switched off (what drawing the page costs). The write locks are the more of the two.
    """
    from sqlalchemy import event

    from namalms import page_memo
    from namalms.extensions import db

    app = make_app(instance)
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.strip().upper())

    def one_request(request: Request, name: str) -> tuple[int, int]:
        for _ in range(2):
            statements.clear()
            response = client.get(request.path, headers=dict(request.headers))
            response.close()
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"{name}: GET {request.path} answered {response.status_code} in-process")
        begins = [s for s in statements if s.startswith("BEGIN")]
        return len(statements) - len(begins), sum(s == "BEGIN IMMEDIATE" for s in begins)

    client = app.test_client(use_cookies=False)
    memo = app.extensions[page_memo.EXTENSION]
    counts = {}
    event.listen(engine, "before_cursor_execute", record)
    try:
        with quiet():  # the in-process request log lines would drown the rounds' figures on stderr
            for target in targets:
                if target.server != "app" or target.requests[0].path.startswith("/_bench/"):  # server.py's probes
                    continue
                served, locks = one_request(target.requests[0], target.name)
                budget, memo.budget = memo.budget, 0
                try:
                    drawn, drawn_locks = one_request(target.requests[0], target.name)
                finally:
                    memo.budget = budget
                counts[target.name] = (served, max(locks, drawn_locks), drawn)
    finally:
        event.remove(engine, "before_cursor_execute", record)
        engine.dispose()
    return counts


# --- load -------------------------------------------------------------------------------------------


def run_wrk(server: Server, target: Target, seconds: int, workdir: Path, *, warm_up: bool = False) -> WrkResult:
    """One wrk run of `seconds` against the target; a run that does not count stops the benchmark
    (in a warm-up only failures do: a slow page may finish nothing within its second).

    First one request of the server's probe: it is answered only after the requests the last
    run left queued (wrk stops sending at its deadline, gunicorn still works off its backlog), so
    a slow target never eats into the next one's seconds.
    """
    fetch(server.port, "GET", server.probe)
    requests_file = workdir / f"requests-{target.name}.txt"
    if not requests_file.exists():
        requests_file.write_text("".join(request.line() + "\n" for request in target.requests))
    command = [WRK, f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", f"--timeout={WRK_TIMEOUT_S}s",
               "-s", str(LUA_SCRIPT), f"http://{HOST}:{server.port}", "--", str(requests_file)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + WRK_TIMEOUT_S + 30)
    try:
        result = parse_wrk_output(done.stdout)
    except ValueError as error:
        raise RuntimeError(f"{target.name}: {error}\n{done.stdout}\n{done.stderr}") from None
    if not warm_up:
        check_once(server, target)  # every session still logged in: no redirect was measured
    if problem := result.problem(may_be_empty=warm_up):
        raise RuntimeError(f"{target.name} ({target.requests[0].path}): {problem} – the figures would be "
                           f"worthless.\n--- wrk ---\n{done.stdout}{done.stderr}"
                           f"--- gunicorn log ({server.name}) ---\n{server.log_tail()}")
    return result


def measure(servers: dict[str, Server], targets: list[Target], args: argparse.Namespace,
            workdir: Path) -> list[dict[str, WrkResult]]:
    """Warm every target up, then the rounds: each runs every target once, in the same order."""
    for target in targets:
        run_wrk(servers[target.server], target, args.warm_up, workdir, warm_up=True)
    rounds = []
    for number in range(1, args.rounds + 1):
        rounds.append({target.name: run_wrk(servers[target.server], target, args.duration, workdir)
                       for target in targets})
        say(round_line(number, rounds[-1]))
    return rounds


# --- main -------------------------------------------------------------------------------------------


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per target and round (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds, medians are printed (default 3)")
    parser.add_argument("--warm-up", type=int, default=1, help="seconds of warm-up per target (default 1)")
    args = parser.parse_args(argv)
    if min(args.duration, args.rounds, args.warm_up) < 1:
        parser.error("--duration, --rounds and --warm-up must be at least 1")
    return args


def run(args: argparse.Namespace, workdir: Path) -> list[str]:
    """Set up, serve, log in, measure; returns the figure lines."""
    began = time.monotonic()
    ports: set[int] = set()
    app_port, bare_port = free_port(ports), free_port(ports)
    instance = workdir / "instance"
    write_instance(instance, f"sqlite:///{workdir / 'bench.sqlite3'}", f"http://{HOST}:{app_port}")
    learners = build_database(instance)
    env = child_environment(instance)
    with ExitStack() as stack:
        servers = {
            "app": stack.enter_context(gunicorn("app", "tests.bench.server:app", "/healthz", app_port, env, workdir)),
            "bare": stack.enter_context(gunicorn("bare", "tests.bench.hello:app", "/", bare_port, env, workdir)),
        }
        for server in servers.values():
            wait_until_up(server)
        for learner in learners:
            learner.cookie = log_in(app_port, learner.email)
        targets = targets_for(learners)
        for target in targets:
            check_once(servers[target.server], target)
        queries = count_queries(instance, targets)
        say(f"setup: gunicorn -w {WORKERS} sync (app and bare Flask), wrk -t{WRK_THREADS} -c{CONNECTIONS}, "
            f"{len(learners)} logged-in sessions ({CERTIFICATE_HOLDERS} with a certificate), SQLite, "
            f"{args.rounds} interleaved rounds × {args.duration} s per target after {args.warm_up} s warm-up; "
            f"set-up took {time.monotonic() - began:.0f} s")
        rounds = measure(servers, targets, args, workdir)
    say(f"done in {time.monotonic() - began:.0f} s")
    return figure_lines(summarise(rounds), queries)


def stop_on_sigterm(signum, frame) -> None:
    """SIGTERM (a CI timeout, `kill`) ends the run like Ctrl+C does: through the clean-up."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: measure, print the figures, and always stop the servers and remove the files."""
    args = parse_args(argv)
    if not Path(WRK).exists():
        raise SystemExit("wrk is not installed (apt install wrk)")
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    workdir = Path(tempfile.mkdtemp(prefix="namalms-bench-pages-"))
    try:
        lines = run(args, workdir)
    except RuntimeError as error:
        say(f"error: {error}")
        return 1
    except KeyboardInterrupt:
        say("interrupted: servers stopped, temporary files removed")
        return 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for line in lines:
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
