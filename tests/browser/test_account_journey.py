"""The account life cycle in a real browser, with a real SMTP server on 127.0.0.1 and CSRF on.

Register → confirmation mail → confirm → certificate mail; forgotten password → mail → new
password → the other browser is logged out; logout → the old cookies are rejected; 20 wrong
logins → 429; the data export holds the progress; deleting the account leaves no name or address
in any table; behind HTTPS the cookies are Secure and HSTS is sent.
"""
from __future__ import annotations

import io
import json
import re
import threading
import zipfile
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import CHROMIUM, DESKTOP, LiveServer, unique_email
from tests.conftest import PASSWORD, app_config
from tests.mailserver import TestMailServer

pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e .[test])")
from playwright.sync_api import Page, expect  # noqa: E402  (only after the skip check)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"browser tests need Chromium at {CHROMIUM}"),
]

NEW_PASSWORD = "Regenbogen-Solardach-77"


@pytest.fixture
def smtp(live_server):
    """The live server sends through a real SMTP server for this test."""
    server = TestMailServer()
    server.start()
    previous = live_server.app.config.get("MAIL_URL")
    live_server.app.config["MAIL_URL"] = server.url
    yield server
    live_server.app.config["MAIL_URL"] = previous
    server.stop()


@pytest.fixture
def new_context(browser, live_server):
    """new_context(): another browser (its own cookies), JavaScript off; all closed after the test."""
    contexts = []

    def make():
        context = browser.new_context(base_url=live_server.url, java_script_enabled=False, viewport=DESKTOP,
                                      locale="de-DE", accept_downloads=True)
        context.set_default_timeout(5_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def link(received, path: str) -> str:
    match = re.search(rf"https?://[^\s]+{re.escape(path)}[A-Za-z0-9._-]+", received.text)
    assert match, f"no {path} link in the mail: {received.text}"
    return match.group(0)


def register(page: Page, email: str, name: str) -> None:
    page.goto("/register")
    page.get_by_label("Vor- und Nachname").fill(name)
    page.get_by_label("E-Mail-Adresse (dienstlich)").fill(email)
    page.get_by_label("Passwort (mindestens 10 Zeichen)").fill(PASSWORD)
    page.get_by_label("Passwort wiederholen").fill(PASSWORD)
    page.get_by_label("Kreis bzw. kreisfreie Stadt").select_option(label="Kreis Düren")
    page.get_by_label("Kommune bzw. Institution").fill("Gemeinde Langerwehe")
    page.get_by_label(re.compile("Datenschutzerklärung gelesen")).check()
    page.get_by_role("button", name="Konto anlegen").click()


def log_in(page: Page, email: str, password: str = PASSWORD, *, remember: bool = False):
    page.goto("/login")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort", exact=True).fill(password)
    if remember:
        page.get_by_label(re.compile("Angemeldet bleiben")).check()
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Anmelden").click()
    return answer.value


def complete_course(live_server: LiveServer, email: str, course_id: str = "grundlagenkurs") -> None:
    """Do what the course asks, through the services (the learning itself is tested elsewhere)."""
    from sqlalchemy import select

    from namalms.demo import complete_module
    from namalms.extensions import db
    from namalms.models import Course, User
    from namalms.models.base import utcnow
    from namalms.services import progress
    from namalms.unit_of_work import unit_of_work

    with live_server.app.app_context():
        with unit_of_work():
            user = db.session.scalar(select(User).where(User.email == email))
            course = db.session.get(Course, course_id)
            progress.enrol(user, course)
            for module in [m for m in course.modules if not m.is_retired]:
                complete_module(user, module, utcnow() - timedelta(days=2))


def test_register_confirm_and_receive_the_certificate_by_mail(page, live_server, smtp):
    email = unique_email("bestaetigt")
    register(page, email, "Jürgen Müller")
    expect(page.locator(".flash-success")).to_contain_text("Wir haben Ihnen einen Bestätigungslink")
    expect(page.locator(".notice-confirm")).to_contain_text("Bitte bestätigen Sie Ihre E-Mail-Adresse")
    [confirmation] = smtp.wait_for(email)
    assert confirmation.subject == "Bitte bestätigen Sie Ihre E-Mail-Adresse – NaMa NRW Lernplattform"
    assert confirmation.message["To"].addresses[0].display_name == "Jürgen Müller"

    complete_course(live_server, email)
    page.goto("/certificates")
    expect(page.locator(".standing").first).to_contain_text("Bestätigen Sie Ihre E-Mail-Adresse")

    page.goto(link(confirmation, "/confirm/"))
    expect(page.locator(".flash-success").first).to_contain_text("Ihre E-Mail-Adresse ist bestätigt")
    expect(page.locator(".flashes")).to_contain_text("Neu ausgestellt: Zertifikat Grundlagenkurs")
    expect(page.locator(".notice-confirm")).to_have_count(0)

    certificate_mail = smtp.wait_for(email, count=2)[1]
    assert certificate_mail.subject.startswith("Zertifikat ausgestellt: Zertifikat Grundlagenkurs")
    page.goto(link(certificate_mail, "/verify/"))
    expect(page.locator(".verify-status")).to_contain_text("Gültig")
    expect(page.locator(".facts")).to_contain_text("Jürgen Müller")


def test_forgotten_password_ends_the_other_sessions(page, live_server, smtp, new_context, enrolled_learner):
    email = enrolled_learner("grundlagenkurs")
    laptop = new_context().new_page()
    log_in(laptop, email, remember=True)
    laptop.goto("/dashboard")
    expect(laptop.get_by_role("heading", level=1)).to_be_visible()
    expect(laptop).to_have_url(re.compile("/dashboard$"))

    page.goto("/login")
    page.get_by_role("link", name="Passwort vergessen?").click()
    page.get_by_label("E-Mail-Adresse Ihres Kontos").fill(email)
    page.get_by_role("button", name="Link zuschicken").click()
    expect(page.locator(".flash-info")).to_contain_text("Wenn es zu dieser Adresse ein Konto gibt")
    [reset] = smtp.wait_for(email)
    page.goto(link(reset, "/password/reset/"))
    page.get_by_label("Neues Passwort (mindestens 10 Zeichen)").fill(NEW_PASSWORD)
    page.get_by_label("Neues Passwort wiederholen").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Passwort speichern").click()
    expect(page.locator(".flash-success")).to_contain_text("Alle bisherigen Anmeldungen sind beendet")

    laptop.goto("/dashboard")
    expect(laptop).to_have_url(re.compile("/login"))
    log_in(page, email, PASSWORD)
    expect(page.locator(".field-error")).to_contain_text("E-Mail-Adresse oder Passwort ist falsch.")
    log_in(page, email, NEW_PASSWORD)
    expect(page.locator(".flash-success")).to_contain_text("Sie sind angemeldet")
    assert smtp.wait_for(email, count=2)[1].subject == "Ihr Passwort wurde geändert – NaMa NRW Lernplattform"

    # The account page works with CSRF on, too: the address is changed by confirmation link.
    new_email = unique_email("neu")
    page.goto("/account")
    page.get_by_label("Neue E-Mail-Adresse").fill(new_email)
    page.get_by_label("Ihr Passwort (zur Sicherheit)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Neue Adresse bestätigen lassen").click()
    expect(page.locator(".flash-success")).to_contain_text(f"Bestätigungslink an {new_email}")
    page.goto(link(smtp.wait_for(new_email)[0], "/email/confirm/"))
    expect(page.locator(".flash-success")).to_contain_text(f"Ihre E-Mail-Adresse ist jetzt {new_email}")


def test_logout_makes_the_old_cookies_worthless(page, live_server, new_context, enrolled_learner):
    email = enrolled_learner("grundlagenkurs")
    log_in(page, email, remember=True)
    stolen = page.context.cookies()
    assert {"session", "remember_token"} <= {cookie["name"] for cookie in stolen}
    thief = new_context()
    thief.add_cookies(stolen)
    thief_page = thief.new_page()
    thief_page.goto("/dashboard")
    expect(thief_page).to_have_url(re.compile("/dashboard$"), timeout=5_000)

    page.get_by_role("button", name="Abmelden").click()
    expect(page.locator(".flash-success")).to_contain_text("Sie sind abgemeldet.")
    for cookies in (stolen, [c for c in stolen if c["name"] == "remember_token"],
                    [c for c in stolen if c["name"] == "session"]):
        replay = new_context()
        replay.add_cookies(cookies)
        replay_page = replay.new_page()
        replay_page.goto("/dashboard")
        expect(replay_page).to_have_url(re.compile("/login"))


def test_twenty_wrong_logins_end_in_429(page, live_server, enrolled_learner):
    from namalms import ratelimit

    email = enrolled_learner("grundlagenkurs")
    # The first and the last attempt through the form; the 18 in between are the same form sent
    # by the tab's own request context (its cookies, its CSRF token) without drawing the page.
    statuses = [log_in(page, email, "falsches-passwort-1").status]
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    for _ in range(18):
        statuses.append(page.request.post("/login", form={
            "email": email, "password": "falsches-passwort-1", "csrf_token": token}).status)
    statuses.append(log_in(page, email, "falsches-passwort-1").status)
    try:
        allowed = int(live_server.app.config["LOGIN_LIMIT_PER_ACCOUNT"].split()[0])
        assert statuses == [401] * allowed + [429] * (20 - allowed)
        expect(page.get_by_role("heading", level=1)).to_have_text("Zu viele Anfragen")
    finally:
        with live_server.app.app_context():
            ratelimit.reset()  # the other browser tests share this server and address


def test_export_holds_the_progress_and_deletion_leaves_no_trace(page, live_server, smtp):
    from tests.datascan import traces_of

    email = unique_email("loeschen")
    name = "Wilhelmine Weißgerber-Öztürk"
    register(page, email, name)
    page.goto(link(smtp.wait_for(email)[0], "/confirm/"))
    complete_course(live_server, email)
    page.goto("/account/data")
    with page.expect_download() as download:
        page.get_by_role("link", name="Meine Daten herunterladen (ZIP)").click()
    archive = zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read()))
    events = json.loads(archive.read("lernereignisse.json"))
    assert {"enrolled", "module_done", "module_completed"} <= {event["kind"] for event in events}
    assert json.loads(archive.read("profil.json"))[0]["email"] == email
    [certificate] = json.loads(archive.read("zertifikate.json"))
    assert certificate["file"] in archive.namelist()

    page.get_by_role("link", name="Konto löschen …").click()
    expect(page.locator("main")).to_contain_text("ohne Ihren Namen, Ihre Kommune und die Nachweise")
    page.get_by_label("Ihr Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Mein Konto endgültig löschen").click()
    expect(page.locator(".flash-success")).to_contain_text("Ihr Konto und Ihre persönlichen Daten sind gelöscht")

    from namalms.extensions import db

    with live_server.app.app_context():
        left = traces_of([email, name, "Weißgerber"])
        db.session.rollback()
    assert left == []
    page.goto(urlsplit(certificate["verify_url"]).path)
    expect(page.locator(".verify-status")).to_contain_text("Gültig")
    expect(page.locator(".facts")).to_contain_text("Konto gelöscht")


@pytest.fixture
def https_server(live_server):
    """The same app configured for https:// and served over TLS (a throw-away self-signed
    certificate) on its own port, as a TLS-terminating server would."""
    from werkzeug.serving import make_server

    from namalms import create_app

    app = create_app(app_config(live_server.app.config["SQLALCHEMY_DATABASE_URI"], WTF_CSRF_ENABLED=True,
                                SERVER_NAME=None, PUBLIC_BASE_URL="https://lernen.nama.example", PROXY_HOPS=0,
                                CONTENT_DIR=live_server.app.config["CONTENT_DIR"]),
                     instance_path=live_server.app.instance_path)
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context="adhoc")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_behind_https_cookies_are_secure_and_hsts_is_sent(browser, https_server, enrolled_learner):
    email = enrolled_learner("grundlagenkurs")
    context = browser.new_context(base_url=https_server, java_script_enabled=False, ignore_https_errors=True)
    context.set_default_timeout(5_000)
    try:
        page = context.new_page()
        first = page.goto("/login")
        assert first.headers["strict-transport-security"] == "max-age=31536000"
        answer = log_in(page, email, remember=True)
        assert answer.status == 302 and answer.headers["strict-transport-security"] == "max-age=31536000"
        expect(page.locator(".flash-success")).to_contain_text("Sie sind angemeldet")
        cookies = {cookie["name"]: cookie for cookie in context.cookies()}
        for name in ("session", "remember_token", "namalms_had_session"):
            assert cookies[name]["secure"] and cookies[name]["httpOnly"], name
    finally:
        context.close()
