"""Statistics for the programme office: figures, accessible charts, tables and CSV downloads."""
import re
from datetime import datetime, timedelta, timezone

import pytest

from namalms.formatting import month_start

from namalms.demo import complete_module
from namalms.formats.charts import month_label
from namalms.extensions import db
from namalms.models import Course
from namalms.models.base import utcnow
from namalms.services import certificates as certificate_service
from namalms.services import progress
from namalms.services import statistics as figures

pytestmark = pytest.mark.both_databases  # its behaviour depends on the database

UTC = timezone.utc


@pytest.fixture
def admin(make_user, auth):
    user = make_user("admin")
    auth.login(user.email)
    return user


def course(course_id):
    return db.session.get(Course, course_id)


def this_and_last_month():
    """(year, month) of the current and the previous German month, and an instant inside each."""
    [(py, pm), (ty, tm)] = figures.recent_months(count=2)
    return (py, pm), (ty, tm), month_start(py, pm) + timedelta(days=5), \
        month_start(ty, tm) + timedelta(hours=1)


def seed_three_enrolments(make_user):
    last, this, in_last, in_this = this_and_last_month()
    progress.enrol(make_user("learner"), course("grundlagenkurs"), at=in_last)
    progress.enrol(make_user("learner"), course("sonderkurs-strukturwandel"), at=in_last)
    progress.enrol(make_user("learner"), course("grundlagenkurs"), at=in_this)
    db.session.commit()
    return last, this


def row_cells(html, label):
    """The numbers in the table row headed `label`."""
    match = re.search(rf'<th scope="row">{re.escape(label)}</th>((?:<td[^>]*>[^<]*</td>)+)</tr>', html)
    assert match, label
    return re.findall(r"<td[^>]*>([^<]*)</td>", match.group(1))


# --- figures -------------------------------------------------------------------------------------

def test_enrolments_per_month_counts_three_enrolments_in_two_months(app, make_user):
    last, this = seed_three_enrolments(make_user)
    data = figures.enrolments_per_month()
    assert data.values("grundlagenkurs")[-2:] == (1, 1)
    assert data.values("sonderkurs-strukturwandel")[-2:] == (1, 0)
    assert sum(data.values("regulaerer-lehrgang")) == 0
    assert len(data.months) == 12 and data.months[-1] == this and data.months[-2] == last
    assert list(data.names) == ["grundlagenkurs", "sonderkurs-strukturwandel", "regulaerer-lehrgang"]


def test_months_are_german_months(app, make_user):
    now = datetime(2026, 3, 15, 12, tzinfo=UTC)
    cases = [
        datetime(2026, 1, 31, 23, 30, tzinfo=UTC),  # 00:30 on 1 February in Germany (CET)
        datetime(2025, 8, 31, 22, 30, tzinfo=UTC),  # 00:30 on 1 September (CEST)
        datetime(2025, 3, 31, 21, 30, tzinfo=UTC),  # 23:30 on 31 March: before the twelve months
        datetime(2025, 3, 31, 22, 30, tzinfo=UTC),  # 00:30 on 1 April: the first of the twelve
    ]
    for at in cases:
        progress.enrol(make_user("learner"), course("grundlagenkurs"), at=at)
    db.session.commit()
    data = figures.enrolments_per_month(now)
    assert data.months[0] == (2025, 4) and data.months[-1] == (2026, 3)
    assert data.counts["grundlagenkurs"] == {"2026-02": 1, "2025-09": 1, "2025-04": 1}


def test_staff_accounts_are_not_counted(app, make_user):
    trainer = make_user("trainer")
    progress.enrol(trainer, course("grundlagenkurs"))
    progress.record_visit(trainer, course("grundlagenkurs").modules[0])
    db.session.commit()
    assert sum(figures.enrolments_per_month().values("grundlagenkurs")) == 0
    assert all(row.enrolled == 0 and row.opened == 0 for row in figures.completion_funnel())


def test_completion_funnel_per_module(app, make_user):
    modules = [m for m in course("grundlagenkurs").modules if not m.is_retired]
    keen, slow = make_user("learner"), make_user("learner")
    for learner in (keen, slow):
        progress.enrol(learner, course("grundlagenkurs"))
    complete_module(keen, modules[0], utcnow())
    progress.record_visit(keen, modules[1])
    progress.record_visit(slow, modules[0])
    progress.mark_done(slow, modules[0])
    db.session.commit()
    funnel = {row.module_id: row for row in figures.completion_funnel() if row.course_id == "grundlagenkurs"}
    assert list(funnel) == [m.id for m in modules]
    first, second, third = funnel[modules[0].id], funnel[modules[1].id], funnel[modules[2].id]
    assert (first.enrolled, first.opened, first.done, first.completed) == (2, 2, 2, 1)
    assert (second.enrolled, second.opened, second.done, second.completed) == (2, 1, 0, 0)
    assert (third.enrolled, third.opened) == (2, 0)


def certified(make_user, days_ago, **overrides):
    learner = make_user("learner", **overrides)
    progress.enrol(learner, course("grundlagenkurs"), at=utcnow() - timedelta(days=days_ago))
    for module in [m for m in course("grundlagenkurs").modules if not m.is_retired]:
        complete_module(learner, module, utcnow() - timedelta(days=1))
    db.session.commit()
    return certificate_service.current_certificate(learner.id, "zertifikat-grundlagenkurs")


def test_certificates_per_month_region_and_median_time(app, make_user):
    certified(make_user, 10)
    certified(make_user, 20)
    certified(make_user, 30, district_id="stadt-herne", municipality="Stadt Herne")
    revoked = certified(make_user, 400)
    certificate_service.revoke_certificate(revoked, category="error", reason="irrtümlich ausgestellt")
    db.session.commit()
    monthly = figures.certificates_per_month()
    assert monthly.values("zertifikat-grundlagenkurs")[-1] == 3, "revoked certificates do not count"
    regions = figures.certificates_per_region()
    assert regions.value("rheinisches-revier", "zertifikat-grundlagenkurs") == 2
    assert regions.value("ruhr-kraftwerksstandorte", "zertifikat-grundlagenkurs") == 1
    assert list(regions.regions) == ["rheinisches-revier", "ruhr-kraftwerksstandorte"]
    [median] = [d for d in figures.time_to_certificate() if d.definition_id == "zertifikat-grundlagenkurs"]
    assert median.count == 3 and round(median.median_days) == 20
    assert round(median.quickest_days) == 10 and round(median.slowest_days) == 30


def test_a_reissued_certificate_counts_once(app, make_user):
    certificate = certified(make_user, 10)
    certificate_service.reissue_certificate(certificate, reason="Druckfehler")
    db.session.commit()
    assert sum(figures.certificates_per_month().values("zertifikat-grundlagenkurs")) == 1
    assert figures.certificates_per_region().value("rheinisches-revier", "zertifikat-grundlagenkurs") == 1
    [median] = [d for d in figures.time_to_certificate() if d.definition_id == "zertifikat-grundlagenkurs"]
    assert median.count == 1


# --- the page ------------------------------------------------------------------------------------

CHART_IDS = ["einschreibungen", "trichter-grundlagenkurs", "trichter-sonderkurs-strukturwandel",
             "trichter-regulaerer-lehrgang", "zertifikate-monat", "zertifikate-region", "zeit-bis-zertifikat"]


def test_page_shows_accessible_charts_with_tables_and_the_numbers(client, admin, make_user):
    last, this = seed_three_enrolments(make_user)
    response = client.get("/office/statistics")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    svgs = re.findall(r"<svg [^>]*>", html)
    assert len(svgs) == len(CHART_IDS)
    for chart_id in CHART_IDS:
        assert f'id="{chart_id}"' in html
        assert f'aria-labelledby="{chart_id}-title {chart_id}-desc"' in html
        assert f'<title id="{chart_id}-title">' in html and f'<desc id="{chart_id}-desc">' in html
        assert f"/office/statistics/{chart_id}.csv" in html
    assert all('role="img"' in svg and "viewBox=" in svg for svg in svgs)
    assert html.count("<table") == len(CHART_IDS) and html.count("<caption>") == len(CHART_IDS)
    assert row_cells(html, month_label(*last)) [:2] == ["1", "1"]
    assert row_cells(html, month_label(*this))[:2] == ["1", "0"]
    assert "<script" not in html


def test_page_shows_the_median_days_to_a_certificate(client, admin, make_user):
    certified(make_user, 12)
    certified(make_user, 14)
    html = client.get("/office/statistics").get_data(as_text=True)
    assert "Median 13 Tage · n = 2" in html
    assert row_cells(html, "Zertifikat Grundlagenkurs Kommunales Nachhaltigkeitsmanagement")[:2] == ["2", "13"]


def test_every_chart_downloads_as_german_excel_csv(client, admin, make_user):
    last, this = seed_three_enrolments(make_user)
    for chart_id in CHART_IDS:
        response = client.get(f"/office/statistics/{chart_id}.csv")
        assert response.status_code == 200, chart_id
        assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8", "one charset, not two"
        body = response.get_data()
        assert body.startswith("\ufeff".encode()), chart_id
        assert ";" in body.decode("utf-8-sig").splitlines()[0]
    lines = client.get("/office/statistics/einschreibungen.csv").get_data().decode("utf-8-sig").splitlines()
    assert lines[0] == "Monat;Grundlagenkurs;Sonderkurs Strukturwandel;Regulärer Lehrgang;Summe"
    assert f"{month_label(*last)};1;1;0;2" in lines and f"{month_label(*this)};1;0;0;1" in lines
    assert len(lines) == 13


def test_unknown_chart_is_404(client, admin):
    assert client.get("/office/statistics/geheim.csv").status_code == 404
    assert client.get("/office/statistics/trichter-gibtsnicht.csv").status_code == 404


def test_empty_statistics_say_so(client, admin):
    html = client.get("/office/statistics").get_data(as_text=True)
    assert "Noch keine Daten" in html


def test_figures_are_kept_for_a_few_minutes_and_say_when_they_were_computed(app, client, admin):
    from namalms.services import statistics as figures
    from tests.conftest import counted_statements

    app.config["STATISTICS_MAX_AGE_S"] = 300
    figures.forget_figures()
    try:
        first = client.get("/office/statistics").get_data(as_text=True)
        with counted_statements() as statements:
            second = client.get("/office/statistics").get_data(as_text=True)
        assert not any("module_progress" in s for s in statements), "the aggregates are not recomputed"
        assert "höchstens fünf Minuten alt" in first and first.count("Stand") == second.count("Stand")
    finally:
        app.config["STATISTICS_MAX_AGE_S"] = 0
        figures.forget_figures()
