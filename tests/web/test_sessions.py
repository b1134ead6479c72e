"""Logging out ends the login on the server: copied cookies are worthless afterwards."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from namalms.extensions import db
from namalms.models import LoginSession
from namalms.models.base import utcnow
from tests.conftest import PASSWORD, FreshUserClient

REMEMBER = "remember_token"
SESSION = "session"


def cookies_of(client) -> dict[str, str]:
    found = {name: client.get_cookie(name) for name in (SESSION, REMEMBER)}
    return {name: cookie.value for name, cookie in found.items() if cookie is not None}


def replay(app, cookies: dict[str, str]) -> FreshUserClient:
    """A new browser that presents exactly these (stolen) cookies."""
    app.test_client_class = FreshUserClient
    thief = app.test_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value, domain="localhost")
    return thief


def test_logout_makes_the_old_session_and_remember_cookies_worthless(app, client, make_user, auth):
    user = make_user("learner")
    auth.login(user.email, remember=True)
    stolen = cookies_of(client)
    assert REMEMBER in stolen and SESSION in stolen
    assert replay(app, stolen).get("/dashboard").status_code == 200, "before logout the copy works"
    only_remember = {REMEMBER: stolen[REMEMBER]}
    assert replay(app, only_remember).get("/dashboard").status_code == 200

    auth.logout()
    assert replay(app, stolen).get("/dashboard").status_code == 302
    assert replay(app, only_remember).get("/dashboard").status_code == 302
    assert replay(app, {SESSION: stolen[SESSION]}).get("/dashboard").status_code == 302
    assert db.session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)).all() == []


def test_logging_out_on_one_device_keeps_the_others(app, client, make_user, auth):
    user = make_user("learner")
    auth.login(user.email)
    laptop = replay(app, {})
    laptop.post("/login", data={"email": user.email, "password": PASSWORD})
    auth.logout()
    assert laptop.get("/dashboard").status_code == 200
    assert client.get("/dashboard").status_code == 302


def test_the_server_ends_a_login_when_it_expires_whatever_the_cookie_says(app, client, make_user, auth):
    user = make_user("learner")
    auth.login(user.email, remember=True)
    row = db.session.scalar(select(LoginSession).where(LoginSession.user_id == user.id))
    assert row.is_remembered and row.expires_at - row.created_at == timedelta(days=30)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/dashboard").status_code == 302


def test_a_login_without_remember_lives_a_working_day_at_most(client, make_user, auth):
    user = make_user("learner")
    auth.login(user.email)
    row = db.session.scalar(select(LoginSession).where(LoginSession.user_id == user.id))
    assert not row.is_remembered and row.expires_at - row.created_at == timedelta(hours=24)


def test_the_database_keeps_only_a_hash_of_the_login_token(client, make_user, auth):
    user = make_user("learner")
    auth.login(user.email, remember=True)
    token_hash = db.session.scalar(select(LoginSession.token_hash))
    assert len(token_hash) == 64
    assert all(token_hash not in value for value in cookies_of(client).values())


def test_cookies_of_the_old_kind_no_longer_log_anyone_in(app, make_user):
    user = make_user("learner")
    thief = replay(app, {})
    with thief.session_transaction() as session:
        session["_user_id"] = f"{user.id}:{user.session_version}"
        session["_fresh"] = True
    assert thief.get("/dashboard").status_code == 302


def test_a_login_records_when_it_happened(client, make_user, auth):
    user = make_user("learner")
    assert user.last_login_at is None
    auth.login(user.email)
    db.session.refresh(user)
    assert user.last_login_at is not None
