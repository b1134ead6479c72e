"""Throttling (Flask-Limiter): login per account and per address, registration, password reset,
confirmation mails and verification answer 429 in German; counters are shared through Redis."""
from __future__ import annotations

import os
import uuid

import pytest

from namalms import create_app, ratelimit
from tests.conftest import PASSWORD, app_config

REDIS_URL = os.environ.get("NAMALMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def limits(app):
    """Set small limits for one test; the app's own values come back afterwards."""
    saved = {}

    def set_limits(**values):
        for key, value in values.items():
            saved.setdefault(key, app.config[key])
            app.config[key] = value

    yield set_limits
    app.config.update(saved)


def wrong_login(client, email: str, address: str = "10.0.0.1"):
    return client.post("/login", data={"email": email, "password": "falsches-passwort-1"},
                       environ_base={"REMOTE_ADDR": address})


def test_repeated_wrong_passwords_for_one_account_get_429_in_german(client, make_user, limits):
    limits(LOGIN_LIMIT_PER_ACCOUNT="3 per 15 minutes")
    user = make_user("learner")
    statuses = [wrong_login(client, user.email, address=f"10.0.0.{n}").status_code for n in range(5)]
    assert statuses == [401, 401, 401, 429, 429], "each attempt from another address: the account counts"
    refused = wrong_login(client, user.email.upper())
    assert refused.status_code == 429
    assert "Zu viele Anfragen" in refused.get_data(as_text=True)
    right = client.post("/login", data={"email": user.email, "password": PASSWORD},
                        environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert right.status_code == 429, "even the right password waits: guessing must not go on"


def test_repeated_wrong_logins_from_one_address_get_429(client, limits):
    limits(LOGIN_LIMIT_PER_ADDRESS="4 per 15 minutes")
    statuses = [wrong_login(client, f"person{n}@example.org").status_code for n in range(6)]
    assert statuses == [401, 401, 401, 401, 429, 429]
    assert wrong_login(client, "other@example.org", address="10.0.0.2").status_code == 401


def test_successful_logins_do_not_count(client, make_user, limits):
    limits(LOGIN_LIMIT_PER_ACCOUNT="2 per 15 minutes", LOGIN_LIMIT_PER_ADDRESS="2 per 15 minutes")
    user = make_user("learner")
    for _ in range(4):
        assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
        client.post("/logout")


def test_twenty_wrong_logins_with_the_shipped_limits_end_in_429(client, make_user):
    user = make_user("learner")
    statuses = [wrong_login(client, user.email).status_code for _ in range(20)]
    assert statuses[0] == 401 and statuses[-1] == 429
    assert statuses.index(429) == 10


def test_registration_is_throttled_per_address(client, limits):
    limits(REGISTER_LIMIT="2 per hour")
    statuses = [client.post("/register", data={"email": f"x{n}@example.org"}).status_code for n in range(3)]
    assert statuses == [422, 422, 429]


def test_password_reset_is_throttled_per_address_and_per_account(client, limits):
    limits(RESET_LIMIT_PER_ACCOUNT="2 per hour", RESET_LIMIT_PER_ADDRESS="3 per hour")
    same = [client.post("/password/forgot", data={"email": "lena@example.org"},
                        environ_base={"REMOTE_ADDR": f"10.1.0.{n}"}).status_code for n in range(3)]
    assert same == [302, 302, 429], "one mailbox is not flooded from many addresses"
    many = [client.post("/password/forgot", data={"email": f"p{n}@example.org"},
                        environ_base={"REMOTE_ADDR": "10.2.0.1"}).status_code for n in range(4)]
    assert many == [302, 302, 302, 429]


def test_resending_the_confirmation_is_throttled(client, make_user, auth, limits):
    limits(CONFIRM_RESEND_LIMIT="1 per hour")
    user = make_user("learner", email_confirmed=False)
    auth.login(user.email)
    assert client.post("/confirm/resend").status_code == 302
    assert client.post("/confirm/resend").status_code == 429


def test_verification_is_throttled_with_the_older_setting_form_too(client, limits):
    limits(VERIFY_RATE_LIMIT=(2, 60))
    statuses = [client.get(f"/verify/{uuid.uuid4().hex}").status_code for _ in range(3)]
    assert statuses == [404, 404, 429]


def test_limits_start_afresh_after_a_reset(client, make_user, limits):
    limits(LOGIN_LIMIT_PER_ACCOUNT="1 per 15 minutes")
    user = make_user("learner")
    wrong_login(client, user.email)
    assert wrong_login(client, user.email).status_code == 429
    ratelimit.reset()
    assert wrong_login(client, user.email).status_code == 401


def test_behind_one_proxy_the_forwarded_client_address_counts(tmp_path, migrated_app):
    app = create_app(app_config(migrated_app.config["SQLALCHEMY_DATABASE_URI"], PROXY_HOPS=1,
                                LOGIN_LIMIT_PER_ADDRESS="2 per 15 minutes"), instance_path=str(tmp_path))
    client = app.test_client()
    with app.app_context():
        ratelimit.reset()

    def attempt(forwarded: str):
        return client.post("/login", data={"email": f"{uuid.uuid4().hex}@example.org", "password": "x" * 12},
                           headers={"X-Forwarded-For": forwarded}, environ_base={"REMOTE_ADDR": "192.168.0.10"})

    assert [attempt("198.51.100.7").status_code for _ in range(3)] == [401, 401, 429]
    assert attempt("198.51.100.8").status_code == 401, "another client behind the same proxy"
    assert attempt("1.2.3.4, 198.51.100.7").status_code == 429, "only the hop the proxy added is trusted"


def test_without_a_proxy_forwarded_headers_are_ignored(client, limits):
    limits(LOGIN_LIMIT_PER_ADDRESS="2 per 15 minutes")

    def attempt(forwarded: str):
        return client.post("/login", data={"email": f"{uuid.uuid4().hex}@example.org", "password": "x" * 12},
                           headers={"X-Forwarded-For": forwarded}, environ_base={"REMOTE_ADDR": "10.3.0.1"})

    assert [attempt(f"203.0.113.{n}").status_code for n in range(3)] == [401, 401, 429], \
        "a client cannot escape the limit by inventing addresses"


# --- Redis -------------------------------------------------------------------------------------------

def redis_or_skip():
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except Exception as error:
        pytest.skip(f"Redis at {REDIS_URL} not reachable ({error}); shared rate limits not tested")


def test_two_app_servers_share_their_counters_through_redis(tmp_path, migrated_app):
    redis_or_skip()
    database = migrated_app.config["SQLALCHEMY_DATABASE_URI"]
    settings = dict(REDIS_URL=REDIS_URL, LOGIN_LIMIT_PER_ACCOUNT="3 per 15 minutes")
    first = create_app(app_config(database, **settings), instance_path=str(tmp_path / "a"))
    second = create_app(app_config(database, **settings), instance_path=str(tmp_path / "b"))
    email = f"{uuid.uuid4().hex}@example.org"
    statuses = []
    for app in (first, second, first, second):
        statuses.append(app.test_client().post("/login", data={"email": email, "password": "x" * 12}).status_code)
    assert statuses == [401, 401, 401, 429]
    with first.app_context():
        ratelimit.reset()


def test_an_unreachable_redis_falls_back_to_counting_in_memory(tmp_path, migrated_app):
    app = create_app(app_config(migrated_app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL="redis://127.0.0.1:1/0",
                                LOGIN_LIMIT_PER_ACCOUNT="2 per 15 minutes"), instance_path=str(tmp_path))
    client = app.test_client()
    email = f"{uuid.uuid4().hex}@example.org"
    statuses = [client.post("/login", data={"email": email, "password": "x" * 12}).status_code for _ in range(3)]
    assert statuses == [401, 401, 429], "answered, and still limited"
