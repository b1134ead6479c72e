"""The main pages of every role are valid HTML by the W3C checker (vnu.jar, errors only).

The pages are the ones the accessibility suite walks (`tests/browser/pages.py`) that are reached
by their address, plus the forms in their error state, all on the demo data. They are fetched
with the Flask test client and checked in one run of the checker, so this stays fast.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.browser.pages import DEMO_PASSWORD, FIRST_MODULE, LOGINS, STATES, BROKEN_FRONT_MATTER, Goto
from tests.browser.pages import build_demo_app, demo_facts
from tests.checkers import JAVA, VNU, missing_checker
from tests.conftest import CONTENT_DIR

pytestmark = missing_checker(
    f"the HTML check needs vnu.jar at {VNU}" if not VNU.exists() else
    "the HTML check needs Java 17+ (java)" if JAVA is None else None)

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path: str) -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def client_for(app, role: str | None):
    """A fresh browser session, signed in as the role (or nobody)."""
    client = app.test_client()
    if role is not None:
        client.post("/login", data={"email": LOGINS[role], "password": DEMO_PASSWORD,
                                    "csrf_token": csrf_token(client, "/login")})
    return client


def form_error_pages(app, facts) -> dict[str, str]:
    """The forms in their error state, sent as a browser would (with the page's CSRF token)."""
    pages = {}
    client = client_for(app, None)
    pages["registrieren-fehler"] = client.post("/register", data={"csrf_token": csrf_token(client, "/register")})
    pages["anmelden-fehler"] = client.post("/login", data={"email": "x@example.org", "password": "falsch-falsch",
                                                           "csrf_token": csrf_token(client, "/login")})
    client = client_for(app, "learner")
    pages["profil-fehler"] = client.post("/profile", data={"name": "", "csrf_token": csrf_token(client, "/profile")})
    client = client_for(app, "trainer")
    editor = f"/trainer/content/module/{FIRST_MODULE}/bearbeiten"
    pages["editor-probleme"] = client.post(editor, data={"source": BROKEN_FRONT_MATTER, "action": "pruefen",
                                                         "csrf_token": csrf_token(client, editor)})
    pages["workshop-fehler"] = client.post("/trainer/workshops/new", data={
        "csrf_token": csrf_token(client, "/trainer/workshops/new")})
    client = client_for(app, "office")
    record = f"/office/learners/{facts.record_id}"
    certificate_id = re.search(r"/certificates/(\d+)/revoke", client.get(record).get_data(as_text=True)).group(1)
    pages["widerruf-fehler"] = client.post(f"{record}/certificates/{certificate_id}/revoke", data={
        "category": "", "reason": "", "csrf_token": csrf_token(client, record)})
    for name, response in pages.items():
        assert response.status_code in (401, 422), (name, response.status_code)
    return {name: response.get_data(as_text=True) for name, response in pages.items()}


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    folder = Path(tempfile.mkdtemp(prefix="namalms-vnu-"))
    try:
        shutil.copytree(CONTENT_DIR, folder / "content")
        app = build_demo_app(folder / "demo.sqlite3", folder / "content")
        facts = demo_facts("http://localhost", app)
        html = {}
        clients = {}
        for state in STATES:
            if not isinstance(state.reach, Goto):
                continue
            client = clients.setdefault(state.role, client_for(app, state.role))
            response = client.get(state.reach.path(facts), follow_redirects=True)
            assert response.status_code == state.status, (state.name, response.status_code)
            html[state.name] = response.get_data(as_text=True)
        html.update(form_error_pages(app, facts))
        from namalms.extensions import db

        with app.app_context():
            db.engine.dispose()
        return html
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_main_pages_are_valid_html(pages, tmp_path):
    for name, text in pages.items():
        (tmp_path / f"{name}.html").write_text(text, encoding="utf-8")
    run = subprocess.run([JAVA, "-jar", str(VNU), "--errors-only", "--format", "json", "--stdout",
                          *sorted(str(p) for p in tmp_path.glob("*.html"))],
                         capture_output=True, text=True, timeout=300)
    messages = json.loads(run.stdout or "{}").get("messages", [])
    errors = [f"{Path(m.get('url', '')).name}:{m.get('lastLine', '?')}: {m.get('message')} – "
              f"„{(m.get('extract') or '').strip()[:80]}“" for m in messages if m.get("type") == "error"]
    assert len(pages) >= 40
    assert not errors, f"{len(errors)} HTML error(s) in {len(pages)} pages:\n" + "\n".join(errors[:60])
