"""Query counts of the status list are constant: 40 learners cost as many statements as 5."""
from __future__ import annotations


import pytest

from tests.conftest import counted_statements as counted

from namalms.extensions import db
from namalms.services import tokens as token_service
from tests.web.test_office_status import GK, PRO_MISSING, RL, SK, days_ago, seed_learner

pytestmark = pytest.mark.both_databases  # its behaviour depends on the database

PAGES = [
    "/office/",
    "/office/?status=fehlt-1",
    "/office/?q=a&sort=enrolled&order=desc",
    "/office/?course=grundlagenkurs&status=in-bearbeitung&sort=region",
    "/office/zertifizierungsstand.csv",
    "/office/zertifizierungsstand.xlsx?sort=activity",
]
API = ["/api/v1/learners", "/api/v1/learners?per_page=500&status=zertifiziert", "/api/v1/learners.csv",
       "/api/v1/certificates"]


def seed(count: int, offset: int = 0) -> None:
    """Learners with everything a row shows: enrolments, progress, certificates, open conditions."""
    for n in range(offset, offset + count):
        seed_learner(
            f"Lernende {n:03d} Anna", last_activity_at=days_ago(n % 120), municipality=f"Gemeinde {n % 7}",
            enrolments={GK: days_ago(200 - n), SK: days_ago(100), RL: days_ago(50)},
            completed=("gk-agenda-2030", "gk-sdgs-lokalisieren", "gk-nachhaltigkeitsstrategie"),
            certificates=((("zertifikat-grundlagenkurs", f"NAMA-2026-{n:05d}", days_ago(10)),) if n % 2 else ()),
            eligibility=(("pro-zertifikat", [PRO_MISSING]), ("zertifikat-sonderkurs", ["a", "b", "c"]),
                         ("zertifikat-grundlagenkurs", [] if n % 2 else ["x", "y"])))




def statements_for(client, url: str, headers: dict | None = None) -> list[str]:
    with counted() as statements:
        response = client.get(url, headers=headers or {})
        assert response.status_code == 200, url
        response.get_data()  # a streamed export runs its queries while it is read
    return list(statements)


@pytest.fixture
def admin_client(client, make_user, auth):
    auth.login(make_user("admin").email)
    return client


@pytest.mark.parametrize("url", PAGES)
def test_the_status_list_costs_the_same_for_5_and_for_40_learners(admin_client, url):
    seed(5)
    few = statements_for(admin_client, url)
    seed(35, offset=5)
    many = statements_for(admin_client, url)
    assert len(few) == len(many), "\n".join(many)
    # An export reads its ids and each batch in short transactions of their own (one BEGIN each).
    assert len(many) <= 17


@pytest.mark.parametrize("url", API)
def test_the_api_costs_the_same_for_5_and_for_40_learners(client, url):
    _, raw = token_service.create_token("Zählwerk", actor_label="Test")
    db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    client.get("/api/v1/certificates", headers=headers)  # records the token's use (at most once a minute)
    seed(5)
    few = statements_for(client, url, headers)
    seed(35, offset=5)
    many = statements_for(client, url, headers)
    assert len(few) == len(many), "\n".join(many)
    assert len(many) <= 17
