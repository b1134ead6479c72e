"""A trainer changes a module in the browser (without JavaScript) and a learner sees it."""
import io
import zipfile
from pathlib import Path

import pytest

from tests.browser.conftest import PASSWORD, unique_email
from tests.conftest import minutes_line

pytestmark = pytest.mark.browser
MODULE = "gk-agenda-2030"
NEW_SENTENCE = "Dieser Satz wurde im Browser ergänzt und veröffentlicht."


def make_account(live_server, role: str) -> str:
    """An account of this role; a trainer looks after every course, as the office would set it."""
    from namalms.extensions import db
    from namalms.services import trainer_courses
    from namalms.services.accounts import create_user

    email = unique_email(role)
    with live_server.app.app_context():
        user = create_user(email=email, name=f"Browser {role.title()}", role=role, password=PASSWORD)
        if role == "trainer":
            for course in trainer_courses.all_courses():
                trainer_courses.assign(user, course, actor_label="Test")
        db.session.commit()
    return email


def log_in(page, live_server, email):
    page.goto(live_server.url + "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Anmelden").click()


def test_trainer_fixes_broken_front_matter_previews_publishes_and_restores(browser, live_server, enrolled_learner):
    from playwright.sync_api import expect

    trainer = browser.new_context(java_script_enabled=False).new_page()
    log_in(trainer, live_server, make_account(live_server, "trainer"))
    trainer.goto(f"{live_server.url}/trainer/content/module/{MODULE}/bearbeiten")
    source = trainer.locator("textarea").input_value()
    trainer.locator("textarea").fill(source.replace(minutes_line(), "minutes: viel", 1))
    trainer.get_by_role("button", name="Prüfen", exact=True).click()
    expect(trainer.locator(".problem-list").first).to_contain_text("Zeile 5")
    expect(trainer.locator("tr#zeile-5")).to_have_class("has-problem")

    fixed = source.replace("\n## Lerneinheit 1", f"\n{NEW_SENTENCE}\n\n## Lerneinheit 1", 1)
    trainer.locator("textarea").fill(fixed)
    trainer.get_by_role("button", name="Vorschau", exact=True).click()
    expect(trainer.locator("main")).to_contain_text(NEW_SENTENCE)
    trainer.fill("#message", "Einleitung ergänzt")
    trainer.get_by_role("button", name="Veröffentlichen", exact=True).click()
    expect(trainer.locator(".flash").first).to_contain_text("veröffentlicht")
    content_file = Path(live_server.app.config["CONTENT_DIR"]) / "grundlagenkurs" / "01-agenda-2030.md"
    assert NEW_SENTENCE in content_file.read_text(encoding="utf-8"), "written back into content/"

    learner = browser.new_context(java_script_enabled=False).new_page()
    log_in(learner, live_server, enrolled_learner("grundlagenkurs"))
    learner.goto(f"{live_server.url}/modules/{MODULE}")
    expect(learner.locator(".prose").first).to_contain_text(NEW_SENTENCE)

    trainer.goto(f"{live_server.url}/trainer/content/module/{MODULE}")
    trainer.get_by_role("button", name="Wiederherstellen (Revision 1)").click()
    expect(trainer.locator(".flash").first).to_contain_text("wiederhergestellt")
    learner.goto(f"{live_server.url}/modules/{MODULE}")
    expect(learner.locator(".prose").first).not_to_contain_text(NEW_SENTENCE)
    assert NEW_SENTENCE not in content_file.read_text(encoding="utf-8")


def test_zip_with_parent_path_is_refused_and_nothing_changes(browser, live_server, tmp_path):
    from playwright.sync_api import expect

    content_dir = Path(live_server.app.config["CONTENT_DIR"])
    before = {p: p.read_bytes() for p in content_dir.rglob("*") if p.is_file()}
    archive = tmp_path / "kurs.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("grundlagenkurs/course.yml", (content_dir / "grundlagenkurs" / "course.yml").read_text())
        zf.writestr("../boese.md", "---\nid: boese\n---\n")
    archive.write_bytes(buffer.getvalue())
    trainer = browser.new_context(java_script_enabled=False).new_page()
    log_in(trainer, live_server, make_account(live_server, "trainer"))
    trainer.goto(f"{live_server.url}/trainer/content")
    trainer.set_input_files("#zip-file", str(archive))
    trainer.get_by_role("button", name="Prüfen und veröffentlichen").click()
    expect(trainer.locator("main")).to_contain_text("..")
    expect(trainer.locator("[role=alert]").first).to_be_visible()
    after = {p: p.read_bytes() for p in content_dir.rglob("*") if p.is_file()}
    assert after == before


def test_attendance_csv_completes_the_course_and_the_learner_sees_the_certificate(browser, live_server, tmp_path):
    from datetime import timedelta

    from playwright.sync_api import expect

    from namalms.demo import complete_module
    from namalms.extensions import db
    from namalms.models import Course, Workshop
    from namalms.models.base import utcnow
    from namalms.services import progress
    from namalms.services.accounts import create_user

    learner_email = unique_email("fast-fertig")
    with live_server.app.app_context():
        learner = create_user(email=learner_email, name="Jana Jäger", role="learner", password=PASSWORD,
                              district_id="hochsauerlandkreis", municipality="Stadt Arnsberg")
        course = db.session.get(Course, "grundlagenkurs")
        progress.enrol(learner, course)
        *first, last = course.modules
        for module in first:
            complete_module(learner, module, utcnow() - timedelta(days=30))
        progress.mark_done(learner, last)
        quiz = progress.quiz_of(last)
        progress.submit_quiz(learner, last, {q.id: {i for i, o in enumerate(q.options) if o.is_correct}
                                             for q in quiz.questions})
        workshop = Workshop(course_id=course.id, module_id=last.id, title="Abschlussworkshop Grundlagenkurs",
                            starts_at=utcnow() - timedelta(days=1), ends_at=utcnow() - timedelta(days=1, hours=-3),
                            format="online", location="Videokonferenz")
        db.session.add(workshop)
        db.session.commit()
        workshop_id = workshop.id
    csv_file = tmp_path / "teilnahmeliste.csv"
    # As German Excel writes it: Windows-1252, semicolons, a header row, one unknown address.
    csv_file.write_bytes(f"Name;E-Mail\r\nJana Jäger;{learner_email}\r\nGast;gast@example.org\r\n".encode("cp1252"))

    trainer = browser.new_context(java_script_enabled=False).new_page()
    log_in(trainer, live_server, make_account(live_server, "trainer"))
    trainer.goto(f"{live_server.url}/trainer/workshops/{workshop_id}")
    trainer.set_input_files("#file", str(csv_file))
    trainer.get_by_role("button", name="Liste prüfen").click()
    expect(trainer.locator("main")).to_contain_text("gast@example.org")  # unmatched row listed
    expect(trainer.locator("main")).to_contain_text("Jana Jäger")
    trainer.get_by_role("button", name="1 Teilnahme eintragen").click()
    expect(trainer.locator(".flash").first).to_contain_text("Zertifikat")

    learner_page = browser.new_context(java_script_enabled=False).new_page()
    log_in(learner_page, live_server, learner_email)
    learner_page.goto(f"{live_server.url}/dashboard")
    expect(learner_page.locator(".notice-certificate")).to_contain_text("Zertifikat Grundlagenkurs")
    learner_page.get_by_role("link", name="Zertifikat ansehen und herunterladen").click()
    expect(learner_page.locator("main")).to_contain_text("Gültig")
