"""The office's API (/api/v1): bearer tokens, the learner list, its export and certificates."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from namalms.extensions import db
from namalms.models import ApiToken
from namalms.models.base import utcnow
from namalms.services import tokens as token_service
from tests.web.test_office_status import GK, PRO_MISSING, SK, days_ago, seed_learner

pytestmark = pytest.mark.both_databases  # its behaviour depends on the database

API_ROUTES = ["/api/v1/learners", "/api/v1/learners.csv", "/api/v1/learners.xlsx", "/api/v1/certificates",
              "/api/v1/learners?status=zertifiziert", "/api/v1/certificates?status=valid"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def token(app) -> str:
    _, raw = token_service.create_token("Testwerkzeug", actor_label="Test")
    db.session.commit()
    return raw


@pytest.fixture
def learners(app):
    return [
        seed_learner("Zertifizierte Zoe", last_activity_at=days_ago(10), enrolments={GK: days_ago(100)},
                     completed=("gk-agenda-2030", "gk-sdgs-lokalisieren"),
                     certificates=(("zertifikat-grundlagenkurs", "NAMA-2026-00001", days_ago(20)),),
                     eligibility=(("pro-zertifikat", [PRO_MISSING]),)),
        seed_learner("Knappe Karla", district_id="stadt-muenster", municipality="Stadt Münster",
                     last_activity_at=days_ago(5), enrolments={GK: days_ago(40)},
                     certificates=(("zertifikat-sonderkurs", "NAMA-2026-00002", days_ago(30), "revoked"),)),
        seed_learner("Fleißiger Felix", district_id="stadt-gelsenkirchen", municipality="Stadt Gelsenkirchen",
                     last_activity_at=days_ago(1), enrolments={SK: days_ago(20)},
                     certificates=(("zertifikat-sonderkurs", "NAMA-2026-00003", days_ago(2)),
                                   ("zertifikat-grundlagenkurs", "NAMA-2026-00004", days_ago(9), "superseded",
                                    False))),
    ]


# --- no valid token, no data ------------------------------------------------------------------------

def assert_refused(response, *, invalid: bool) -> None:
    assert response.status_code == 401
    assert response.is_json and set(response.get_json()) == {"error"}
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer realm=")
    assert ('error="invalid_token"' in challenge) is invalid
    body = response.get_data(as_text=True)
    assert "Zoe" not in body and "NAMA-" not in body


@pytest.mark.parametrize("url", API_ROUTES)
def test_no_token_no_data(client, learners, url):
    assert_refused(client.get(url), invalid=False)


@pytest.mark.parametrize("url", API_ROUTES)
@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Token abc", "nama_abc"])
def test_a_malformed_authorization_header_gets_no_data(client, learners, token, url, header):
    assert_refused(client.get(url, headers={"Authorization": header}), invalid=False)


@pytest.mark.parametrize("url", API_ROUTES)
def test_a_wrong_token_gets_no_data(client, learners, token, url):
    assert_refused(client.get(url, headers=bearer(token[:-1] + ("A" if token[-1] != "A" else "B"))), invalid=True)
    assert_refused(client.get(url, headers=bearer("nama_" + "x" * 500)), invalid=True)


@pytest.mark.parametrize("url", API_ROUTES)
def test_a_revoked_token_gets_no_data(client, learners, token, url):
    assert client.get(url, headers=bearer(token)).status_code == 200
    row = db.session.scalar(select(ApiToken))
    token_service.revoke_token(row.id, actor_label="Test")
    db.session.commit()
    assert_refused(client.get(url, headers=bearer(token)), invalid=True)


@pytest.mark.parametrize("url", API_ROUTES)
def test_a_logged_in_admin_without_a_token_gets_no_data(client, make_user, auth, learners, url):
    auth.login(make_user("admin").email)
    assert_refused(client.get(url), invalid=False)


def test_a_hash_of_a_token_is_no_token(client, learners, token):
    stored = db.session.scalar(select(ApiToken.token_hash))
    assert_refused(client.get("/api/v1/learners", headers=bearer(stored)), invalid=True)


# --- learners ---------------------------------------------------------------------------------------------

def test_learners_as_json_with_progress_certificates_and_what_is_missing(client, learners, token):
    response = client.get("/api/v1/learners", headers=bearer(token))
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["total"] == 3 and body["page"] == 1 and body["per_page"] == 50 and body["pages"] == 1
    assert body["next"] is None and body["previous"] is None
    assert [item["name"] for item in body["items"]] == ["Fleißiger Felix", "Knappe Karla", "Zertifizierte Zoe"]
    zoe = body["items"][2]
    assert zoe["municipality"] == "Gemeinde Niederzier"
    assert zoe["district"] == {"id": "kreis-dueren", "name": "Kreis Düren"}
    assert zoe["region"] == {"id": "rheinisches-revier", "name": "Rheinisches Revier"}
    assert zoe["status"] == ["zertifiziert", "fehlt-1"]
    assert zoe["courses"] == [{"id": GK, "title": "Grundlagenkurs", "enrolled_at": zoe["courses"][0]["enrolled_at"],
                               "required_done": 2, "required_total": 6}]
    assert zoe["certificates"][0]["number"] == "NAMA-2026-00001"
    assert zoe["certificates"][0]["status"] == "valid"
    assert zoe["missing"] == [{"definition_id": "pro-zertifikat", "definition": "Pro-Zertifikat",
                               "missing_count": 1, "missing": [PRO_MISSING]}]
    felix = body["items"][0]
    assert [c["number"] for c in felix["certificates"]] == ["NAMA-2026-00003"]  # superseded ones are history


@pytest.mark.parametrize("args, expected", [
    ({"q": "NAMA-2026-00001"}, ["Zertifizierte Zoe"]),
    ({"status": "zertifiziert"}, ["Fleißiger Felix", "Zertifizierte Zoe"]),
    ({"status": "fehlt-1"}, ["Zertifizierte Zoe"]),
    ({"region": "uebriges-nrw"}, ["Knappe Karla"]),
    ({"course": SK}, ["Fleißiger Felix"]),
    ({"certificate": "zertifikat-sonderkurs"}, ["Fleißiger Felix"]),
    ({"sort": "activity", "order": "desc"}, ["Fleißiger Felix", "Knappe Karla", "Zertifizierte Zoe"]),
])
def test_learners_take_the_same_filters_as_the_page(client, make_user, auth, learners, token, args, expected):
    response = client.get("/api/v1/learners", query_string=args, headers=bearer(token))
    assert [item["name"] for item in response.get_json()["items"]] == expected
    auth.login(make_user("admin").email)
    page = client.get("/office/", query_string=args).get_data(as_text=True)
    assert all(name in page for name in expected)


def test_learners_are_paginated_with_a_next_link(client, learners, token):
    first = client.get("/api/v1/learners?per_page=2&status=zertifiziert&region=", headers=bearer(token)).get_json()
    assert first["total"] == 2 and first["pages"] == 1
    first = client.get("/api/v1/learners?per_page=2", headers=bearer(token)).get_json()
    assert first["total"] == 3 and first["pages"] == 2 and len(first["items"]) == 2
    assert first["next"].startswith("http://localhost/api/v1/learners?")
    assert "page=2" in first["next"] and "per_page=2" in first["next"]
    second = client.get(first["next"], headers=bearer(token)).get_json()
    assert [item["name"] for item in second["items"]] == ["Zertifizierte Zoe"]
    assert second["next"] is None and "page=1" in second["previous"]


def test_per_page_is_capped_at_500(client, learners, token):
    body = client.get("/api/v1/learners?per_page=100000", headers=bearer(token)).get_json()
    assert body["per_page"] == 500 and body["total"] == 3


@pytest.mark.parametrize("query, field", [
    ("page=0", "page"), ("page=zwei", "page"), ("per_page=-5", "per_page"), ("status=fertig", "status"),
    ("enrolled_from=gestern", "enrolled_from"), ("course=kochkurs", "course"), ("sort=email", "sort"),
])
def test_bad_parameters_get_400_with_the_field(client, learners, token, query, field):
    response = client.get(f"/api/v1/learners?{query}", headers=bearer(token))
    assert response.status_code == 400 and field in response.get_json()["fields"]


def test_learners_csv_is_the_office_export(client, make_user, auth, learners, token):
    response = client.get("/api/v1/learners.csv?status=zertifiziert", headers=bearer(token))
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert [row[1] for row in rows[1:]] == ["Fleißiger Felix", "Zertifizierte Zoe"]
    auth.login(make_user("admin").email)
    assert client.get("/office/zertifizierungsstand.csv?status=zertifiziert").get_data() == data


def test_learners_csv_refuses_bad_filters(client, learners, token):
    response = client.get("/api/v1/learners.csv?region=mond", headers=bearer(token))
    assert response.status_code == 400 and response.get_json()["fields"] == {"region": "Diese Region gibt es nicht."}


# --- certificates -----------------------------------------------------------------------------------------

def test_certificates_as_json(client, learners, token):
    body = client.get("/api/v1/certificates", headers=bearer(token)).get_json()
    assert body["total"] == 4
    first = body["items"][0]
    assert set(first) == {"number", "holder", "holder_id", "definition", "definition_id", "issued_at", "status"}
    assert first["number"] == "NAMA-2026-00001" and first["holder"] == "Zertifizierte Zoe"
    assert first["definition"] == "Zertifikat Grundlagenkurs Kommunales Nachhaltigkeitsmanagement"
    assert first["status"] == "valid" and first["issued_at"].endswith("+00:00")
    assert {item["status"] for item in body["items"]} == {"valid", "revoked", "superseded"}


@pytest.mark.parametrize("query, numbers", [
    ("status=revoked", ["NAMA-2026-00002"]),
    ("definition=zertifikat-sonderkurs", ["NAMA-2026-00002", "NAMA-2026-00003"]),
    ("number=nama-2026-00003", ["NAMA-2026-00003"]),
    ("per_page=1&page=2", ["NAMA-2026-00002"]),
])
def test_certificates_can_be_filtered_and_paged(client, learners, token, query, numbers):
    body = client.get(f"/api/v1/certificates?{query}", headers=bearer(token)).get_json()
    assert [item["number"] for item in body["items"]] == numbers


def test_certificates_refuse_an_unknown_status(client, learners, token):
    response = client.get("/api/v1/certificates?status=fake", headers=bearer(token))
    assert response.status_code == 400 and "status" in response.get_json()["fields"]


# --- last use ---------------------------------------------------------------------------------------------

def test_last_use_is_recorded_at_most_once_a_minute(client, learners, token):
    client.get("/api/v1/certificates", headers=bearer(token))
    db.session.expire_all()
    first = db.session.scalar(select(ApiToken.last_used_at))
    assert first is not None and utcnow() - first < timedelta(seconds=30)
    client.get("/api/v1/certificates", headers=bearer(token))
    db.session.expire_all()
    assert db.session.scalar(select(ApiToken.last_used_at)) == first
    row = db.session.scalar(select(ApiToken))
    row.last_used_at = first - timedelta(minutes=2)
    db.session.commit()
    client.get("/api/v1/certificates", headers=bearer(token))
    db.session.expire_all()
    assert db.session.scalar(select(ApiToken.last_used_at)) > first
