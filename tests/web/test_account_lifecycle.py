"""The account life cycle with a real mail server: confirm the address, forgotten password, change
password and address, and what the office can trigger."""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from namalms.extensions import db
from namalms.models import AuditEvent, Certificate, Course, Module, User
from namalms.services import lifecycle, progress
from namalms.unit_of_work import unit_of_work
from tests.conftest import PASSWORD, FreshUserClient

NEW_PASSWORD = "Regenbogen-Solardach-77"
REGISTRATION = {"name": "Lena Löwenherz", "email": "lena@example.org", "password": PASSWORD,
                "password_repeat": PASSWORD, "district_id": "rhein-erft-kreis", "municipality": "Stadt Bergheim",
                "privacy": "y"}


def link_in(received, path: str) -> str:
    """The link to ``path`` in a received message, as a path the test client can open."""
    match = re.search(rf"http://localhost({re.escape(path)}[A-Za-z0-9._-]+)", received.text)
    assert match, f"no {path} link in: {received.text}"
    return match.group(1)


def user(email: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def complete_grundlagenkurs(account: User) -> None:
    """Do everything the Grundlagenkurs certificate asks for, through the services."""
    from namalms.demo import complete_module

    course = db.session.get(Course, "grundlagenkurs")
    with unit_of_work():
        learner = db.session.get(User, account.id)
        progress.enrol(learner, course)
        for module in db.session.scalars(select(Module).where(Module.course_id == course.id,
                                                               Module.is_retired.is_(False))):
            complete_module(learner, module, module_at())


def module_at():
    from namalms.models.base import utcnow

    return utcnow()


def another_client(app) -> FreshUserClient:
    app.test_client_class = FreshUserClient
    return app.test_client()


# --- registration and confirmation ---------------------------------------------------------------

def test_registration_mails_a_confirmation_link_that_confirms_once(client, smtp):
    client.post("/register", data=REGISTRATION)
    assert not user("lena@example.org").is_email_confirmed
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Bitte bestätigen Sie Ihre E-Mail-Adresse" in page, "the learner is reminded on every page"
    link = link_in(smtp.to("lena@example.org")[0], "/confirm/")
    response = client.get(link, follow_redirects=True)
    assert "Ihre E-Mail-Adresse ist bestätigt" in response.get_data(as_text=True)
    assert user("lena@example.org").is_email_confirmed
    assert "Bitte bestätigen Sie Ihre E-Mail-Adresse" not in client.get("/dashboard").get_data(as_text=True)
    fresh = another_client(client.application)
    again = fresh.get(link)
    assert again.status_code == 400 and "bereits verwendet" in again.get_data(as_text=True)


def test_an_unconfirmed_learner_learns_but_gets_the_certificate_only_when_confirming(client, smtp):
    client.post("/register", data=REGISTRATION)
    account = user("lena@example.org")
    complete_grundlagenkurs(account)
    assert db.session.scalars(select(Certificate).where(Certificate.user_id == account.id)).all() == []
    page = client.get("/certificates").get_data(as_text=True)
    assert "Bestätigen Sie Ihre E-Mail-Adresse" in page
    assert [m.subject for m in smtp.to("lena@example.org")] == [
        "Bitte bestätigen Sie Ihre E-Mail-Adresse – NaMa NRW Lernplattform"]

    response = client.get(link_in(smtp.to("lena@example.org")[0], "/confirm/"), follow_redirects=True)
    assert "Neu ausgestellt: Zertifikat Grundlagenkurs" in response.get_data(as_text=True)
    [certificate] = db.session.scalars(select(Certificate).where(Certificate.user_id == account.id)).all()
    issued = smtp.to("lena@example.org")[-1]
    assert issued.subject.startswith("Zertifikat ausgestellt:")
    assert f"/verify/{certificate.verification_code}" in issued.text


def test_an_expired_confirmation_link_is_refused_and_a_new_one_can_be_sent(client, smtp, monkeypatch):
    client.post("/register", data=REGISTRATION)
    account = user("lena@example.org")
    real_time = time.time
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: real_time() - 25 * 3600)
        token = lifecycle.make_link_token(lifecycle.CONFIRM, account)
    response = client.get(f"/confirm/{token}")
    assert response.status_code == 400 and "abgelaufen" in response.get_data(as_text=True)
    assert not user("lena@example.org").is_email_confirmed
    client.post("/confirm/resend")
    assert len(smtp.to("lena@example.org")) == 2
    client.get(link_in(smtp.to("lena@example.org")[-1], "/confirm/"))
    assert user("lena@example.org").is_email_confirmed


@pytest.mark.parametrize("token", ["kaputt", "eyJ1IjoxfQ.aaaa.bbbb", "x" * 500])
def test_a_forged_or_broken_link_confirms_nothing(client, smtp, token):
    client.post("/register", data=REGISTRATION)
    assert client.get(f"/confirm/{token}").status_code == 400
    assert not user("lena@example.org").is_email_confirmed


def test_a_reset_link_is_no_confirmation_link(client, smtp, make_user):
    account = make_user("learner", email_confirmed=False)
    token = lifecycle.make_link_token(lifecycle.RESET, account)
    assert client.get(f"/confirm/{token}").status_code == 400, "the salt differs per purpose"


def test_accounts_made_by_the_office_the_cli_and_the_demo_count_as_confirmed(app, runner, smtp):
    result = runner.invoke(args=["users", "create", "--email", "neu@lag21.de", "--name", "Neue Trainerin",
                                 "--role", "trainer", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0
    assert user("neu@lag21.de").is_email_confirmed
    assert runner.invoke(args=["demo"]).exit_code == 0
    demo = user("frank.fassbender@demo.nama.nrw")
    assert demo.is_email_confirmed
    assert db.session.scalars(select(Certificate).where(Certificate.user_id == demo.id)).all(), \
        "demo learners hold certificates"
    assert smtp.messages == [], "the demo data mails nobody"


# --- forgotten password ----------------------------------------------------------------------------

def test_forgotten_password_answers_the_same_whether_the_address_exists_or_not(client, smtp, make_user):
    make_user("learner", email="lena@example.org")
    known = client.post("/password/forgot", data={"email": "Lena@Example.org"}, follow_redirects=True)
    unknown = client.post("/password/forgot", data={"email": "niemand@example.org"}, follow_redirects=True)
    assert known.status_code == unknown.status_code == 200

    def answer(response):
        return re.search(r'<p class="flash[^>]*>(.*?)</p>', response.get_data(as_text=True), re.S).group(1)

    assert answer(known) == answer(unknown)
    assert "Wenn es zu dieser Adresse ein Konto gibt" in answer(known)
    assert len(smtp.to("lena@example.org")) == 1 and smtp.to("niemand@example.org") == []


def test_a_password_reset_ends_every_session_and_works_once(app, client, smtp, make_user, auth):
    account = make_user("learner", email="lena@example.org")
    other_device = another_client(app)
    AuthLogin(other_device).login("lena@example.org", remember=True)
    assert other_device.get("/dashboard").status_code == 200

    client.post("/password/forgot", data={"email": "lena@example.org"})
    [received] = smtp.to("lena@example.org")
    assert received.subject == "Neues Passwort festlegen – NaMa NRW Lernplattform"
    assert "gilt 60 Minuten" in received.text
    link = link_in(received, "/password/reset/")
    form = client.get(link)
    assert form.status_code == 200 and "lena@example.org" in form.get_data(as_text=True)
    weak = client.post(link, data={"password": "kurz", "password_repeat": "kurz"})
    assert weak.status_code == 422 and "mindestens 10 Zeichen" in weak.get_data(as_text=True)
    done = client.post(link, data={"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")

    assert other_device.get("/dashboard").status_code == 302, "the other device is logged out"
    assert auth.login("lena@example.org", PASSWORD).status_code == 401
    assert auth.login("lena@example.org", NEW_PASSWORD).status_code == 302
    assert client.get(link).status_code == 400, "the link is spent"
    assert smtp.to("lena@example.org")[-1].subject == "Ihr Passwort wurde geändert – NaMa NRW Lernplattform"
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.subject_user_id == account.id)).all()
    assert "password_reset" in actions


def test_a_reset_link_expires_after_an_hour(client, smtp, make_user, monkeypatch):
    account = make_user("learner")
    real_time = time.time
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: real_time() - 61 * 60)
        token = lifecycle.make_link_token(lifecycle.RESET, account)
    response = client.get(f"/password/reset/{token}")
    assert response.status_code == 400 and "abgelaufen" in response.get_data(as_text=True)
    assert "Neuen Link anfordern" in response.get_data(as_text=True)


def test_a_deactivated_account_gets_no_reset_mail(client, smtp, make_user):
    account = make_user("learner", email="lena@example.org")
    account.is_active_account = False
    db.session.commit()
    client.post("/password/forgot", data={"email": "lena@example.org"})
    assert smtp.messages == []


# --- changes by the account holder ---------------------------------------------------------------

class AuthLogin:
    def __init__(self, client):
        self.client = client

    def login(self, email, password=PASSWORD, remember=False):
        data = {"email": email, "password": password, **({"remember": "y"} if remember else {})}
        return self.client.post("/login", data=data)


def test_changing_the_password_needs_the_current_one_and_ends_the_other_sessions(app, client, smtp, make_user,
                                                                                 auth):
    make_user("learner", email="lena@example.org")
    auth.login("lena@example.org")
    other_device = another_client(app)
    AuthLogin(other_device).login("lena@example.org")
    wrong = client.post("/account/password", data={"pw-current_password": "falsch-falsch-1",
                                                   "pw-password": NEW_PASSWORD, "pw-password_repeat": NEW_PASSWORD})
    assert wrong.status_code == 422 and "Das aktuelle Passwort stimmt nicht" in wrong.get_data(as_text=True)
    assert other_device.get("/dashboard").status_code == 200

    done = client.post("/account/password", data={"pw-current_password": PASSWORD, "pw-password": NEW_PASSWORD,
                                                   "pw-password_repeat": NEW_PASSWORD})
    assert done.status_code == 302
    assert client.get("/dashboard").status_code == 200, "this browser stays logged in"
    assert other_device.get("/dashboard").status_code == 302, "every other login ends"
    assert smtp.to("lena@example.org")[-1].subject == "Ihr Passwort wurde geändert – NaMa NRW Lernplattform"


def test_changing_the_address_confirms_the_new_one_and_tells_the_old_one(client, smtp, make_user, auth):
    make_user("learner", email="lena@example.org", name="Lena Löwenherz")
    auth.login("lena@example.org")
    response = client.post("/account/email", data={"mail-new_email": "Lena.Neu@Example.org",
                                                   "mail-password": PASSWORD})
    assert response.status_code == 302
    assert user("lena@example.org") is not None, "nothing changes before the link is opened"
    [notice] = smtp.to("lena@example.org")
    assert notice.subject == "Änderung Ihrer E-Mail-Adresse beantragt – NaMa NRW Lernplattform"
    assert "lena.neu@example.org" in notice.text
    [confirm] = smtp.to("lena.neu@example.org")
    link = link_in(confirm, "/email/confirm/")
    assert client.get(link).status_code == 302
    assert user("lena@example.org") is None and user("lena.neu@example.org").is_email_confirmed
    client.post("/logout")
    assert auth.login("lena.neu@example.org").status_code == 302
    assert client.get(link).status_code == 400, "the link is spent"


@pytest.mark.parametrize("new_email, password, message", [
    ("kein-at-zeichen", PASSWORD, "gültige E-Mail-Adresse"),
    ("lena@example.org", PASSWORD, "bereits Ihre E-Mail-Adresse"),
    ("besetzt@example.org", PASSWORD, "gibt es bereits ein Konto"),
    ("neu@example.org", "falsches-passwort", "Das aktuelle Passwort stimmt nicht"),
])
def test_an_address_change_is_refused_with_a_reason(client, smtp, make_user, auth, new_email, password, message):
    make_user("learner", email="lena@example.org")
    make_user("learner", email="besetzt@example.org")
    auth.login("lena@example.org")
    response = client.post("/account/email", data={"mail-new_email": new_email, "mail-password": password})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert smtp.messages == []


def test_a_new_password_spends_a_pending_address_change(client, smtp, make_user, auth):
    make_user("learner", email="lena@example.org")
    auth.login("lena@example.org")
    client.post("/account/email", data={"mail-new_email": "dieb@example.org", "mail-password": PASSWORD})
    link = link_in(smtp.to("dieb@example.org")[0], "/email/confirm/")
    client.post("/account/password", data={"pw-current_password": PASSWORD, "pw-password": NEW_PASSWORD,
                                           "pw-password_repeat": NEW_PASSWORD})
    assert client.get(link).status_code == 400
    assert user("lena@example.org") is not None


# --- the office -------------------------------------------------------------------------------------

def test_the_office_resends_a_confirmation_and_triggers_a_reset(client, smtp, make_user, auth):
    learner = make_user("learner", email="lena@example.org", email_confirmed=False)
    admin = make_user("admin")
    auth.login(admin.email)
    page = client.get(f"/office/users/{learner.id}").get_data(as_text=True)
    assert "noch nicht bestätigt" in page and "Bestätigungslink erneut senden" in page
    client.post(f"/office/users/{learner.id}/resend-confirmation")
    client.post(f"/office/users/{learner.id}/password-reset")
    subjects = [m.subject for m in smtp.to("lena@example.org")]
    assert subjects == ["Bitte bestätigen Sie Ihre E-Mail-Adresse – NaMa NRW Lernplattform",
                        "Neues Passwort festlegen – NaMa NRW Lernplattform"]
    assert "das Programmbüro hat" in smtp.to("lena@example.org")[1].text
    page = client.get(f"/office/users/{learner.id}").get_data(as_text=True)
    assert page.count("versendet") >= 2
    assert "Bestätigungslink erneut gesendet" in page and "Link zum Zurücksetzen des Passworts gesendet" in page


def test_the_office_cannot_grant_a_certificate_to_an_unconfirmed_address(client, make_user, auth):
    learner = make_user("learner", email_confirmed=False)
    auth.login(make_user("admin").email)
    response = client.post(f"/office/learners/{learner.id}/grant",
                           data={"definition_id": "zertifikat-grundlagenkurs", "reason": "Anerkennung extern"},
                           headers={"Referer": f"http://localhost/office/learners/{learner.id}"},
                           follow_redirects=True)
    assert "noch nicht bestätigt" in response.get_data(as_text=True)
    assert db.session.scalars(select(Certificate)).all() == []


@pytest.mark.parametrize("url", ["/office/mail", "/office/retention", "/office/pages"])
@pytest.mark.parametrize("role", ["learner", "trainer"])
def test_only_the_office_sees_mail_retention_and_pages(client, make_user, auth, url, role):
    auth.login(make_user(role).email)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", ["/office/users/1/resend-confirmation", "/office/users/1/password-reset",
                                 "/office/mail/1/retry"])
def test_office_mail_actions_are_for_the_office_only(client, make_user, auth, smtp, url):
    auth.login(make_user("trainer").email)
    assert client.post(url).status_code == 403
    assert smtp.messages == []
