"""Outgoing mail through a real SMTP server on 127.0.0.1: queued with the action, sent after the
commit, kept when the server is down or refuses, retried by the cron command and the next request."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from namalms.extensions import db
from namalms.models import OutgoingMail, User
from namalms.models.base import utcnow
from namalms.services import lifecycle, mail
from namalms.unit_of_work import unit_of_work
from tests.conftest import PASSWORD
from tests.mailserver import TestMailServer

pytestmark = pytest.mark.both_databases  # claims and retries run on their own connections

REGISTRATION = {"name": "Jürgen Müller-Lüdenscheidt", "email": "juergen@example.org", "password": PASSWORD,
                "password_repeat": PASSWORD, "district_id": "rhein-erft-kreis", "municipality": "Stadt Bergheim",
                "privacy": "y"}


def rows() -> list[OutgoingMail]:
    """The queue as it is now; the test's transaction ends at once, so delivery (on connections of
    its own) never waits for the test's read lock."""
    db.session.expire_all()
    found = list(db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)))
    db.session.expunge_all()
    db.session.rollback()
    return found


def test_registration_mail_arrives_in_german_with_umlauts_intact(client, smtp):
    assert client.post("/register", data=REGISTRATION).status_code == 302
    [received] = smtp.to("juergen@example.org")
    assert received.subject == "Bitte bestätigen Sie Ihre E-Mail-Adresse – NaMa NRW Lernplattform"
    assert received.message["To"].addresses[0].display_name == "Jürgen Müller-Lüdenscheidt"
    assert "Guten Tag Jürgen Müller-Lüdenscheidt," in received.text
    assert "http://localhost/confirm/" in received.text and "http://localhost/confirm/" in received.html
    assert received.raw.isascii()
    [row] = rows()
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1
    assert row.message is None, "the text (with its link) is dropped once sent"


def test_mail_of_an_action_that_is_rolled_back_is_never_sent(app, smtp, make_user):
    user = make_user("learner", email_confirmed=False)
    with pytest.raises(RuntimeError):
        with unit_of_work():
            lifecycle.send_confirmation(user)
            raise RuntimeError("the action failed after queueing its mail")
    assert rows() == [] and smtp.messages == []


def test_a_server_that_is_down_loses_nothing_and_the_cron_command_sends_later(client, smtp, runner):
    smtp.stop()
    response = client.post("/register", data=REGISTRATION)
    assert response.status_code == 302, "the registration itself succeeds"
    assert db.session.scalar(select(User.id).where(User.email == "juergen@example.org")) is not None
    [row] = rows()
    assert row.status == "queued" and row.attempts == 1 and row.message is not None
    assert "cannot reach" in row.last_error and row.next_attempt_at > utcnow()

    failed_run = runner.invoke(args=["mail", "send-queued"])
    assert failed_run.exit_code == 1 and "0 sent" in failed_run.output
    smtp.start()
    result = runner.invoke(args=["mail", "send-queued"])
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.output
    assert len(smtp.to("juergen@example.org")) == 1
    again = runner.invoke(args=["mail", "send-queued"])
    assert "0 sent" in again.output and len(smtp.messages) == 1, "idempotent: nothing is sent twice"
    assert rows()[0].status == "sent"


def test_the_next_request_that_sends_mail_retries_what_is_due(client, smtp, make_user, app):
    waiting = make_user("learner", email_confirmed=False, email="wartet@example.org")
    smtp.stop()
    with unit_of_work():
        lifecycle.send_confirmation(db.session.get(User, waiting.id))
    assert rows()[0].status == "queued"
    # Its retry time has come (a minute later); then somebody registers while the server is back.
    db.session.execute(OutgoingMail.__table__.update().values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    smtp.start()
    client.post("/register", data=REGISTRATION)
    assert len(smtp.to("wartet@example.org")) == 1 and len(smtp.to("juergen@example.org")) == 1
    assert [row.status for row in rows()] == ["sent", "sent"]


def test_a_request_does_not_retry_before_the_retry_time(client, smtp, make_user):
    waiting = make_user("learner", email_confirmed=False, email="wartet@example.org")
    smtp.stop()
    with unit_of_work():
        lifecycle.send_confirmation(db.session.get(User, waiting.id))
    smtp.start()
    client.post("/register", data=REGISTRATION)
    assert smtp.to("wartet@example.org") == [], "backs off instead of hammering a server that was just down"
    assert len(smtp.to("juergen@example.org")) == 1


def test_a_refusal_for_good_is_marked_failed_and_shown_to_the_office(client, smtp, make_user, auth):
    smtp.refuse_for_good.add("juergen@example.org")
    client.post("/register", data=REGISTRATION)
    [row] = rows()
    assert row.status == "failed" and "550" in row.last_error
    client.post("/logout")
    admin = make_user("admin")
    auth.login(admin.email)
    page = client.get("/office/mail").get_data(as_text=True)
    assert "juergen@example.org" in page and "fehlgeschlagen" in page and "550" in page
    user = db.session.scalar(select(User).where(User.email == "juergen@example.org"))
    detail = client.get(f"/office/users/{user.id}").get_data(as_text=True)
    assert "Bitte bestätigen Sie Ihre E-Mail-Adresse" in detail and "fehlgeschlagen" in detail

    smtp.refuse_for_good.clear()
    client.post(f"/office/mail/{row.id}/retry")
    assert rows()[0].status == "sent" and len(smtp.to("juergen@example.org")) == 1


def test_a_refusal_for_now_waits_for_the_next_attempt(client, smtp):
    smtp.refuse_for_now.add("juergen@example.org")
    client.post("/register", data=REGISTRATION)
    [row] = rows()
    assert row.status == "queued" and "451" in row.last_error


def test_starttls_is_required_never_silently_skipped(client, smtp, app):
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{smtp.port}"  # no ?starttls=no: the server offers none
    client.post("/register", data=REGISTRATION)
    [row] = rows()
    assert row.status == "queued" and "STARTTLS" in row.last_error
    assert smtp.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # deliberate, on 127.0.0.1
def test_the_server_login_from_the_url_is_used(client, app):
    server = TestMailServer(credentials=("nama@lag21.de", "Geheim:Wort/1"))
    server.start()
    try:
        app.config["MAIL_URL"] = f"smtp://nama%40lag21.de:Geheim%3AWort%2F1@127.0.0.1:{server.port}?starttls=no"
        client.post("/register", data=REGISTRATION)
        assert len(server.to("juergen@example.org")) == 1
        app.config["MAIL_URL"] = f"smtp://nama%40lag21.de:falsch@127.0.0.1:{server.port}?starttls=no"
        client.post("/logout")
        client.post("/register", data={**REGISTRATION, "email": "zweite@example.org"})
        assert server.to("zweite@example.org") == []
        assert "refused" in rows()[-1].last_error
    finally:
        server.stop()
        app.config["MAIL_URL"] = ""


def test_without_a_mail_url_messages_go_to_the_outbox_and_the_log(client, app, caplog):
    app.config["MAIL_URL"] = ""
    with caplog.at_level("WARNING"):
        client.post("/register", data=REGISTRATION)
    outbox = Path(app.instance_path) / "outbox"
    files = sorted(outbox.glob("*juergen@example.org.eml"))
    assert files, "an .eml file per message"
    assert "Bitte best" in files[-1].read_text()
    assert "link: http://localhost/confirm/" in caplog.text
    assert rows()[0].status == "sent"


def test_old_messages_are_given_up_and_forgotten(app, smtp, make_user, runner):
    user = make_user("learner", email_confirmed=False)
    smtp.stop()
    with unit_of_work():
        lifecycle.send_confirmation(db.session.get(User, user.id))
    db.session.execute(OutgoingMail.__table__.update().values(created_at=utcnow() - timedelta(hours=49)))
    db.session.commit()
    runner.invoke(args=["mail", "send-queued"])
    [row] = rows()
    assert row.status == "failed" and "aufgegeben" in row.last_error
    db.session.execute(OutgoingMail.__table__.update().values(created_at=utcnow() - timedelta(days=91)))
    db.session.commit()
    runner.invoke(args=["mail", "send-queued"])
    assert rows() == []


def test_a_message_claimed_by_another_worker_is_not_sent_twice(app, smtp, make_user):
    user = make_user("learner", email_confirmed=False)
    app.config["MAIL_SEND_AFTER_COMMIT"] = False
    try:
        with unit_of_work():
            lifecycle.send_confirmation(db.session.get(User, user.id))
    finally:
        app.config["MAIL_SEND_AFTER_COMMIT"] = True
    [row] = rows()
    db.session.execute(OutgoingMail.__table__.update().values(status="sending", claimed_at=utcnow()))
    db.session.commit()
    assert mail.send_queued().sent == [] and smtp.messages == []
    db.session.execute(OutgoingMail.__table__.update().values(claimed_at=utcnow() - timedelta(minutes=20)))
    db.session.commit()
    assert mail.send_queued().sent == [row.id], "a claim of a process that died is released"
    assert len(smtp.messages) == 1


def test_an_address_the_server_cannot_take_fails_alone(client, smtp, make_user):
    make_user("learner", email="jürgen@example.org", email_confirmed=False)
    make_user("learner", email="anna@example.org", email_confirmed=False)
    with unit_of_work():
        for user in db.session.scalars(select(User).order_by(User.id)):
            lifecycle.send_confirmation(user)
    first, second = rows()
    assert first.status == "failed" and "cannot be sent" in first.last_error
    assert second.status == "sent" and len(smtp.to("anna@example.org")) == 1


def test_an_unusable_mail_url_stops_the_start_with_the_reason(tmp_path):
    from namalms import create_app
    from tests.conftest import app_config

    with pytest.raises(RuntimeError, match="must start with smtp://"):
        create_app(app_config("sqlite://", MAIL_URL="http://mail.example.org"), instance_path=str(tmp_path))
