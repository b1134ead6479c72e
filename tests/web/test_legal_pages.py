"""Datenschutzerklärung, Impressum and Erklärung zur Barrierefreiheit: Markdown in content/seiten/,
checked like modules, served at fixed addresses, linked everywhere, edited by the office."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from namalms.content.loader import load_tree, parse_page
from namalms.extensions import db
from namalms.models import AuditEvent, ContentRevision
from namalms.services.content_sync import latest_revision, sync_tree
from tests.conftest import CONTENT_DIR

PAGES = {"/datenschutz": "Datenschutzerklärung", "/impressum": "Impressum",
         "/barrierefreiheit": "Erklärung zur Barrierefreiheit"}


@pytest.mark.parametrize("url, title", PAGES.items())
def test_each_page_is_served_with_its_date(client, url, title):
    response = client.get(url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"<h1>{title}</h1>" in page and "Stand: <time datetime=\"2026-01-31\">31.01.2026</time>" in page


@pytest.mark.parametrize("url", ["/", "/login", "/register", "/verify/", "/datenschutz"])
def test_every_page_links_the_three_in_its_footer(client, url):
    page = client.get(url).get_data(as_text=True)
    footer = page[page.index('<footer'):]
    for address in PAGES:
        assert f'href="{address}"' in footer, address


def test_the_footer_is_there_for_logged_in_people_too(client, learner):
    footer = client.get("/dashboard").get_data(as_text=True).split("<footer", 1)[1]
    assert 'href="/datenschutz"' in footer and 'href="/impressum"' in footer


def test_the_registration_form_links_the_privacy_policy(client):
    page = client.get("/register").get_data(as_text=True)
    form = page[page.index("<form"):page.index("</form>")]
    assert 'href="/datenschutz"' in form and "Datenschutzerklärung" in form


def test_the_privacy_policy_names_what_is_stored_and_for_how_long():
    text = (CONTENT_DIR / "seiten" / "datenschutz.md").read_text(encoding="utf-8")
    for fact in ("LAG 21 NRW", "E-Mail", "Warteschlange", "90 Tage", "Server-Protokolle", "Änderungsprotokoll",
                 "30 Tage", "36 Monate", "anonymer Eintrag", "öffentlichen Schlüssel", "Cookies", "PLATZHALTER",
                 "Anmeldungen", "höchstens 24 Stunden", "Zertifikate"):
        assert fact in text, fact
    assert not re.search(r"\b\d{5} [A-ZÄÖÜ][a-zäöüß]+\b", text), "no invented postal address"
    assert not re.search(r"\+49|\b0\d{3,4}[ /-]\d{3,}", text), "no invented phone number"


def test_content_sync_stores_pages_as_revisions_once(app):
    revision = latest_revision("page", "datenschutz")
    assert revision is not None and revision.meta["title"] == "Datenschutzerklärung"
    assert revision.meta["stand"] == "2026-01-31" and "<h2" in revision.html
    before = db.session.scalar(select(ContentRevision.id).order_by(ContentRevision.id.desc()))
    report = sync_tree(load_tree(CONTENT_DIR).tree)
    assert not [c for c in report.created if c.startswith("page:")], "unchanged pages are no new revisions"
    db.session.rollback()
    assert db.session.scalar(select(ContentRevision.id).order_by(ContentRevision.id.desc())) == before


@pytest.mark.parametrize("text, message", [
    ("Kein Front Matter", "Front Matter fehlt"),
    ("---\nid: datenschutz\ntitle: Datenschutz\n---\nText", "Pflichtfeld „stand“ fehlt"),
    ("---\nid: agb\ntitle: AGB\nstand: 2026-01-31\n---\nText", "unbekannte Seite „agb“"),
    ("---\nid: impressum\ntitle: Impressum\nstand: 31.02.2026\n---\n", "„stand“ muss ein Datum"),
    ("---\nid: impressum\ntitle: Impressum\nstand: 2026-01-31\nautor: x\n---\n", "unbekannter Schlüssel „autor“"),
])
def test_broken_pages_are_reported_with_file_and_line(text, message):
    page, problems = parse_page(text, "seiten/x.md")
    assert page is None and any(message in p.message for p in problems), problems
    assert all(p.path == "seiten/x.md" for p in problems)


def test_a_german_date_is_accepted_for_stand():
    page, problems = parse_page("---\nid: impressum\ntitle: Impressum\nstand: 01.03.2026\n---\nText\n", "seiten/i.md")
    assert problems == [] and page.stand.isoformat() == "2026-03-01"


def test_the_loader_checks_the_folder_as_part_of_the_tree(tmp_path):
    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root)
    (root / "seiten" / "kopie.md").write_text((root / "seiten" / "impressum.md").read_text(encoding="utf-8"),
                                               encoding="utf-8")
    (root / "seiten" / "bild.png").write_bytes(b"\x89PNG")
    problems = load_tree(root).problems
    assert any("Seite „impressum“ gibt es bereits" in p.message for p in problems)
    assert any(p.path == "seiten/bild.png" for p in problems)


def test_a_tree_without_pages_still_loads(tmp_path):
    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root, ignore=shutil.ignore_patterns("seiten"))
    result = load_tree(root)
    assert result.problems == [] and result.tree.pages == {}


# --- the office's editor -------------------------------------------------------------------------

def impressum_source() -> str:
    return latest_revision("page", "impressum").source


def test_the_office_checks_and_publishes_a_page_through_the_checked_path(client, admin, app):
    current = latest_revision("page", "impressum")
    source = impressum_source().replace("stand: 2026-01-31", "stand: 2026-03-01").replace(
        "## Anbieterin", "## Anbieterin der Plattform")
    check = client.post("/office/pages/impressum", data={"source": source, "message": "", "action": "check",
                                                         "base_revision_id": current.id})
    assert check.status_code == 200
    assert "Keine Probleme gefunden" in check.get_data(as_text=True)
    assert latest_revision("page", "impressum").id == current.id, "checking saves nothing"

    published = client.post("/office/pages/impressum", data={
        "source": source, "message": "Überschrift präzisiert", "action": "publish", "base_revision_id": current.id})
    assert published.status_code == 302
    revision = latest_revision("page", "impressum")
    assert revision.number == current.number + 1 and revision.author_id == admin.id
    page = client.get("/impressum").get_data(as_text=True)
    assert "Anbieterin der Plattform" in page and "01.03.2026" in page
    written = Path(app.config["CONTENT_DIR"]) / revision.path
    assert "Anbieterin der Plattform" in written.read_text(encoding="utf-8"), "the file is written back"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "page_published"))
    assert event.target_id == "impressum" and event.reason == "Überschrift präzisiert"
    # Publish the original text again, so the other tests see the shipped page and file.
    restored = client.post("/office/pages/impressum", data={
        "source": current.source, "message": "Test zurückgesetzt", "action": "publish",
        "base_revision_id": revision.id})
    assert restored.status_code == 302 and written.read_text(encoding="utf-8") == current.source


@pytest.mark.parametrize("change, message", [
    (lambda s: s.replace("id: impressum", "id: datenschutz"), "darf nicht geändert werden"),
    (lambda s: re.sub(r"(?m)^stand: .*$", "stand: irgendwann", s), "„stand“ muss ein Datum"),
    (lambda s: s.replace("title: Impressum\n", ""), "Pflichtfeld „title“ fehlt"),
])
def test_a_broken_page_is_refused_with_its_problems(client, admin, change, message):
    current = latest_revision("page", "impressum")
    response = client.post("/office/pages/impressum", data={
        "source": change(impressum_source()), "message": "Test", "action": "publish",
        "base_revision_id": current.id})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert latest_revision("page", "impressum").id == current.id


def test_publishing_over_someone_elses_newer_version_is_refused(client, admin):
    current = latest_revision("page", "impressum")
    response = client.post("/office/pages/impressum", data={
        "source": impressum_source() + "\nNeu.\n", "message": "Test", "action": "publish",
        "base_revision_id": current.id - 1 if current.id > 1 else 999999})
    assert response.status_code == 422 and "Konflikt" in response.get_data(as_text=True)


def test_the_page_list_counts_open_placeholders(client, admin):
    page = client.get("/office/pages").get_data(as_text=True)
    assert "Platzhalter offen" in page and "Bearbeiten" in page


def test_trainers_and_learners_cannot_edit_pages(client, make_user, auth):
    auth.login(make_user("trainer").email)
    assert client.get("/office/pages").status_code == 403
    assert client.post("/office/pages/impressum", data={"source": "x", "action": "publish"}).status_code == 403


def test_an_unknown_page_is_404(client, admin):
    assert client.get("/office/pages/agb").status_code == 404
