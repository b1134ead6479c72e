"""The programme office's certification status list (/office/), its export and API tokens."""
from __future__ import annotations

import csv
import hashlib
import html
import io
import re
import secrets
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

from namalms.formatting import BERLIN, local_date
from namalms.pagination import page_window
from sqlalchemy import select

from namalms.extensions import db
from namalms.models import ApiToken, AuditEvent, Certificate, District, Eligibility, Enrollment, ModuleProgress, User
from namalms.models.base import utcnow
from namalms.services import office_queries

pytestmark = pytest.mark.both_databases  # its behaviour depends on the database

UTC = timezone.utc
GK = "grundlagenkurs"
SK = "sonderkurs-strukturwandel"
RL = "regulaerer-lehrgang"
GK_MODULES = ["gk-agenda-2030", "gk-sdgs-lokalisieren", "gk-nachhaltigkeitsstrategie",
              "gk-nachhaltigkeitsbericht", "gk-nachhaltigkeitshaushalt", "gk-verwaltung-verankern"]
PRO_MISSING = "Modul „Mobilität und Verkehrswende“ abgeschlossen"


def days_ago(days: float) -> datetime:
    return utcnow() - timedelta(days=days)


def seed_learner(name: str, *, email: str | None = None, district_id: str = "kreis-dueren",
                 municipality: str = "Gemeinde Niederzier", last_activity_at: datetime | None = None,
                 enrolments: dict[str, datetime] | None = None, completed: tuple[str, ...] = (),
                 certificates: tuple = (), eligibility: tuple = ()) -> User:
    """A learner written straight into the tables (no password hashing, no rules engine).

    certificates: (definition_id, number, issued_at[, status[, current]]) tuples;
    eligibility: (definition_id, [missing labels]) tuples – an empty list means met.
    """
    district = db.session.get(District, district_id)
    slug = re.sub(r"[^a-z0-9]+", ".", name.lower().encode("ascii", "ignore").decode()).strip(".")
    user = User(email=email or f"{slug}.{secrets.token_hex(3)}@example.org", name=name, role="learner",
                password_hash="!", district_id=district_id, region_id=district.region_id,
                municipality=municipality, last_activity_at=last_activity_at, created_at=days_ago(400))
    db.session.add(user)
    db.session.flush()
    for course_id, enrolled_at in (enrolments or {}).items():
        db.session.add(Enrollment(user_id=user.id, course_id=course_id, enrolled_at=enrolled_at))
    if enrolments:
        user.first_enrolled_at = min(enrolments.values())  # as progress.enrol keeps it
    for module_id in completed:
        db.session.add(ModuleProgress(user_id=user.id, module_id=module_id, completed_at=days_ago(3)))
    for definition_id, number, issued_at, *rest in certificates:
        status = rest[0] if rest else "valid"
        current = rest[1] if len(rest) > 1 else True
        certificate = Certificate(user_id=user.id, definition_id=definition_id, number=number, issued_at=issued_at,
                                  status=status, verification_code=secrets.token_urlsafe(16))
        db.session.add(certificate)
        if not current:  # superseded: NULL marks "not the current one" (the column's default is True)
            db.session.flush()
            certificate.current_marker = None
    for definition_id, missing in eligibility:
        db.session.add(Eligibility(user_id=user.id, definition_id=definition_id, is_met=not missing,
                                   missing_count=len(missing), missing=list(missing), done=0, total=2))
    db.session.commit()
    return user




def names_on(page_html: str) -> list[str]:
    """Learner names in the order the table lists them."""
    return [html.unescape(name) for name in re.findall(r'<th scope="row" data-label="Name">\s*<a href="[^"]+">([^<]+)</a>', page_html)]


def listed(client, **args) -> list[str]:
    response = client.get("/office/", query_string=args)
    assert response.status_code == 200, response.data[:500]
    return names_on(response.get_data(as_text=True))


# --- access ------------------------------------------------------------------------------------------

OFFICE_URLS = ["/office/", "/office/tokens", "/office/zertifizierungsstand.csv", "/office/zertifizierungsstand.xlsx"]


@pytest.mark.parametrize("url", OFFICE_URLS)
@pytest.mark.parametrize("role", ["learner", "trainer"])
def test_only_the_programme_office_sees_the_status_list_and_tokens(client, make_user, auth, role, url):
    auth.login(make_user(role).email)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", OFFICE_URLS)
def test_anonymous_visitors_are_sent_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["learner", "trainer"])
def test_other_roles_cannot_create_or_revoke_tokens(client, make_user, auth, role):
    auth.login(make_user(role).email)
    assert client.post("/office/tokens", data={"name": "Hintertür"}).status_code == 403
    assert client.post("/office/tokens/1/revoke").status_code == 403
    assert db.session.scalar(select(ApiToken.id)) is None


# --- what a row shows --------------------------------------------------------------------------------

def test_a_row_shows_progress_certificates_and_what_is_missing(client, admin):
    user = seed_learner(
        "Jürgen Weiß", municipality="Stadt Düren", last_activity_at=days_ago(2),
        enrolments={GK: days_ago(30), RL: days_ago(10)}, completed=tuple(GK_MODULES[:4]),
        certificates=(("zertifikat-sonderkurs", "NAMA-2026-00041", datetime(2026, 3, 5, 9, tzinfo=UTC)),
                      ("zertifikat-grundlagenkurs", "NAMA-2026-00007", datetime(2026, 1, 2, 9, tzinfo=UTC),
                       "revoked")),
        eligibility=(("zertifikat-grundlagenkurs", ["egal, widerrufen"]),
                     ("zertifikat-sonderkurs", []),
                     ("pro-zertifikat", [PRO_MISSING])))
    page = client.get("/office/").get_data(as_text=True)
    row = page[page.index(f'href="/office/learners/{user.id}"'):]
    row = row[:row.index("</tr>")]
    assert "Jürgen Weiß" in row and "Stadt Düren" in row and "Kreis Düren" in row and "Rheinisches Revier" in row
    assert "Grundlagenkurs: 4 von 6" in row and "Regulärer Lehrgang: 0 von 9" in row
    assert 'max="6" value="4"' in row
    assert "Zertifikat Sonderkurs</span> Nr. NAMA-2026-00041, 05.03.2026" in row
    assert "NAMA-2026-00007, 02.01.2026 <span class=\"badge status-revoked\">widerrufen</span>" in row
    assert "<strong>Pro-Zertifikat:</strong> 1 offen – Modul „Mobilität und Verkehrswende“ abgeschlossen" in row
    assert "egal, widerrufen" not in row  # a current (even revoked) certificate is not "missing"
    assert "zertifiziert" in row and "fehlt noch 1 Bedingung" in row


def test_what_is_missing_is_listed_shortest_first(client, admin):
    seed_learner("Ada Arndt", last_activity_at=days_ago(1), eligibility=(
        ("zertifikat-grundlagenkurs", ["A", "B", "C"]), ("pro-zertifikat", ["X", "Y"]),
        ("zertifikat-sonderkurs", ["S1", "S2", "S3", "S4"])))
    page = client.get("/office/").get_data(as_text=True)
    order = [page.index(label) for label in ("Pro-Zertifikat:</strong> 2 offen – X; Y",
                                             "Zertifikat Grundlagenkurs:</strong> 3 offen – A; B und 1 weitere",
                                             "Zertifikat Sonderkurs:</strong> 4 offen")]
    assert order == sorted(order)
    assert "2 weitere Zertifikate" in page


# --- search ---------------------------------------------------------------------------------------------

@pytest.fixture
def three_learners(app):
    return {
        "anna": seed_learner("Anna Özdemir", email="anna.oezdemir@kreis-dueren.de", last_activity_at=days_ago(1),
                             certificates=(("zertifikat-grundlagenkurs", "NAMA-2026-00012", days_ago(5)),)),
        "bernd": seed_learner("Bernd Brückner", email="b.brueckner@bergheim.de", district_id="rhein-erft-kreis",
                              municipality="Stadt Bergheim", last_activity_at=days_ago(1),
                              certificates=(("pro-zertifikat", "NAMA-2026-00120", days_ago(5)),)),
        "clara": seed_learner("Clara Cremer", email="clara@muenster.de", district_id="stadt-muenster",
                              municipality="Stadt Münster", last_activity_at=days_ago(200)),
    }


@pytest.mark.parametrize("query, expected", [
    ("NAMA-2026-00012", ["Anna Özdemir"]),          # the number on the certificate
    ("nama-2026-00012", ["Anna Özdemir"]),          # as someone types it
    ("00120", ["Bernd Brückner"]),                  # part of a number
    ("özdemir", ["Anna Özdemir"]),                  # upper-case umlaut in the name, typed lower-case
    ("BRÜCKNER", ["Bernd Brückner"]),
    ("muenster.de", ["Clara Cremer"]),              # e-mail
    ("  anna   ", ["Anna Özdemir"]),
    ("100%", []),                                   # wildcards are taken literally
    ("_", []),
])
def test_search_by_name_email_or_certificate_number(client, admin, three_learners, query, expected):
    assert listed(client, q=query) == expected


def test_searching_a_certificate_number_shows_its_holder_with_the_certificate(client, admin, three_learners):
    page = client.get("/office/", query_string={"q": "NAMA-2026-00012"}).get_data(as_text=True)
    assert names_on(page) == ["Anna Özdemir"] and "Nr. NAMA-2026-00012" in page
    assert "<strong>1</strong> Teilnehmende*r gefunden" in page


# --- filters --------------------------------------------------------------------------------------------

@pytest.fixture
def cohort(app):
    """Learners covering every filter and status."""
    return [
        seed_learner("Zertifizierte Zoe", last_activity_at=days_ago(10), enrolments={GK: days_ago(100)},
                     certificates=(("zertifikat-grundlagenkurs", "NAMA-2026-00001", days_ago(20)),),
                     eligibility=(("pro-zertifikat", [PRO_MISSING]),)),
        seed_learner("Knappe Karla", district_id="stadt-muenster", municipality="Stadt Münster",
                     last_activity_at=days_ago(5), enrolments={GK: days_ago(40)},
                     eligibility=(("zertifikat-grundlagenkurs", ["Modul „Der Nachhaltigkeitshaushalt“ abgeschlossen"]),)),
        # Exactly one condition open, but the certificate exists (revoked): not "fehlt noch 1".
        seed_learner("Widerrufene Wanda", last_activity_at=days_ago(5), enrolments={GK: days_ago(40)},
                     certificates=(("zertifikat-grundlagenkurs", "NAMA-2026-00002", days_ago(30), "revoked"),),
                     eligibility=(("zertifikat-grundlagenkurs", ["Modul „Der Nachhaltigkeitshaushalt“ abgeschlossen"]),)),
        seed_learner("Fleißiger Felix", district_id="stadt-gelsenkirchen", municipality="Stadt Gelsenkirchen",
                     last_activity_at=days_ago(1), enrolments={SK: days_ago(20)},
                     eligibility=(("zertifikat-sonderkurs", ["a", "b", "c"]),)),
        seed_learner("Inaktive Ina", district_id="kreis-lippe", municipality="Stadt Detmold",
                     last_activity_at=days_ago(120), enrolments={GK: days_ago(300), RL: days_ago(150)}),
        seed_learner("Nie-aktiver Norbert", district_id="kreis-lippe", municipality="Stadt Lemgo",
                     enrolments={RL: days_ago(95)}),
        seed_learner("Neuer Nils", district_id="kreis-lippe", municipality="Stadt Lage"),
    ]


@pytest.mark.parametrize("args, expected", [
    ({}, ["Fleißiger Felix", "Inaktive Ina", "Knappe Karla", "Neuer Nils", "Nie-aktiver Norbert",
          "Widerrufene Wanda", "Zertifizierte Zoe"]),
    ({"status": "zertifiziert"}, ["Zertifizierte Zoe"]),
    ({"status": "fehlt-1"}, ["Knappe Karla", "Zertifizierte Zoe"]),
    ({"status": "in-bearbeitung"}, ["Fleißiger Felix", "Knappe Karla", "Neuer Nils", "Widerrufene Wanda"]),
    ({"status": "inaktiv"}, ["Inaktive Ina", "Nie-aktiver Norbert"]),
    ({"course": GK}, ["Inaktive Ina", "Knappe Karla", "Widerrufene Wanda", "Zertifizierte Zoe"]),
    ({"course": SK}, ["Fleißiger Felix"]),
    ({"region": "ruhr-kraftwerksstandorte"}, ["Fleißiger Felix"]),
    ({"region": "uebriges-nrw"}, ["Inaktive Ina", "Knappe Karla", "Neuer Nils", "Nie-aktiver Norbert"]),
    ({"district": "kreis-lippe"}, ["Inaktive Ina", "Neuer Nils", "Nie-aktiver Norbert"]),
    ({"certificate": "zertifikat-grundlagenkurs"}, ["Zertifizierte Zoe"]),  # valid only, not revoked
    ({"certificate": "pro-zertifikat"}, []),
    ({"enrolled_from": (utcnow() - timedelta(days=60)).date().isoformat()},
     ["Fleißiger Felix", "Knappe Karla", "Widerrufene Wanda"]),
    ({"enrolled_to": (utcnow() - timedelta(days=200)).strftime("%d.%m.%Y")}, ["Inaktive Ina"]),
    ({"course": RL, "enrolled_from": (utcnow() - timedelta(days=160)).date().isoformat(),
      "enrolled_to": (utcnow() - timedelta(days=90)).date().isoformat()}, ["Inaktive Ina", "Nie-aktiver Norbert"]),
    ({"region": "uebriges-nrw", "status": "in-bearbeitung"}, ["Knappe Karla", "Neuer Nils"]),
])
def test_filters(client, admin, cohort, args, expected):
    assert listed(client, **args) == expected


def test_statuses_shown_in_rows_match_the_status_filters(client, admin, cohort):
    for key, label in office_queries.STATUSES.items():
        page = client.get("/office/", query_string={"status": key}).get_data(as_text=True)
        rows = page.split('<th scope="row"')[1:]
        assert rows and all(label in html.unescape(row) for row in rows), key


def test_the_form_keeps_the_chosen_filters(client, admin, cohort):
    page = client.get("/office/", query_string={"q": "Karla", "region": "uebriges-nrw", "status": "fehlt-1",
                                                "enrolled_from": "01.02.2026"}).get_data(as_text=True)
    assert 'name="q" value="Karla"' in page
    assert '<option value="uebriges-nrw" selected>' in page
    assert '<option value="fehlt-1" selected>' in page
    assert 'name="enrolled_from" value="2026-02-01"' in page
    assert "Alle Filter zurücksetzen" in page


@pytest.mark.parametrize("args, message", [
    ({"status": "fertig"}, "Unbekannter Status"),
    ({"enrolled_from": "31.02.2026"}, "Bitte ein Datum im Format TT.MM.JJJJ angeben."),
    ({"enrolled_from": "2026-05-01", "enrolled_to": "2026-04-01"}, "„Eingeschrieben bis“ liegt vor „Eingeschrieben ab“."),
    ({"course": "kochkurs"}, "Diesen Kurs gibt es nicht."),
    ({"district": "atlantis"}, "Diesen Kreis bzw. diese Stadt gibt es nicht."),
])
def test_bad_filters_get_a_clear_german_message(client, admin, cohort, args, message):
    response = client.get("/office/", query_string=args)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'role="alert"' in page and message in page


# --- sorting and pages ---------------------------------------------------------------------------------

@pytest.mark.parametrize("sort, order, expected", [
    ("name", "asc", ["Inaktive Ina", "Knappe Karla", "Zertifizierte Zoe"]),
    ("name", "desc", ["Zertifizierte Zoe", "Knappe Karla", "Inaktive Ina"]),
    ("municipality", "asc", ["Inaktive Ina", "Zertifizierte Zoe", "Knappe Karla"]),  # Detmold, Niederzier, Münster
    ("region", "asc", ["Zertifizierte Zoe", "Inaktive Ina", "Knappe Karla"]),  # Rheinisches Revier, Übriges NRW
    ("activity", "desc", ["Knappe Karla", "Zertifizierte Zoe", "Inaktive Ina"]),
    ("activity", "asc", ["Inaktive Ina", "Zertifizierte Zoe", "Knappe Karla"]),
    ("enrolled", "asc", ["Inaktive Ina", "Zertifizierte Zoe", "Knappe Karla"]),
    ("enrolled", "desc", ["Knappe Karla", "Zertifizierte Zoe", "Inaktive Ina"]),
])
def test_sorting_by_each_column(client, admin, app, sort, order, expected):
    seed_learner("Zertifizierte Zoe", last_activity_at=days_ago(10), enrolments={GK: days_ago(100)},
                 municipality="Gemeinde Niederzier")
    seed_learner("Knappe Karla", district_id="stadt-muenster", municipality="Stadt Münster",
                 last_activity_at=days_ago(5), enrolments={GK: days_ago(40)})
    seed_learner("Inaktive Ina", district_id="kreis-lippe", municipality="Gemeinde Detmold",
                 last_activity_at=days_ago(120), enrolments={GK: days_ago(300)})
    assert listed(client, sort=sort, order=order) == expected


def test_sort_links_toggle_and_announce_the_order(client, admin, cohort):
    page = client.get("/office/", query_string={"sort": "activity", "status": "inaktiv"}).get_data(as_text=True)
    header = re.search(r'<th scope="col" aria-sort="ascending">\s*<a class="sort-link" href="([^"]+)">Letzte Aktivität',
                       page)
    assert header, "the sorted column carries aria-sort"
    link = header.group(1).replace("&amp;", "&")
    assert "order=desc" in link and "status=inaktiv" in link  # reverses, keeps the filters
    assert page.count("aria-sort=") == 1
    name_link = re.search(r'<a class="sort-link" href="([^"]+)">Name', page).group(1).replace("&amp;", "&")
    assert "sort=" not in name_link and "status=inaktiv" in name_link  # name ascending is the default


def test_fifty_learners_a_page_with_links_to_every_page(client, admin, app):
    # Every 20th person lives in Kreis Unna, the others in Hamm.
    db.session.add_all([
        User(email=f"p{n:03d}@example.org", name=f"Person {n:03d}", role="learner", password_hash="!",
             municipality="Stadt Hamm", **({"district_id": "kreis-unna", "region_id": "ruhr-kraftwerksstandorte"}
                                           if n % 20 == 0 else {"district_id": "stadt-hamm",
                                                                "region_id": "ruhr-kraftwerksstandorte"}))
        for n in range(1, 106)])
    db.session.commit()
    first = client.get("/office/").get_data(as_text=True)
    assert len(names_on(first)) == 50 and names_on(first)[0] == "Person 001"
    assert "<strong>105</strong> Teilnehmende gefunden · Seite 1 von 3" in first
    assert re.search(r'href="/office/\?page=1" aria-current="page"><span class="sr-only">Seite </span>1</a>', first)
    assert 'href="/office/?page=3"' in first and 'rel="next"' in first and 'rel="prev"' not in first
    last = client.get("/office/", query_string={"page": 3}).get_data(as_text=True)
    assert names_on(last) == [f"Person {n:03d}" for n in range(101, 106)]
    assert 'rel="prev"' in last and 'rel="next"' not in last
    filtered = client.get("/office/", query_string={"district": "kreis-unna"}).get_data(as_text=True)
    assert len(names_on(filtered)) == 5 and "Seite 1 von" not in filtered
    beyond = client.get("/office/", query_string={"page": 9}).get_data(as_text=True)
    assert names_on(beyond) == names_on(last), "past the end: the last page"


@pytest.mark.parametrize("page, pages, expected", [
    (1, 1, [1]),
    (1, 5, [1, 2, 3, 4, 5]),
    (1, 20, [1, 2, 3, None, 20]),
    (10, 20, [1, None, 8, 9, 10, 11, 12, None, 20]),
    (5, 20, [1, 2, 3, 4, 5, 6, 7, None, 20]),  # a gap of one page shows that page
    (20, 20, [1, None, 18, 19, 20]),
])
def test_page_window(page, pages, expected):
    assert page_window(page, pages) == expected


def test_non_learners_are_never_listed(client, admin, make_user, app):
    make_user("trainer", name="Trainerin Tanja")
    seed_learner("Lernende Lea", last_activity_at=days_ago(1))
    assert listed(client) == ["Lernende Lea"]


# --- export -------------------------------------------------------------------------------------------------

def read_csv(response) -> list[list[str]]:
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, or German Excel garbles the umlauts"
    text = data.decode("utf-8-sig")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def test_export_is_exactly_the_filtered_list_as_german_excel_reads_it(client, admin, cohort):
    hacker = seed_learner("=HYPERLINK(\"http://evil.example\";\"Klick\")", municipality="+49 Köln",
                          district_id="kreis-lippe", last_activity_at=days_ago(3), enrolments={GK: days_ago(2)})
    args = {"region": "uebriges-nrw", "status": "in-bearbeitung", "sort": "name"}
    on_page = listed(client, **args)
    response = client.get("/office/zertifizierungsstand.csv", query_string=args)
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    today = local_date(utcnow()).isoformat()
    assert response.headers["Content-Disposition"] == f'attachment; filename="namalms-zertifizierungsstand-{today}.csv"'
    rows = read_csv(response)
    header, body = rows[0], rows[1:]
    assert header[:9] == ["ID", "Name", "E-Mail", "Kommune", "Kreis/Stadt", "Region", "Status", "Eingeschrieben am",
                          "Letzte Aktivität"]
    assert header[-1] == "Was fehlt noch"
    names = [row[1] for row in body]
    assert names == [f"'{hacker.name}" if n == hacker.name else n for n in on_page]
    by_name = {row[1]: dict(zip(header, row)) for row in body}
    karla = by_name["Knappe Karla"]
    assert karla["Kommune"] == "Stadt Münster" and karla["Region"] == "Übriges NRW"
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4}", karla["Eingeschrieben am"])
    assert karla["Eingeschrieben am"] == (utcnow() - timedelta(days=40)).astimezone(
        BERLIN).strftime("%d.%m.%Y")
    assert karla["Status"] == "fehlt noch 1 Bedingung, in Bearbeitung"
    assert karla["Was fehlt noch"] == "Zertifikat Grundlagenkurs: 1 offen – Modul „Der Nachhaltigkeitshaushalt“ abgeschlossen"
    assert karla["Grundlagenkurs: Pflichtmodule abgeschlossen (von 6)"] == "0"
    row = by_name[f"'{hacker.name}"]
    assert row["Kommune"] == "'+49 Köln"


def test_export_carries_certificates_with_number_date_and_status(client, admin, cohort):
    rows = read_csv(client.get("/office/zertifizierungsstand.csv", query_string={"course": GK}))
    table = {row[1]: dict(zip(rows[0], row)) for row in rows[1:]}
    zoe, wanda = table["Zertifizierte Zoe"], table["Widerrufene Wanda"]
    assert zoe["Zertifikat Grundlagenkurs: Nummer"] == "NAMA-2026-00001"
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4}", zoe["Zertifikat Grundlagenkurs: ausgestellt am"])
    assert zoe["Zertifikat Grundlagenkurs: Status"] == "gültig"
    assert wanda["Zertifikat Grundlagenkurs: Status"] == "widerrufen"
    assert zoe["Pro-Zertifikat: Nummer"] == ""


def test_export_walks_batches_without_losing_or_repeating_anyone(client, admin, app, monkeypatch):
    monkeypatch.setattr(office_queries, "EXPORT_BATCH", 4)
    # Many equal sort keys (same name, same municipality, no activity): the id must break ties.
    for number in range(23):
        seed_learner("Gleich Name" if number % 2 else f"Person {number % 5}", municipality="Stadt Hamm",
                     district_id="stadt-hamm", last_activity_at=days_ago(number % 3) if number % 4 else None)
    for sort in office_queries.SORTS:
        for order in ("asc", "desc"):
            page = listed(client, sort=sort, order=order)
            rows = read_csv(client.get("/office/zertifizierungsstand.csv", query_string={"sort": sort, "order": order}))
            assert len(rows) == 24
            ids = [int(row[0]) for row in rows[1:]]
            assert len(set(ids)) == 23, (sort, order)
            assert [row[1] for row in rows[1:]] == page, (sort, order)


def test_export_of_an_empty_result_is_just_the_header(client, admin, cohort):
    rows = read_csv(client.get("/office/zertifizierungsstand.csv", query_string={"q": "niemand"}))
    assert len(rows) == 1


def test_export_as_xlsx_holds_the_same_rows(client, admin, cohort):
    response = client.get("/office/zertifizierungsstand.xlsx", query_string={"status": "inaktiv"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "Inaktive Ina" in sheet and "Nie-aktiver Norbert" in sheet and "Knappe Karla" not in sheet
    assert 'r="A3"' in sheet and 'r="A4"' not in sheet


def test_the_page_links_to_the_export_with_the_same_filters(client, admin, cohort):
    page = client.get("/office/", query_string={"status": "inaktiv", "q": "ina"}).get_data(as_text=True)
    link = re.search(r'href="(/office/zertifizierungsstand\.csv[^"]*)"', page).group(1).replace("&amp;", "&")
    assert "status=inaktiv" in link and "q=ina" in link


# --- API tokens: web ------------------------------------------------------------------------------------

def test_a_new_token_is_shown_once_and_only_its_hash_is_stored(client, admin):
    # Issue 12: the token is shown in the answer to the POST itself, never parked in the session cookie.
    page = client.post("/office/tokens", data={"name": "Monatsbericht"})
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    raw = re.search(r'id="new-token" class="token-value" value="(nama_[A-Za-z0-9_-]+)"', page.get_data(as_text=True))
    assert raw, "the token is on the page after creating it"
    assert all(raw.group(1) not in cookie for cookie in page.headers.getlist("Set-Cookie"))
    with client.session_transaction() as session:
        assert raw.group(1) not in repr(dict(session))
    token = db.session.scalar(select(ApiToken))
    assert token.name == "Monatsbericht" and token.created_by_id == admin.id
    assert token.token_hash == hashlib.sha256(raw.group(1).encode()).hexdigest()
    assert raw.group(1) not in repr(token.__dict__)
    assert token.prefix == raw.group(1)[:12]
    again = client.get("/office/tokens").get_data(as_text=True)
    assert raw.group(1) not in again and "Ihr neues Token" not in again
    assert f"{token.prefix}…" in again
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token_created"))
    assert event.actor_id == admin.id and event.target_id == str(token.id) and raw.group(1) not in str(event.data)


@pytest.mark.parametrize("name, message", [
    ("", "Bitte geben Sie dem API-Zugang einen Namen"),
    ("   ", "Bitte geben Sie dem API-Zugang einen Namen"),
    ("x" * 201, "Der Name ist zu lang"),
])
def test_a_token_needs_a_sensible_name(client, admin, name, message):
    response = client.post("/office/tokens", data={"name": name})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and 'role="alert"' in page
    assert db.session.scalar(select(ApiToken.id)) is None


def test_a_double_submit_creates_one_token(client, admin):
    client.post("/office/tokens", data={"name": "Monatsbericht"})
    second = client.post("/office/tokens", data={"name": "Monatsbericht"})
    assert second.status_code == 422
    assert "Es gibt bereits einen aktiven API-Zugang „Monatsbericht“" in second.get_data(as_text=True)
    assert len(db.session.scalars(select(ApiToken)).all()) == 1


def test_revoking_asks_first_then_revokes_and_is_audited(client, admin):
    client.post("/office/tokens", data={"name": "Altes Skript"})
    token = db.session.scalar(select(ApiToken))
    confirm = client.get("/office/tokens", query_string={"revoke": token.id}).get_data(as_text=True)
    assert "API-Zugang „Altes Skript“ widerrufen?" in confirm
    assert f'action="/office/tokens/{token.id}/revoke"' in confirm
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None  # asking changes nothing
    response = client.post(f"/office/tokens/{token.id}/revoke")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    page = client.get("/office/tokens").get_data(as_text=True)
    assert "ist widerrufen" in page and "status-revoked" in page
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token_revoked"))
    assert event.actor_id == admin.id and event.target_id == str(token.id)
    twice = client.post(f"/office/tokens/{token.id}/revoke", follow_redirects=True).get_data(as_text=True)
    assert "ist bereits widerrufen" in twice
    assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api_token_revoked")).all()) == 1


def test_revoking_an_unknown_token_says_so(client, admin):
    page = client.post("/office/tokens/4711/revoke", follow_redirects=True).get_data(as_text=True)
    assert "Diesen API-Zugang gibt es nicht." in page


# --- API tokens: CLI ------------------------------------------------------------------------------------

def test_cli_creates_a_token_prints_it_once_and_revokes_it(runner):
    result = runner.invoke(args=["tokens", "create", "--name", "Nachtlauf"])
    assert result.exit_code == 0, result.output
    raw = re.search(r"^(nama_[A-Za-z0-9_-]{40,})$", result.stdout, re.M).group(1)
    token = db.session.scalar(select(ApiToken))
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest() and token.created_by_id is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token_created"))
    assert event.actor_label == "CLI"
    listing = runner.invoke(args=["tokens", "list"])
    assert listing.exit_code == 0 and "Nachtlauf" in listing.output and token.prefix in listing.output
    assert raw not in listing.output and "active" in listing.output
    revoked = runner.invoke(args=["tokens", "revoke", str(token.id)])
    assert revoked.exit_code == 0 and "Revoked API token" in revoked.output
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    again = runner.invoke(args=["tokens", "revoke", str(token.id)])
    assert again.exit_code == 1 and "already revoked" in again.output


@pytest.mark.parametrize("args", [["tokens", "create", "--name", "  "], ["tokens", "revoke", "999"]])
def test_cli_refuses_bad_input_with_exit_code_1(runner, args):
    result = runner.invoke(args=args)
    assert result.exit_code == 1 and result.output.startswith("error:")
    assert db.session.scalar(select(ApiToken.id)) is None
