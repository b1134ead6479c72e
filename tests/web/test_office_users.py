"""Accounts and roles: search, change roles, deactivate and reactivate, create trainer accounts."""
import re

import pytest
from sqlalchemy import select

from namalms.extensions import db
from namalms.models import AuditEvent, User
from tests.conftest import PASSWORD, AuthActions






def audit_entries(action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def fresh(user):
    db.session.expire_all()
    return db.session.get(User, user.id)


def test_list_search_and_filters(client, admin, make_user):
    make_user("learner", name="Anna Achterberg", municipality="Stadt Eschweiler")
    make_user("learner", name="Bernd Brückner")
    blocked = make_user("trainer", name="Tina Gesperrt")
    blocked.is_active_account = False
    db.session.commit()
    text = client.get("/office/users?q=eschweiler").get_data(as_text=True)
    assert "Anna Achterberg" in text and "Bernd Brückner" not in text
    text = client.get("/office/users?role=trainer").get_data(as_text=True)
    assert "Tina Gesperrt" in text and "Anna Achterberg" not in text
    text = client.get("/office/users?state=inactive").get_data(as_text=True)
    assert "Tina Gesperrt" in text and "Anna Achterberg" not in text and "1 Konto gefunden" in text
    text = client.get("/office/users").get_data(as_text=True)
    assert "/office/learners/" in text and "Trainer-Konto anlegen" in text


def test_change_role_is_audited_with_reason(client, admin, make_user):
    learner = make_user("learner", name="Lea Lernwillig")
    response = client.post(f"/office/users/{learner.id}/role", data={"role": "trainer", "reason": "schreibt Modul 3"},
                           follow_redirects=True)
    assert "hat jetzt die Rolle „Trainer*in“" in response.get_data(as_text=True)
    assert fresh(learner).role == "trainer"
    [entry] = audit_entries("user_role_changed")
    assert entry.data == {"from": "learner", "to": "trainer"} and entry.reason == "schreibt Modul 3"
    assert entry.actor_id == admin.id and entry.subject_user_id == learner.id
    again = client.post(f"/office/users/{learner.id}/role", data={"role": "trainer"}, follow_redirects=True)
    assert "hatte bereits" in again.get_data(as_text=True) and len(audit_entries("user_role_changed")) == 1


def test_unknown_role_is_refused(client, admin, make_user):
    learner = make_user("learner")
    response = client.post(f"/office/users/{learner.id}/role", data={"role": "superuser"}, follow_redirects=True)
    assert "Bitte wählen Sie eine der angebotenen Rollen." in response.get_data(as_text=True)
    assert fresh(learner).role == "learner"


def test_an_admin_cannot_demote_or_deactivate_themselves(client, admin):
    demote = client.post(f"/office/users/{admin.id}/role", data={"role": "learner"}, follow_redirects=True)
    assert "nicht selbst die Rolle Programmbüro entziehen" in demote.get_data(as_text=True)
    deactivate = client.post(f"/office/users/{admin.id}/deactivate", data={}, follow_redirects=True)
    assert "Sie können Ihr eigenes Konto nicht deaktivieren." in deactivate.get_data(as_text=True)
    user = fresh(admin)
    assert user.role == "admin" and user.is_active_account
    assert audit_entries("user_role_changed") == [] and audit_entries("user_deactivated") == []
    page = client.get(f"/office/users/{admin.id}").get_data(as_text=True)
    assert "Ihr eigenes Konto" in page and "deaktivieren</button>" not in page


def test_deactivation_ends_existing_sessions_and_reactivation_lets_them_back(app, client, admin, make_user):
    learner = make_user("learner", name="Bernd Brückner")
    other = app.test_client()
    AuthActions(other).login(learner.email)
    assert other.get("/dashboard").status_code == 200
    response = client.post(f"/office/users/{learner.id}/deactivate", data={"reason": "Dienststelle gewechselt"},
                           follow_redirects=True)
    assert "alle Sitzungen sind beendet" in response.get_data(as_text=True)
    kicked_out = other.get("/dashboard")
    assert kicked_out.status_code == 302 and "/login" in kicked_out.headers["Location"]
    assert AuthActions(other).login(learner.email).status_code == 401, "a blocked account cannot log in"
    assert other.get("/dashboard").status_code == 302
    [entry] = audit_entries("user_deactivated")
    assert entry.reason == "Dienststelle gewechselt" and entry.actor_id == admin.id
    assert "deaktiviert" in client.get("/office/users").get_data(as_text=True)

    client.post(f"/office/users/{learner.id}/reactivate", data={"reason": "zurück im Team"})
    assert fresh(learner).is_active_account
    AuthActions(other).login(learner.email)
    assert other.get("/dashboard").status_code == 200
    assert [e.reason for e in audit_entries("user_reactivated")] == ["zurück im Team"]


def test_create_trainer_with_a_generated_password_shown_once(app, client, admin):
    response = client.post("/office/users/new", data={"name": "Tobias Trainer", "email": "Tobias@Example.org"})
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "wird nur jetzt angezeigt" in text
    assert response.headers["Cache-Control"] == "no-store"
    password = re.search(r'class="one-time-password"><code>([^<]+)</code>', text).group(1)
    trainer = db.session.scalar(select(User).where(User.email == "tobias@example.org"))
    assert trainer.role == "trainer" and password not in trainer.password_hash
    [entry] = audit_entries("user_created")
    assert entry.actor_id == admin.id and entry.data["password"] == "generated" and password not in str(entry.data)
    assert password not in client.get("/office/users").get_data(as_text=True), "shown once only"
    other = app.test_client()
    AuthActions(other).login("tobias@example.org", password)
    assert other.get("/trainer/").status_code == 200


def test_create_trainer_with_an_entered_password(app, client, admin):
    response = client.post("/office/users/new", data={"name": "Tina Trainerin", "email": "tina@example.org",
                                                      "password": PASSWORD})
    assert response.status_code == 200 and "Passwort, das Sie eingegeben haben" in response.get_data(as_text=True)
    other = app.test_client()
    AuthActions(other).login("tina@example.org", PASSWORD)
    assert other.get("/trainer/").status_code == 200


@pytest.mark.parametrize("form, message", [
    ({"name": "", "email": "x@example.org"}, "Bitte geben Sie den Namen"),
    ({"name": "Tina", "email": "keine-adresse"}, "gültige E-Mail-Adresse"),
    ({"name": "Tina", "email": "tina@example.org", "password": "kurz"}, "mindestens 10 Zeichen"),
])
def test_create_trainer_refuses_bad_input(client, admin, form, message):
    response = client.post("/office/users/new", data=form)
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and message in text and 'role="alert"' in text
    assert audit_entries("user_created") == []
    assert 'name="password" value=""' in text, "a typed password is never sent back"


def test_create_trainer_twice_is_refused_the_second_time(client, admin):
    form = {"name": "Tobias Trainer", "email": "tobias@example.org"}
    assert client.post("/office/users/new", data=form).status_code == 200
    again = client.post("/office/users/new", data=form)
    assert again.status_code == 422 and "gibt es bereits ein Konto" in again.get_data(as_text=True)
    assert len(audit_entries("user_created")) == 1
