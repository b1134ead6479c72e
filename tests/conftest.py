"""Shared fixtures.

Database tests run on SQLite. Tests whose behaviour depends on the database itself – schema,
locking, concurrency, the office's SQL – are marked ``both_databases`` (usually for their
whole module) and run on PostgreSQL too when NAMALMS_TEST_DATABASE_URL is set (CI sets it);
without it those runs are skipped with the reason. The schema is built by the real Alembic
migrations and the shipped content is synced once per backend; each test then starts from
empty user data. Nothing here depends on how fast the machine is: hypothesis has no deadline.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import g, has_app_context
from hypothesis import settings
from flask.testing import FlaskClient
from sqlalchemy import text

from namalms import create_app
from namalms.config import normalise_database_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = Path(os.environ.get("NAMALMS_TEST_CONTENT_DIR", PROJECT_ROOT / "content"))
PG_ENV = "NAMALMS_TEST_DATABASE_URL"
PASSWORD = "Sonnenblume-Windrad-42"
BOTH = "both_databases"
PUBLIC_BASE = "https://lernen.nama.nrw"  # the public address tests that print links set

# A busy 2-core CI machine must never fail a property test for being slow.
settings.register_profile("namalms", deadline=None, print_blob=True)
settings.load_profile("namalms")

# Tables holding what users did; emptied after every test (children before parents).
USER_DATA_TABLES = ["trainer_assignment", "xapi_outbox", "api_token", "workshop_attendance", "workshop", "audit_event",
                    "eligibility", "certificate", "quiz_attempt", "progress_event", "module_progress", "enrollment",
                    "login_session", "outgoing_mail", "notification_opt_out", "user"]


def app_config(database_url: str, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "CONTENT_DIR": str(CONTENT_DIR),
        "SERVER_NAME": "localhost",
        "STATISTICS_MAX_AGE_S": 0,  # tests change data and look at the figures at once
    }
    config.update(overrides)
    return config


def recreate_postgres_database(url: str, name: str) -> str:
    """An empty database ``name`` on the server of ``url`` (dropped first if it exists); its URL."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    parsed = make_url(normalise_database_url(url))
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    parsed = make_url(normalise_database_url(url))
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def reset_postgres_schema(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(normalise_database_url(url))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


# Under pytest-xdist (make test) tests are dealt out one by one, except these, which share
# something and so stay on one worker: the browser tests (one Chromium at a time – two at once on a
# 2-core machine slow each other down more than they gain – and one live and demo server) and the
# tests that share a Redis database.
SAME_WORKER = {"tests/browser/": "browser", "tests/db/test_two_app_servers.py": "redis-11",
               "tests/web/test_ratelimit.py": "redis-15"}


@pytest.hookimpl(optionalhook=True)  # a run without pytest-xdist (-p no:xdist) does not know the hook
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's hook for its scheduler. (Its own `--dist loadgroup` with `xdist_group` marks
    no longer groups anything under pytest 9, whose node ids it can no longer extend.)"""
    from xdist.scheduler import LoadScopeScheduling

    class SharedResourceScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return next((group for prefix, group in SAME_WORKER.items() if nodeid.startswith(prefix)), nodeid)

    return SharedResourceScheduling(config, log)


def pytest_generate_tests(metafunc):
    """SQLite for every database test; PostgreSQL as well for tests marked both_databases."""
    if "database_url" in metafunc.fixturenames:
        backends = ["sqlite", "postgresql"] if metafunc.definition.get_closest_marker(BOTH) else ["sqlite"]
        metafunc.parametrize("database_url", backends, indirect=True, scope="session")


@pytest.fixture(scope="session")
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "namalms-test.sqlite3")
        return
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests skipped: set {PG_ENV} to a database URL to run them")
    # Under pytest-xdist (make test runs one worker per core) each worker has a database of its
    # own beside the configured one, created here and dropped at the end.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    try:
        if worker:
            from sqlalchemy.engine import make_url

            url = recreate_postgres_database(url, f"{make_url(normalise_database_url(url)).database}_{worker}")
        else:
            reset_postgres_schema(url)
    except Exception as error:  # a configured but unreachable server is a real failure in CI
        pytest.fail(f"PostgreSQL at {PG_ENV} is not usable: {error}")
    yield url
    if worker:
        drop_postgres_database(url)


@pytest.fixture(scope="session")
def migrated_app(database_url, tmp_path_factory):
    """An app whose database was built by the migrations and filled with the shipped content.

    Its content folder is a copy, so publishing tests write back there, never into the repo.
    """
    import shutil

    from flask_migrate import upgrade

    from namalms.content.loader import load_tree
    from namalms.extensions import db
    from namalms.services.content_sync import sync_tree

    content_copy = tmp_path_factory.mktemp("content") / "content"
    shutil.copytree(CONTENT_DIR, content_copy)
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(app_config(database_url, CONTENT_DIR=str(content_copy)), instance_path=str(instance))
    with app.app_context():
        upgrade()
        result = load_tree(CONTENT_DIR)
        assert not result.problems, "\n".join(map(str, result.problems))
        sync_tree(result.tree)
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


def clear_user_data(app) -> None:
    from namalms.extensions import db

    with app.app_context():
        db.session.rollback()
        for table in USER_DATA_TABLES:
            db.session.execute(text(f'DELETE FROM "{table}"'))
        db.session.commit()
        db.session.remove()


@pytest.fixture
def app(migrated_app):
    from namalms import ratelimit

    migrated_app.config.update(WTF_CSRF_ENABLED=False)
    with migrated_app.app_context():
        ratelimit.reset()  # every test starts with fresh rate limits
        yield migrated_app
    clear_user_data(migrated_app)


class FreshUserClient(FlaskClient):
    """The test keeps one app context open across requests, so forget the user flask-login
    cached on `g` before each request, as a real server (one context per request) would."""

    def open(self, *args, **kwargs):
        if has_app_context():
            g.pop("_login_user", None)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = FreshUserClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Factory: make_user(role="trainer", email=…, …) creates and commits an account.

    A trainer looks after every course unless ``courses=[…]`` names the course ids assigned."""
    from namalms.extensions import db
    from namalms.models import TrainerAssignment
    from namalms.services import trainer_courses
    from namalms.services.accounts import create_user

    counter = {"n": 0}

    def make(role: str = "learner", courses: list[str] | None = None, **overrides):
        counter["n"] += 1
        values = {
            "email": f"{role}{counter['n']}@example.org",
            "name": f"Test {role.title()} {counter['n']}",
            "password": PASSWORD,
            "district_id": "kreis-dueren" if role == "learner" else None,
            "municipality": "Gemeinde Niederzier" if role == "learner" else "",
        }
        values.update(overrides)
        user = create_user(role=role, **values)
        if role == "trainer":
            db.session.flush()
            for course in trainer_courses.all_courses():  # rows only: tests count the audit log
                if courses is None or course.id in courses:
                    db.session.add(TrainerAssignment(user_id=user.id, course_id=course.id))
        db.session.commit()
        return user

    return make


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = PASSWORD, remember: bool = False):
        data = {"email": email, "password": password}
        if remember:
            data["remember"] = "y"
        return self.client.post("/login", data=data)

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def public_base(app):
    """The app's public address set for one test (credentials, xAPI ids, links in mails)."""
    app.config["PUBLIC_BASE_URL"] = PUBLIC_BASE
    yield PUBLIC_BASE
    app.config.pop("PUBLIC_BASE_URL", None)


@pytest.fixture
def learner(make_user, auth):
    """A logged-in learner from Kreis Düren (Rheinisches Revier)."""
    user = make_user("learner")
    auth.login(user.email)
    return user


@pytest.fixture
def admin(make_user, auth):
    """A logged-in programme-office admin."""
    user = make_user("admin", name="Paula Programmbüro")
    auth.login(user.email)
    return user


@contextmanager
def counted_statements():
    """Collect the SQL statements run inside the block (for constant-query-count tests)."""
    from sqlalchemy import event

    from namalms.extensions import db

    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def minutes_line(module_id: str = "gk-agenda-2030") -> str:
    """The `minutes: N` line of a shipped module as written, for tests that edit it."""
    import re

    for path in CONTENT_DIR.glob("*/*.md"):
        text = path.read_text(encoding="utf-8")
        if re.search(rf"^id: {re.escape(module_id)}$", text, re.MULTILINE):
            return re.search(r"^minutes: \d+$", text, re.MULTILINE).group(0)
    raise LookupError(module_id)


def quiz_answers(client, user, module_id: str, *, correct: bool = True) -> dict:
    """What a learner's browser posts for a module's self-check: opens the module page (which
    draws the attempt), then ticks – at the positions this attempt shows them – the right options
    (or one wrong option per question). The page itself never says which option is right, so the
    test reads the attempt's layout from the database."""
    from sqlalchemy import select

    from namalms.domain.quiz import AttemptLayout
    from namalms.extensions import db
    from namalms.models import Module, QuizAttempt
    from namalms.services.progress import quiz_of

    assert client.get(f"/modules/{module_id}").status_code == 200
    attempt = db.session.scalar(select(QuizAttempt).where(
        QuizAttempt.user_id == user.id, QuizAttempt.module_id == module_id, QuizAttempt.submitted_at.is_(None))
        .order_by(QuizAttempt.id.desc()).limit(1))
    assert attempt is not None, "the module page opens an attempt"
    quiz = {q.id: q for q in quiz_of(db.session.get(Module, module_id)).questions}
    data = {"attempt": str(attempt.id)}
    for shown in AttemptLayout.from_list(attempt.layout).questions:
        question = quiz[shown.question_id]
        authored = ({i for i, o in enumerate(question.options) if o.is_correct} if correct
                    else {next(i for i, o in enumerate(question.options) if not o.is_correct)})
        data[f"q-{question.id}"] = [str(position) for position in sorted(shown.to_shown(authored))]
    return data


@pytest.fixture(scope="session")
def mail_server_process():
    """One real SMTP server on 127.0.0.1 for the session (aiosmtpd); see tests/mailserver.py."""
    from tests.mailserver import TestMailServer

    server = TestMailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp(app, mail_server_process):
    """The app sends through the real SMTP server; ``smtp.messages`` is what it received in this test."""
    mail_server_process.start()
    mail_server_process.clear()
    previous = app.config.get("MAIL_URL")
    app.config["MAIL_URL"] = mail_server_process.url
    yield mail_server_process
    app.config["MAIL_URL"] = previous
    mail_server_process.start()
    mail_server_process.clear()
