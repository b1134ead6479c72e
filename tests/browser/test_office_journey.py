"""The programme office finds a learner by certificate number, revokes, and the public page changes."""
import pytest

from tests.browser.conftest import PASSWORD, unique_email
from tests.browser.test_trainer_journey import log_in, make_account

pytestmark = pytest.mark.browser


def test_office_finds_by_number_revokes_and_verification_page_shows_widerrufen(browser, live_server):
    from playwright.sync_api import expect

    from namalms.demo import complete_module
    from namalms.extensions import db
    from namalms.models import Certificate, Course
    from namalms.models.base import utcnow
    from namalms.services import progress
    from namalms.services.accounts import create_user

    with live_server.app.app_context():
        learner = create_user(email=unique_email("zertifiziert"), name="Frank Faßbender", role="learner",
                              password=PASSWORD, district_id="stadt-muenster", municipality="Stadt Münster")
        course = db.session.get(Course, "grundlagenkurs")
        progress.enrol(learner, course)
        for module in course.modules:
            complete_module(learner, module, utcnow())
        db.session.commit()
        certificate = db.session.query(Certificate).filter_by(user_id=learner.id).one()
        number, code = certificate.number, certificate.verification_code

    public = browser.new_context(java_script_enabled=False).new_page()
    public.goto(f"{live_server.url}/verify")
    public.fill("#code", code)
    public.get_by_role("button", name="Code prüfen").click()
    expect(public.locator(".verify-status")).to_contain_text("Gültig")

    office = browser.new_context(java_script_enabled=False).new_page()
    log_in(office, live_server, make_account(live_server, "admin"))
    office.goto(f"{live_server.url}/office/?q={number}")
    office.get_by_role("link", name="Frank Faßbender").first.click()
    expect(office.locator("h1")).to_contain_text("Frank Faßbender")
    office.locator("summary", has_text="Widerrufen").first.click()
    office.locator("select[name=category]").first.select_option("error")
    office.locator("textarea[name=reason]").first.fill("Workshop-Teilnahme irrtümlich eingetragen")
    office.get_by_role("button", name=f"Zertifikat {number} widerrufen").click()
    expect(office.locator(".flash").first).to_contain_text("widerrufen")

    public.goto(f"{live_server.url}/verify/{code}")
    expect(public.locator(".verify-status")).to_contain_text("Widerrufen")
    office.goto(f"{live_server.url}/office/audit")
    expect(office.locator("main")).to_contain_text("Workshop-Teilnahme irrtümlich eingetragen")
