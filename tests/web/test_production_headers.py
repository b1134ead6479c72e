"""Behind HTTPS: Secure cookies and HSTS; personal answers are never cached; API tokens expire and
die with their creator's office role."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from namalms import create_app
from namalms.extensions import db
from namalms.models import ApiToken
from namalms.models.base import utcnow
from namalms.services import tokens as token_service
from namalms.services.account_admin import change_role, deactivate_user
from tests.conftest import PASSWORD, app_config


def https_app(tmp_path, database_url, **settings):
    return create_app(app_config(database_url, PUBLIC_BASE_URL="https://lernen.nama.nrw", **settings),
                      instance_path=str(tmp_path))


def set_cookies(response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def test_with_an_https_base_url_cookies_are_secure_and_hsts_is_sent(tmp_path, migrated_app, make_user):
    email = make_user("learner").email
    db.session.rollback()  # the other app writes to the same SQLite file
    app = https_app(tmp_path, migrated_app.config["SQLALCHEMY_DATABASE_URI"])
    client = app.test_client()
    page = client.get("/login", base_url="https://lernen.nama.nrw")
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    response = client.post("/login", data={"email": email, "password": PASSWORD, "remember": "y"},
                           base_url="https://lernen.nama.nrw")
    assert response.status_code == 302
    cookies = set_cookies(response)
    for name in ("session", "remember_token", "namalms_had_session"):
        assert "; Secure" in cookies[name], name
        assert "; HttpOnly" in cookies[name], name
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert app.config["PROXY_HOPS"] == 1, "behind HTTPS the app trusts the one proxy in front of it"


def test_the_https_setting_works_without_a_base_url(tmp_path, migrated_app):
    app = create_app(app_config(migrated_app.config["SQLALCHEMY_DATABASE_URI"], HTTPS=True, PROXY_HOPS=0),
                     instance_path=str(tmp_path))
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert "Strict-Transport-Security" in app.test_client().get("/login").headers


def test_over_plain_http_there_is_no_hsts_and_cookies_are_not_secure(client, make_user, auth):
    user = make_user("learner")
    response = auth.login(user.email, remember=True)
    assert "Strict-Transport-Security" not in response.headers
    assert all("; Secure" not in header for header in response.headers.getlist("Set-Cookie"))


def test_behind_the_proxy_the_scheme_comes_from_it(tmp_path, migrated_app):
    app = https_app(tmp_path, migrated_app.config["SQLALCHEMY_DATABASE_URI"])
    seen = {}

    @app.get("/_probe")
    def probe():
        from flask import request

        seen.update(scheme=request.scheme, address=request.remote_addr)
        return "ok"

    app.test_client().get("/_probe", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"},
                          environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert seen == {"scheme": "https", "address": "198.51.100.7"}


# --- no caching of personal answers -----------------------------------------------------------------

PERSONAL = ["/dashboard", "/profile", "/account", "/account/data", "/certificates", "/account/export"]


@pytest.mark.parametrize("url", PERSONAL)
def test_personal_pages_are_never_stored(client, learner, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_certificate_files_and_office_downloads_are_never_stored(client, make_user, auth):
    from namalms.services.certificates import grant_certificate
    from namalms.models import CertificateDefinition, User

    learner = make_user("learner")
    admin = make_user("admin")
    certificate = grant_certificate(db.session.get(User, learner.id),
                                    db.session.get(CertificateDefinition, "zertifikat-grundlagenkurs"),
                                    reason="Anerkennung", actor_label="Test")
    db.session.commit()
    auth.login(learner.email)
    for suffix in (".pdf", ".json"):
        response = client.get(f"/certificates/{certificate.number}{suffix}")
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store", suffix
    client.post("/logout")
    auth.login(admin.email)
    for url in ("/office/zertifizierungsstand.csv", "/office/zertifizierungsstand.xlsx", "/office/users"):
        response = client.get(url)
        response.get_data()  # read the streamed file to its end
        response.close()
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store", url


def test_public_pages_may_be_cached(client):
    response = client.get("/datenschutz")
    assert response.status_code == 200 and "no-store" not in response.headers.get("Cache-Control", "")


# --- API tokens --------------------------------------------------------------------------------------

def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_expires_at_the_end_of_its_last_day(client, make_user):
    _, raw = token_service.create_token("Bericht", actor_label="Test")
    db.session.commit()
    assert client.get("/api/v1/certificates", headers=bearer(raw)).status_code == 200
    row = db.session.scalar(select(ApiToken))
    assert row.expires_at - utcnow() > timedelta(days=364)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/certificates", headers=bearer(raw)).status_code == 401


@pytest.mark.parametrize("what", ["deactivated", "no longer admin"])
def test_a_token_stops_working_when_its_creator_leaves_the_office(client, make_user, what):
    creator = make_user("admin")
    other = make_user("admin")
    _, raw = token_service.create_token("Bericht", actor=creator)
    db.session.commit()
    assert client.get("/api/v1/certificates", headers=bearer(raw)).status_code == 200
    if what == "deactivated":
        deactivate_user(creator, actor=other)
    else:
        change_role(creator, "trainer", actor=other)
    db.session.commit()
    assert client.get("/api/v1/certificates", headers=bearer(raw)).status_code == 401


def test_the_token_list_shows_expiry_and_why_a_token_rests(client, make_user, auth):
    creator = make_user("admin", name="Carla Creator")
    viewer = make_user("admin")
    token_service.create_token("Ruhender Zugang", actor=creator)
    deactivate_user(creator, actor=viewer)
    db.session.commit()
    auth.login(viewer.email)
    page = client.get("/office/tokens").get_data(as_text=True)
    assert "Gültig bis" in page and "ruht" in page


@pytest.mark.parametrize("expires_on, message", [
    ("gestern", "als TT.MM.JJJJ"),
    ("01.01.2000", "in der Zukunft"),
    ("01.01.2099", "höchstens zwei Jahre"),
])
def test_a_token_expiry_must_be_sensible(client, admin, expires_on, message):
    response = client.post("/office/tokens", data={"name": "Bericht", "expires_on": expires_on})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(ApiToken.id)) is None


def test_the_cli_sets_an_expiry(runner):
    result = runner.invoke(args=["tokens", "create", "--name", "Skript", "--expires", "2000-01-01"])
    assert result.exit_code == 1 and "future" in result.output
    assert runner.invoke(args=["tokens", "create", "--name", "Skript"]).exit_code == 0
    assert "expires" in runner.invoke(args=["tokens", "list"]).output


def test_static_files_are_linked_by_content_and_kept_by_browsers(client):
    """A page links its stylesheet with the file's content hash; that address may be kept for a
    year, so moving between pages does not ask for the stylesheet again. Any other address of the
    file is revalidated, so a stale link never shows an old stylesheet for long."""
    import re

    page = client.get("/login").get_data(as_text=True)
    link = re.search(r'href="(/static/namalms\.css\?v=[0-9a-f]{12})"', page)
    assert link, "the stylesheet is not linked with its version"
    kept = client.get(link.group(1))
    assert kept.status_code == 200 and kept.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    for other in ("/static/namalms.css", "/static/namalms.css?v=000000000000"):
        assert "immutable" not in client.get(other).headers.get("Cache-Control", ""), other
