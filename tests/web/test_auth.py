"""Registration, login, logout, sessions: what a new participant goes through."""
import pytest
from sqlalchemy import select

from namalms.extensions import db
from namalms.models import User
from tests.conftest import PASSWORD

GOOD = {
    "name": "Miriam Mustermann", "email": "Miriam.Mustermann@Bergheim.de", "password": PASSWORD,
    "password_repeat": PASSWORD, "district_id": "rhein-erft-kreis", "municipality": "Stadt Bergheim",
    "privacy": "y",
}


def test_register_derives_region_from_district_and_logs_in(client):
    response = client.post("/register", data=GOOD)
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "miriam.mustermann@bergheim.de"))
    assert user.region_id == "rheinisches-revier"
    assert user.role == "learner"
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:")) and PASSWORD not in user.password_hash
    assert "Miriam Mustermann" in client.get("/dashboard").get_data(as_text=True)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"password": "kurz", "password_repeat": "kurz"}, "mindestens 10 Zeichen"),
        ({"password": "passwort123", "password_repeat": "passwort123"}, "zu leicht zu erraten"),
        ({"password": "miriam.mustermann-2026", "password_repeat": "miriam.mustermann-2026"}, "nicht Ihren Namen"),
        ({"password_repeat": "etwas-anderes-123"}, "stimmen nicht überein"),
        ({"email": "keine-adresse"}, "gültige E-Mail-Adresse"),
        ({"district_id": ""}, "Pflichtfeld"),
        ({"district_id": "atlantis"}, "Kreis bzw. Ihre kreisfreie Stadt"),
        ({"municipality": ""}, "Pflichtfeld"),
        ({"privacy": ""}, "Datenschutzhinweise"),
    ],
)
def test_register_rejects_bad_input_with_a_german_message(client, change, message):
    response = client.post("/register", data={**GOOD, **change})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "miriam.mustermann@bergheim.de")) is None


def test_register_twice_with_the_same_email_is_refused(client):
    client.post("/register", data=GOOD)
    client.post("/logout")
    response = client.post("/register", data={**GOOD, "email": "MIRIAM.mustermann@bergheim.de "})
    assert response.status_code == 422
    assert "bereits ein Konto" in response.get_data(as_text=True)
    assert len(db.session.scalars(select(User)).all()) == 1


def test_login_with_wrong_password_and_unknown_email_look_the_same(client, make_user, auth):
    user = make_user("learner")
    wrong_password = auth.login(user.email, "falsches-passwort-1")
    unknown_email = auth.login("niemand@example.org", "falsches-passwort-1")
    assert wrong_password.status_code == unknown_email.status_code == 401
    text = "E-Mail-Adresse oder Passwort ist falsch."
    assert text in wrong_password.get_data(as_text=True)
    assert text in unknown_email.get_data(as_text=True)


def test_login_logout_and_remember_me(client, make_user, auth):
    user = make_user("learner")
    response = auth.login(user.email, remember=True)
    assert response.status_code == 302
    assert "remember_token" in response.headers.get("Set-Cookie", "") or any(
        "remember_token" in h for h in response.headers.getlist("Set-Cookie"))
    assert client.get("/dashboard").status_code == 200
    auth.logout()
    assert client.get("/dashboard").status_code == 302


def test_deactivated_account_cannot_log_in(client, make_user, auth):
    user = make_user("learner")
    user.is_active_account = False
    db.session.commit()
    assert auth.login(user.email).status_code == 401


def test_raising_session_version_ends_existing_sessions(client, learner):
    assert client.get("/dashboard").status_code == 200
    learner.session_version += 1
    db.session.commit()
    assert client.get("/dashboard").status_code == 302


def test_expired_session_says_so(client, learner):
    client.get("/dashboard")
    with client.session_transaction() as session:
        session.clear()  # what the browser does when the session cookie expired
    response = client.get("/dashboard", follow_redirects=True)
    assert "Ihre Sitzung ist abgelaufen" in response.get_data(as_text=True)


def test_login_redirect_target_must_stay_on_site(client, make_user, auth):
    user = make_user("learner")
    response = client.post("/login?next=https://evil.example/", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"].endswith("/dashboard")


def test_forms_are_refused_without_csrf_token(app, client, make_user):
    user = make_user("learner")
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "Formular war abgelaufen" in response.get_data(as_text=True)


def test_cli_creates_staff_account_from_stdin_password(runner):
    result = runner.invoke(args=["users", "create", "--email", "neu@lag21.de", "--name", "Neue Trainerin",
                                 "--role", "trainer", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).where(User.email == "neu@lag21.de")).role == "trainer"


def test_cli_refuses_weak_password_in_english(runner):
    result = runner.invoke(args=["users", "create", "--email", "neu@lag21.de", "--name", "X Y",
                                 "--role", "admin", "--password-stdin"], input="kurz\n")
    assert result.exit_code == 1
    assert "password too weak" in result.output


def test_register_form_offers_every_district_grouped(client):
    page = client.get("/register").get_data(as_text=True)
    assert '<optgroup label="Kreise">' in page and '<optgroup label="Kreisfreie Städte">' in page
    assert '<option value="rhein-erft-kreis">Rhein-Erft-Kreis</option>' in page
    assert page.count("<option value=") >= 54


def test_outside_the_test_suite_passwords_are_hashed_with_scrypt(tmp_path):
    """The suite hashes with one cheap round for speed; a real installation never does."""
    from namalms import create_app
    from namalms.keys import ensure_signing_keys
    from namalms.services.accounts import _dummy_hash, hash_method, hash_password

    ensure_signing_keys(str(tmp_path))  # a real installation refuses to start without its signing key
    production = create_app({"SECRET_KEY": "x" * 32, "SQLALCHEMY_DATABASE_URI": "sqlite://"},
                            instance_path=str(tmp_path))
    with production.app_context():
        assert production.config["PASSWORD_HASH_METHOD"] is None
        assert hash_password(PASSWORD).startswith("scrypt:")
        assert _dummy_hash(hash_method()).startswith("scrypt:"), "unknown addresses cost as much as known ones"
