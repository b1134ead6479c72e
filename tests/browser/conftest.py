"""Fixtures for end-to-end tests: the real app on a real port, driven by headless Chromium.

One app server and one browser serve the whole session (starting Chromium costs about a
second, each test only opens a fresh context). The server runs with CSRF protection ON, so every
form the browser submits must carry the token the page gave it – exactly as in production.

Debian's Chromium is used because `playwright install` cannot download browsers here; the test
module skips itself when /usr/bin/chromium is missing.
"""
from __future__ import annotations

import itertools
import os
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
from flask import Flask

from tests.conftest import CONTENT_DIR, PASSWORD, app_config

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS_DIR = Path("/tmp/namalms-shots")
SHOTS_ENV = "NAMALMS_SCREENSHOTS"
DESKTOP = {"width": 1280, "height": 900}
# Fail within seconds, not after Playwright's default 30 s, when an element never shows up.
ACTION_TIMEOUT_MS = 5_000

_emails = itertools.count(1)


@dataclass(frozen=True)
class LiveServer:
    """The running app: its base URL and the Flask app (for set-up inside an app context)."""

    url: str
    app: Flask


@dataclass(frozen=True)
class QuizQuestionFacts:
    """What a test needs to answer one self-check question: all right and one wrong option."""

    id: str
    kind: str
    option_count: int
    correct: tuple[int, ...]
    wrong: tuple[int, ...]
    explanation: str
    options: tuple[str, ...] = ()  # texts in authored order; the page shows them shuffled

    @property
    def correct_texts(self) -> tuple[str, ...]:
        return tuple(self.options[i] for i in self.correct)

    @property
    def wrong_texts(self) -> tuple[str, ...]:
        return tuple(self.options[i] for i in self.wrong)


@dataclass(frozen=True)
class ModuleFacts:
    """A module as the database holds it, so tests follow the content instead of copying it."""

    id: str
    title: str
    toc_titles: tuple[str, ...]
    questions: tuple[QuizQuestionFacts, ...]


def build_app(database_url: str, content_dir: str | None = None) -> Flask:
    """An app on a fresh database built by the migrations and filled with the shipped content.

    `content_dir` is where trainers' publishing writes back (a copy, never the repository)."""
    from flask_migrate import upgrade

    from namalms import create_app
    from namalms.content.loader import load_tree
    from namalms.extensions import db
    from namalms.services.content_sync import sync_tree

    # No SERVER_NAME: the browser talks to 127.0.0.1:<port>, and URLs must follow that host.
    instance = tempfile.mkdtemp(prefix="namalms-browser-instance-")
    app = create_app(app_config(database_url, WTF_CSRF_ENABLED=True, TESTING=True, SERVER_NAME=None,
                                CONTENT_DIR=content_dir or str(CONTENT_DIR)), instance_path=instance)
    with app.app_context():
        upgrade()
        result = load_tree(CONTENT_DIR)
        assert not result.problems, "\n".join(map(str, result.problems))
        sync_tree(result.tree)
        db.session.commit()
    return app


@contextmanager
def serving(app: Flask, name: str) -> Iterator[str]:
    """``app`` served by werkzeug in a background thread on a free port of 127.0.0.1; yields its
    base URL, and stops the server and closes the app's database connections afterwards."""
    from werkzeug.serving import make_server

    from namalms.extensions import db

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """The app served by werkzeug in a background thread on a free port of 127.0.0.1."""
    import shutil

    database = tmp_path_factory.mktemp("browser-db") / "namalms-browser.sqlite3"
    content_copy = tmp_path_factory.mktemp("browser-content") / "content"
    shutil.copytree(CONTENT_DIR, content_copy)
    app = build_app(f"sqlite:///{database}", str(content_copy))
    with serving(app, "namalms-live-server") as url:
        yield LiveServer(url=url, app=app)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _new_page(browser, live_server: LiveServer, *, javascript: bool, viewport: dict):
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=javascript, viewport=viewport, locale="de-DE",
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    return context, context.new_page()


@pytest.fixture(scope="session")
def _desktop_tab(browser, live_server):
    """The tab behind `page`, opened once: a new tab costs Chromium about 0.2 s (a renderer process)."""
    context, tab = _new_page(browser, live_server, javascript=False, viewport=DESKTOP)
    yield tab
    context.close()


@pytest.fixture
def page(_desktop_tab):
    """A desktop tab with JavaScript DISABLED (every core action must work without it), as a new
    visitor: no cookies, on a blank page. The tab itself is reused from test to test."""
    _desktop_tab.goto("about:blank")
    _desktop_tab.context.clear_cookies()
    yield _desktop_tab


@pytest.fixture
def shoot() -> Callable:
    """shoot(page, name): a full-page screenshot in /tmp/namalms-shots/ when NAMALMS_SCREENSHOTS is set."""

    def take(tab, name: str) -> None:
        if not os.environ.get(SHOTS_ENV):
            return
        SHOTS_DIR.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SHOTS_DIR / f"{name}.png"), full_page=True)

    return take


def unique_email(prefix: str = "lernende") -> str:
    """A fresh address per call, so tests never collide on the session-wide database."""
    return f"{prefix}{next(_emails)}-{os.getpid()}@example.org"


@pytest.fixture(scope="session")
def module_facts(live_server) -> Callable[[str], ModuleFacts]:
    """module_facts(module_id): title, table of contents and self-check answers, read from the app."""
    from namalms.extensions import db
    from namalms.models import Module
    from namalms.services.progress import quiz_of

    def facts(module_id: str) -> ModuleFacts:
        with live_server.app.app_context():
            module = db.session.get(Module, module_id)
            assert module is not None, f"module {module_id} is not in the shipped content"
            quiz = quiz_of(module)
            questions = tuple(
                QuizQuestionFacts(
                    id=q.id, kind=q.kind, option_count=len(q.options), explanation=q.explanation,
                    options=tuple(o.text for o in q.options),
                    correct=tuple(i for i, o in enumerate(q.options) if o.is_correct),
                    wrong=(next(i for i, o in enumerate(q.options) if not o.is_correct),),
                )
                for q in (quiz.questions if quiz else ())
            )
            toc = tuple(entry["title"] for entry in module.current_revision.toc)
            return ModuleFacts(id=module.id, title=module.title, toc_titles=toc, questions=questions)

    return facts


@pytest.fixture
def enrolled_learner(live_server) -> Callable[[str], str]:
    """enrolled_learner(course_id): create a learner enrolled in that course; returns the e-mail.

    Built through the services, not the browser, for tests that are about something else.
    """
    from namalms.extensions import db
    from namalms.models import Course
    from namalms.services.accounts import create_user
    from namalms.services.progress import enrol

    def make(course_id: str) -> str:
        email = unique_email("vorbereitet")
        with live_server.app.app_context():
            user = create_user(email=email, name="Paula Prüfer", role="learner", password=PASSWORD,
                               district_id="rhein-erft-kreis", municipality="Stadt Bergheim")
            enrol(user, db.session.get(Course, course_id))
            db.session.commit()
        return email

    return make
