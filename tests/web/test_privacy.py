"""Data protection: the learner's data export, deleting one's account (nothing personal left in any
column of any table), the certificate rule, and the retention command."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text

from namalms.extensions import db
from namalms.models import AuditEvent, Certificate, CertificateDefinition, Course, User
from namalms.models.base import utcnow
from namalms.services import accounts, lifecycle, progress
from namalms.services.certificates import correct_certificate_name, grant_certificate, revoke_certificate
from namalms.unit_of_work import unit_of_work
from tests.conftest import PASSWORD
from tests.datascan import everything_in_the_database, mentions

pytestmark = pytest.mark.both_databases  # deletion relies on the database's ON DELETE rules

NAME = "Margarete Müller-Weißenbörn"
EMAIL = "margarete.mueller@kreis-dueren.de"


def busy_learner(make_user, admin) -> User:
    """A learner who did everything that leaves traces: learning, quizzes, a certificate (revoked
    and re-issued), a name correction, a profile change, mail, an address change, settings."""
    from namalms.demo import complete_module

    learner = make_user("learner", name=NAME, email=EMAIL, municipality="Gemeinde Langerwehe")
    with unit_of_work():
        user = db.session.get(User, learner.id)
        course = db.session.get(Course, "grundlagenkurs")
        progress.enrol(user, course)
        for module in [m for m in course.modules if not m.is_retired]:
            complete_module(user, module, utcnow() - timedelta(days=3))
        accounts.update_profile(user, name=NAME + " geb. Schmitz", district_id="kreis-dueren",
                                municipality="Gemeinde Langerwehe")
    with unit_of_work():
        user = db.session.get(User, learner.id)
        [certificate] = db.session.scalars(select(Certificate).where(Certificate.user_id == user.id)).all()
        correct_certificate_name(certificate, new_name=NAME + " geb. Schmitz", reason=f"Tippfehler bei {NAME}",
                                 actor=db.session.get(User, admin.id))
    with unit_of_work():
        user = db.session.get(User, learner.id)
        lifecycle.request_email_change(user, new_email="m.mueller@example.org", password=PASSWORD)
        lifecycle.send_password_reset(user, actor=db.session.get(User, admin.id))
    return db.session.get(User, learner.id)


# --- export -------------------------------------------------------------------------------------

def test_the_export_holds_everything_as_json_and_csv(client, make_user, smtp, auth):
    admin = make_user("admin")
    learner = busy_learner(make_user, admin)
    auth.login(EMAIL)
    response = client.get("/account/export")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(archive.namelist())
    for table in ("profil", "einschreibungen", "modulstand", "lernereignisse", "selbstchecks", "workshops",
                  "zertifikate", "benachrichtigungen", "anmeldungen", "e-mails", "protokoll"):
        assert {f"{table}.json", f"{table}.csv"} <= names, table
    profile = json.loads(archive.read("profil.json"))[0]
    assert profile["email"] == EMAIL and profile["name"] == NAME + " geb. Schmitz"
    events = json.loads(archive.read("lernereignisse.json"))
    assert {"enrolled", "module_done", "quiz_attempt", "module_completed"} <= {e["kind"] for e in events}
    quizzes = json.loads(archive.read("selbstchecks.json"))
    assert quizzes and all("answers" in q and q["score"] is not None for q in quizzes)
    certificates = json.loads(archive.read("zertifikate.json"))
    assert {c["status"] for c in certificates} == {"gültig", "ersetzt"}
    for certificate in certificates:
        document = json.loads(archive.read(certificate["file"]))
        assert document["signature"] and document["snapshot"]["number"] == certificate["number"]
    settings = json.loads(archive.read("benachrichtigungen.json"))
    assert len(settings) == 4 and all(s["enabled"] for s in settings)
    assert archive.read("lernereignisse.csv").decode("utf-8").startswith("\ufeffNr.;Zeitpunkt;Ereignis")
    assert "LIESMICH.txt" in names
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.subject_user_id == learner.id,
                                                             AuditEvent.action == "data_exported"))


def test_the_export_is_only_for_the_logged_in_person(client):
    assert client.get("/account/export").status_code == 302


# --- deletion -------------------------------------------------------------------------------------

def test_deleting_the_account_leaves_no_email_or_name_in_any_table(client, make_user, smtp, auth):
    admin = make_user("admin")
    learner = busy_learner(make_user, admin)
    learner_id = learner.id
    numbers = db.session.scalars(select(Certificate.number).where(Certificate.user_id == learner_id)).all()
    needles = [NAME, NAME + " geb. Schmitz", EMAIL, "m.mueller@example.org", "Müller-Weißenbörn"]
    before = [(t, c) for t, c, v in everything_in_the_database() if mentions(v, needles)]
    assert {"user", "audit_event", "certificate", "outgoing_mail"} <= {t for t, _ in before}, \
        "the scenario must leave traces everywhere, or the scan proves nothing"

    auth.login(EMAIL)
    page = client.get("/account/delete").get_data(as_text=True)
    assert "ohne Ihren Namen" in page and "anonymer Eintrag" in page, "the certificate rule is stated first"
    refused = client.post("/account/delete", data={"password": "falsches-passwort"})
    assert refused.status_code == 422 and "Das Passwort stimmt nicht" in refused.get_data(as_text=True)
    done = client.post("/account/delete", data={"password": PASSWORD})
    assert done.status_code == 302
    db.session.expire_all()

    left = [(t, c, v) for t, c, v in everything_in_the_database() if mentions(v, needles)]
    assert left == []
    assert db.session.get(User, learner_id) is None
    assert client.get("/dashboard").status_code == 302, "the browser is logged out"

    # The certificates remain as anonymous records that still verify.
    for number in numbers:
        certificate = db.session.scalar(select(Certificate).where(Certificate.number == number))
        assert certificate.user_id is None and certificate.is_holder_deleted
    valid = db.session.scalar(select(Certificate).where(Certificate.number.in_(numbers),
                                                        Certificate.status == "valid"))
    page = client.get(f"/verify/{valid.verification_code}").get_data(as_text=True)
    assert "Gültig" in page and "Konto gelöscht" in page and NAME not in page
    as_json = client.get(f"/verify/{valid.verification_code}.json").get_json()
    assert as_json["holder_deleted"] and "signature" not in as_json and "holder" not in as_json["snapshot"]

    # The deletion itself is recorded, without personal data.
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account_deleted"))
    assert event.target_id == str(learner_id) and event.data["by"] == "self"
    assert event.data["certificates_kept_anonymous"] == len(numbers)
    assert not mentions(event.data, needles) and not mentions(event.actor_label, needles)


def test_the_audit_log_keeps_what_happened_but_not_who(client, make_user, smtp, auth):
    admin = make_user("admin")
    learner = busy_learner(make_user, admin)
    learner_id = learner.id
    actions_before = sorted(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject_user_id == learner_id)).all())
    auth.login(EMAIL)
    client.post("/account/delete", data={"password": PASSWORD})
    db.session.expire_all()
    remaining = db.session.scalars(select(AuditEvent).where(AuditEvent.target_id == str(learner_id),
                                                            AuditEvent.target_type == "user")).all()
    assert "profile_changed" in {e.action for e in remaining}
    correction = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate_name_corrected"))
    assert correction.reason == "[gelöscht]" and correction.data["to"] == "[gelöscht]"
    assert correction.actor_id == admin.id, "who acted for the office stays known"
    assert len(actions_before) > 5


def test_staff_accounts_are_not_deleted_by_their_holder(client, make_user, auth):
    trainer = make_user("trainer")
    auth.login(trainer.email)
    assert "löscht das Programmbüro" in client.get("/account/delete").get_data(as_text=True)
    response = client.post("/account/delete", data={"password": PASSWORD}, follow_redirects=True)
    assert db.session.get(User, trainer.id) is not None
    assert response.status_code in (200, 422)


def test_a_revoked_certificate_stays_revoked_after_deletion(client, make_user, smtp, auth):
    learner = make_user("learner")
    certificate = grant_certificate(learner, db.session.get(CertificateDefinition, "zertifikat-grundlagenkurs"),
                                    reason="Anerkennung extern", actor_label="Test")
    revoke_certificate(certificate, category="fraud", reason="Täuschung durch die Person", actor_label="Test")
    db.session.commit()
    code = certificate.verification_code
    auth.login(learner.email)
    client.post("/account/delete", data={"password": PASSWORD})
    page = client.get(f"/verify/{code}").get_data(as_text=True)
    assert "Widerrufen" in page and "Täuschung durch die Person" not in page


# --- retention -------------------------------------------------------------------------------------

def age(user: User, *, created_days: int, login_days: int | None = None, activity_days: int | None = None,
        confirmed: bool = True) -> None:
    now = utcnow()
    user.created_at = now - timedelta(days=created_days)
    user.last_login_at = now - timedelta(days=login_days) if login_days is not None else None
    user.last_activity_at = now - timedelta(days=activity_days) if activity_days is not None else None
    user.email_confirmed_at = user.created_at if confirmed else None


def test_purge_inactive_deletes_unconfirmed_and_long_unused_accounts(runner, make_user, smtp):
    fresh = make_user("learner", email="neu@example.org")
    age(fresh, created_days=5, confirmed=False)
    stale_unconfirmed = make_user("learner", email="nie-bestaetigt@example.org")
    age(stale_unconfirmed, created_days=31, confirmed=False)
    dormant = make_user("learner", email="schlaefer@example.org")
    age(dormant, created_days=4 * 365, login_days=3 * 365 + 10, activity_days=3 * 365 + 20)
    still_learning = make_user("learner", email="lernt@example.org")
    age(still_learning, created_days=4 * 365, login_days=3 * 365 + 10, activity_days=30)
    old_trainer = make_user("trainer", email="trainer-alt@example.org")
    age(old_trainer, created_days=5 * 365)
    db.session.commit()

    dry = runner.invoke(args=["accounts", "purge-inactive", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would delete: account" in dry.output and "nie-bestaetigt@example.org" in dry.output
    assert "schlaefer@example.org" in dry.output and "lernt@example.org" not in dry.output
    assert "2 account(s) to delete (dry run, nothing changed)" in dry.output
    assert db.session.scalar(select(User).where(User.email == "schlaefer@example.org")) is not None

    done = runner.invoke(args=["accounts", "purge-inactive", "--older-than", "36m"])
    assert done.exit_code == 0, done.output
    assert "2 account(s) deleted" in done.output and "@" not in done.output.replace("account(s)", "")
    db.session.expire_all()
    remaining = set(db.session.scalars(select(User.email)))
    assert remaining == {"neu@example.org", "lernt@example.org", "trainer-alt@example.org"}
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "account_deleted")).all()
    assert {e.data["by"] for e in events} == {"retention"}
    assert runner.invoke(args=["accounts", "purge-inactive"]).output.strip().endswith("0 account(s) deleted")


def test_purge_inactive_refuses_a_wrong_age(runner):
    result = runner.invoke(args=["accounts", "purge-inactive", "--older-than", "drei Jahre"])
    assert result.exit_code == 2 and "36m" in result.output


def test_the_office_sees_what_the_retention_rule_would_delete(client, make_user, auth):
    stale = make_user("learner", email="nie-bestaetigt@example.org", name="Nora Niebestätigt")
    age(stale, created_days=40, confirmed=False)
    db.session.commit()
    auth.login(make_user("admin").email)
    page = client.get("/office/retention").get_data(as_text=True)
    assert "Nora Niebestätigt" in page and "nicht bestätigt" in page
    assert "1 Konto löschen" in page
    assert db.session.get(User, stale.id) is not None, "looking deletes nothing"


def test_the_scan_would_notice_a_forgotten_table(make_user):
    """The scan itself: it does find a name left in any column (here: a fresh account)."""
    make_user("learner", name=NAME, email=EMAIL)
    assert any(mentions(v, [EMAIL]) for _, _, v in everything_in_the_database())
    tables = {table.name for table in db.metadata.sorted_tables}
    assert tables == set(inspect(db.session.connection()).get_table_names()) - {"alembic_version"}
    assert db.session.execute(text("SELECT 1")).scalar() == 1


def test_an_anonymous_certificate_can_be_revoked_but_not_reissued(runner, make_user, smtp):
    learner = make_user("learner")
    certificate = grant_certificate(learner, db.session.get(CertificateDefinition, "zertifikat-grundlagenkurs"),
                                    reason="Anerkennung extern", actor_label="Test")
    db.session.commit()
    number = certificate.number
    from namalms.services.privacy import erase_account

    erase_account(learner, by="self")
    db.session.commit()
    refused = runner.invoke(args=["certificates", "reissue", number, "--reason", "Neue Vorlage"])
    assert refused.exit_code == 1 and "deleted their account" in refused.output
    revoked = runner.invoke(args=["certificates", "revoke", number, "--category", "error", "--reason", "Irrtum"])
    assert revoked.exit_code == 0, revoked.output
    listed = runner.invoke(args=["certificates", "list"])
    assert "(account deleted)" in listed.output
