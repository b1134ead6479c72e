"""The page states a person meets in namalms, per role – walked by the accessibility suite
(`test_accessibility.py`) and photographed by `make screenshots` (`screenshots.py`).

The app runs on its own database filled by the demo data (`flask demo`), so every page shows
what a real course run shows: learners with progress, certificates valid and revoked, a
workshop, an audit log. Each state is reached as a person reaches it – a link, or a form
filled in and sent – so forms are checked in their error state too.
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable, Iterator

from flask import Flask

from tests.conftest import CONTENT_DIR

DEMO_PASSWORD = "NaMa-Demo-2026!"
LOGINS = {  # who is signed in for a state (None: nobody)
    "learner": "jana.jaeger@demo.nama.nrw",  # one module short of her first certificate
    "certified": "frank.fassbender@demo.nama.nrw",  # holds the Grundlagenkurs certificate
    "newcomer": "teilnehmerin@demo.nama.nrw",  # no progress yet
    "trainer": "trainer@demo.nama.nrw",
    "office": "programmbuero@demo.nama.nrw",
}
FIRST_MODULE = "gk-agenda-2030"
WORKSHOP_MODULE = "gk-verwaltung-verankern"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BROKEN_FRONT_MATTER = '---\nid: gk-agenda-2030\ntitle: "Agenda 2030\nminutes: 30\n---\n\n# Text\n'


@dataclass(frozen=True)
class DemoFacts:
    """Ids the page states need, read from the demo database."""

    url: str
    app: Flask
    valid_code: str
    valid_number: str
    revoked_code: str
    record_id: int  # the office's learner record of the certified learner
    trainer_id: int
    workshop_id: int


@dataclass(frozen=True)
class PageState:
    """One page as a person sees it: who, how to get there, and whether `make screenshots` shows it."""

    name: str
    role: str | None
    reach: Callable  # reach(page, facts): navigate, fill in, send
    is_main: bool = False
    status: int = 200  # what the final answer's HTTP status must be

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Goto:
    """Reach a page by its address (also read by the HTML check, which fetches it without a browser)."""

    build: Callable[[DemoFacts], str]

    def path(self, facts: DemoFacts) -> str:
        return self.build(facts)

    def __call__(self, page, facts: DemoFacts):
        return page.goto(facts.url + self.build(facts))


def goto(path: str) -> Goto:
    return Goto(lambda facts: path)


def goto_with(build: Callable[[DemoFacts], str]) -> Goto:
    return Goto(build)


def submit(path: str, fill: dict[str, str], button: str) -> Callable:
    """Open a page, fill fields by CSS selector, press the button named `button`."""

    def reach(page, facts: DemoFacts):
        page.goto(facts.url + path)
        for selector, value in fill.items():
            page.fill(selector, value)
        with page.expect_navigation():
            page.get_by_role("button", name=button, exact=True).click()

    return reach


def log_in(page, facts: DemoFacts, role: str) -> None:
    page.goto(facts.url + "/login")
    page.fill("#email", LOGINS[role])
    page.fill("#password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Anmelden", exact=True).click()


def _failed_quiz(page, facts: DemoFacts):
    """The newcomer enrols, opens the first module and sends the self-check with one wrong answer."""
    page.goto(f"{facts.url}/courses/grundlagenkurs")
    enrol = page.get_by_role("button", name="In diesen Kurs einschreiben")
    if enrol.count():
        with page.expect_navigation():
            enrol.click()
    page.goto(f"{facts.url}/modules/{FIRST_MODULE}")
    page.locator("fieldset.question input").first.check()
    with page.expect_navigation():
        page.get_by_role("button", name="Selbstcheck auswerten").click()


def _editor_with_problems(page, facts: DemoFacts):
    page.goto(f"{facts.url}/trainer/content/module/{FIRST_MODULE}/bearbeiten")
    page.fill("#source", BROKEN_FRONT_MATTER)
    with page.expect_navigation():
        page.get_by_role("button", name="Prüfen", exact=True).click()


def _preview(page, facts: DemoFacts):
    page.goto(f"{facts.url}/trainer/content/module/{FIRST_MODULE}/bearbeiten")
    with page.expect_navigation():
        page.get_by_role("button", name="Vorschau", exact=True).click()


def _revoke_without_reason(page, facts: DemoFacts):
    page.goto(f"{facts.url}/office/learners/{facts.record_id}")
    page.locator("details.action summary", has_text="Widerrufen").first.click()
    with page.expect_navigation():
        page.get_by_role("button", name=f"Zertifikat {facts.valid_number} widerrufen").click()


def _create_trainer_without_name(page, facts: DemoFacts):
    page.goto(f"{facts.url}/office/users")
    page.locator("summary", has_text="Trainer-Konto anlegen").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Trainer-Konto anlegen").click()


STATES: list[PageState] = [
    # --- public ------------------------------------------------------------------------------
    PageState("oeffentlich-katalog", None, goto("/"), is_main=True),
    PageState("oeffentlich-kurs", None, goto("/courses/grundlagenkurs"), is_main=True),
    PageState("oeffentlich-anmelden", None, goto("/login"), is_main=True),
    PageState("oeffentlich-anmelden-fehler", None,
              submit("/login", {"#email": "niemand@example.org", "#password": "falsch-falsch"}, "Anmelden"),
              status=401),
    PageState("oeffentlich-registrieren", None, goto("/register")),
    PageState("oeffentlich-registrieren-fehler", None, submit("/register", {}, "Konto anlegen"), status=422),
    PageState("oeffentlich-pruefen", None, goto("/verify")),
    PageState("oeffentlich-pruefen-gueltig", None, goto_with(lambda f: f"/verify/{f.valid_code}"), is_main=True),
    PageState("oeffentlich-pruefen-widerrufen", None, goto_with(lambda f: f"/verify/{f.revoked_code}")),
    PageState("oeffentlich-pruefen-unbekannt", None, goto("/verify/GIBT-ES-NICHT"), status=404),
    PageState("oeffentlich-glossar", None, goto("/glossar")),
    PageState("oeffentlich-vorlagen", None, goto("/vorlagen/")),
    PageState("fehler-404", None, goto("/diese-seite-gibt-es-nicht"), status=404),
    PageState("fehler-403", "learner", goto("/office/"), status=403),
    PageState("oeffentlich-anmelden-weiterleitung", None, goto(f"/modules/{FIRST_MODULE}")),
    # --- learner -----------------------------------------------------------------------------
    PageState("lernende-lernstand", "learner", goto("/dashboard"), is_main=True),
    PageState("lernende-kurs", "learner", goto("/courses/grundlagenkurs"), is_main=True),
    PageState("lernende-modul-abgeschlossen", "learner", goto(f"/modules/{FIRST_MODULE}"), is_main=True),
    PageState("lernende-modul-offen", "learner", goto(f"/modules/{WORKSHOP_MODULE}"), is_main=True),
    PageState("lernende-zertifikate", "learner", goto("/certificates"), is_main=True),
    PageState("lernende-profil", "learner", goto("/profile")),
    PageState("lernende-profil-fehler", "learner", submit("/profile", {"#name": ""}, "Speichern"), status=422),
    PageState("lernende-selbstcheck-nicht-bestanden", "newcomer", _failed_quiz, is_main=True),
    PageState("lernende-zertifikat", "certified", goto_with(lambda f: f"/certificates/{f.valid_number}"),
              is_main=True),
    PageState("lernende-zertifikate-mit-zertifikat", "certified", goto("/certificates")),
    # --- trainer -----------------------------------------------------------------------------
    PageState("trainer-start", "trainer", goto("/trainer/"), is_main=True),
    PageState("trainer-inhalte", "trainer", goto("/trainer/content"), is_main=True),
    PageState("trainer-modul-verlauf", "trainer", goto(f"/trainer/content/module/{FIRST_MODULE}")),
    PageState("trainer-editor", "trainer", goto(f"/trainer/content/module/{FIRST_MODULE}/bearbeiten"), is_main=True),
    PageState("trainer-editor-probleme", "trainer", _editor_with_problems, is_main=True, status=422),
    PageState("trainer-vorschau", "trainer", _preview),
    PageState("trainer-revision", "trainer", goto(f"/trainer/content/module/{FIRST_MODULE}/revision/1")),
    PageState("trainer-vergleich", "trainer", goto(f"/trainer/content/module/{FIRST_MODULE}/vergleich?alt=1&neu=1")),
    PageState("trainer-zurueckziehen", "trainer", goto(f"/trainer/content/module/{FIRST_MODULE}/zurueckziehen")),
    PageState("trainer-bilder", "trainer", goto("/trainer/content/kurs/grundlagenkurs/bilder")),
    PageState("trainer-workshops", "trainer", goto("/trainer/workshops"), is_main=True),
    PageState("trainer-workshop", "trainer", goto_with(lambda f: f"/trainer/workshops/{f.workshop_id}"),
              is_main=True),
    PageState("trainer-workshop-neu", "trainer", goto("/trainer/workshops/new")),
    PageState("trainer-workshop-neu-fehler", "trainer", submit("/trainer/workshops/new", {}, "Workshop planen"),
              status=422),
    PageState("trainer-teilnehmende", "trainer", goto("/trainer/learners"), is_main=True),
    PageState("trainer-modulvorschau", "trainer", goto(f"/modules/{FIRST_MODULE}")),
    # --- office ------------------------------------------------------------------------------
    PageState("buero-zertifizierungsstand", "office", goto("/office/"), is_main=True),
    PageState("buero-statistik", "office", goto("/office/statistics"), is_main=True),
    PageState("buero-konten", "office", goto("/office/users"), is_main=True),
    PageState("buero-konto-anlegen-fehler", "office", _create_trainer_without_name, status=422),
    PageState("buero-trainerkonto", "office", goto_with(lambda f: f"/office/users/{f.trainer_id}"), is_main=True),
    PageState("buero-lernakte", "office", goto_with(lambda f: f"/office/learners/{f.record_id}"), is_main=True),
    PageState("buero-widerruf-fehler", "office", _revoke_without_reason, status=422),
    PageState("buero-protokoll", "office", goto("/office/audit"), is_main=True),
    PageState("buero-protokoll-fehler", "office", goto("/office/audit?from=31.02.2026"), status=400),
    PageState("buero-api-zugaenge", "office", goto("/office/tokens")),
]


def build_demo_app(database: Path, content_copy: Path) -> Flask:
    """A fresh app on `database`, migrated, with the shipped content and the demo data."""
    from namalms.demo import seed_demo
    from namalms.extensions import db
    from namalms.models.base import utcnow
    from namalms.services import accounts
    from namalms.services import workshops
    from namalms.formatting import to_local
    from tests.browser.conftest import build_app

    app = build_app(f"sqlite:///{database}", str(content_copy))
    with app.app_context():
        seed_demo()
        trainer = accounts.find_user_by_email(LOGINS["trainer"])
        day = to_local(utcnow() + timedelta(days=14)).strftime("%Y-%m-%d")
        workshops.schedule_workshop(workshops.WorkshopDraft(
            target=f"module:{WORKSHOP_MODULE}", title="Abschlussworkshop Grundlagenkurs", date=day,
            start_time="10:00", end_time="12:30", format="online", location="https://meet.example.org/abschluss",
            capacity="20", description="Wir stellen unsere Fahrpläne vor."), actor=trainer)
        db.session.commit()
    return app


def demo_facts(url: str, app: Flask) -> DemoFacts:
    from sqlalchemy import select

    from namalms.extensions import db
    from namalms.models import Certificate, User, Workshop
    from namalms.services import accounts

    with app.app_context():
        certified = accounts.find_user_by_email(LOGINS["certified"])
        valid = db.session.scalars(select(Certificate).where(
            Certificate.user_id == certified.id, Certificate.status == "valid")).first()
        revoked = db.session.scalars(select(Certificate).where(Certificate.status == "revoked")).first()
        trainer = db.session.scalars(select(User).where(User.email == LOGINS["trainer"])).one()
        workshop = db.session.scalars(select(Workshop)).first()
        return DemoFacts(url=url, app=app, valid_code=valid.verification_code, valid_number=valid.number,
                         revoked_code=revoked.verification_code, record_id=certified.id, trainer_id=trainer.id,
                         workshop_id=workshop.id)


@contextlib.contextmanager
def demo_server() -> Iterator[DemoFacts]:
    """The app with the demo data, served on a free port of 127.0.0.1 until the block ends."""
    from tests.browser.conftest import serving

    folder = Path(tempfile.mkdtemp(prefix="namalms-demo-server-"))
    try:
        shutil.copytree(CONTENT_DIR, folder / "content")
        app = build_demo_app(folder / "demo.sqlite3", folder / "content")
        with serving(app, "namalms-demo-server") as url:
            yield demo_facts(url, app)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def reach(page, facts: DemoFacts, state: PageState):
    """Sign in as the state's role (if any) and bring the page into the state; returns nothing."""
    if state.role is not None:
        log_in(page, facts, state.role)
    state.reach(page, facts)
