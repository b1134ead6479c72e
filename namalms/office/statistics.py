"""Programme office (admin): statistics as accessible SVG charts, each with its table and a CSV file.

The figures come from namalms.services.statistics (one aggregate query per chart); the drawing
from namalms.formats.charts. No JavaScript: the server renders the SVG.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Response, abort, render_template

from namalms.formats import charts
from namalms.formats.charts import Bar, BarGroup, Chart, DataTable, Series, format_number, month_label
from namalms.formats.csv_export import csv_chunks
from namalms.models.base import utcnow
from namalms.services import statistics as figures
from namalms.web import role_required

from namalms.office.blueprint import bp


def _month_axis(months: list[tuple[int, int]]) -> tuple[list[str], list[str]]:
    return [month_label(y, m) for y, m in months], [month_label(y, m, short=True) for y, m in months]


def _period(months: list[tuple[int, int]]) -> str:
    return f"{month_label(*months[0])} bis {month_label(*months[-1])}"


def enrolments_chart() -> list[Chart]:
    data = figures.enrolments_per_month(utcnow())
    categories, axis = _month_axis(data.months)
    series = [Series(title, data.values(key)) for key, title in data.names.items()]
    total = sum(sum(s.values) for s in series)
    parts = ", ".join(f"{s.label}: {format_number(sum(s.values))}" for s in series)
    return [charts.bar_chart(
        "einschreibungen", "Einschreibungen je Monat und Kurs",
        f"Neue Einschreibungen von Teilnehmenden je Kurs und Monat, {_period(data.months)}. "
        f"Insgesamt {format_number(total)} ({parts}).",
        categories, series, axis_labels=axis, first_column="Monat")]


def funnel_charts() -> list[Chart]:
    rows = figures.completion_funnel()
    by_course: dict[str, list] = {}
    for row in rows:
        by_course.setdefault(row.course_id, []).append(row)
    result = []
    for course_id, modules in by_course.items():
        title = f"Abschlusstrichter: {modules[0].course_title}"
        enrolled = modules[0].enrolled
        result.append(charts.funnel_chart(
            f"trichter-{course_id}", title,
            f"Je Modul des Kurses „{modules[0].course_title}“: eingeschriebene Teilnehmende ({format_number(enrolled)}), "
            "wie viele das Modul geöffnet, als bearbeitet markiert und abgeschlossen haben; Prozentwerte bezogen auf die "
            f"Eingeschriebenen. Das letzte Modul haben {format_number(modules[-1].completed)} abgeschlossen.",
            ["eingeschrieben", "geöffnet", "bearbeitet", "abgeschlossen"],
            [(m.module_title, [m.enrolled, m.opened, m.done, m.completed]) for m in modules], first_column="Modul"))
    return result


def certificates_month_chart() -> list[Chart]:
    data = figures.certificates_per_month(utcnow())
    categories, axis = _month_axis(data.months)
    series = [Series(title, data.values(key)) for key, title in data.names.items()]
    total = sum(sum(s.values) for s in series)
    return [charts.line_chart(
        "zertifikate-monat", "Ausgestellte Zertifikate je Monat",
        f"Neu ausgestellte Zertifikate je Zertifikat und Monat, {_period(data.months)}, insgesamt {format_number(total)}. "
        "Neuausstellungen zählen nicht doppelt, widerrufene Zertifikate nicht.",
        categories, series, axis_labels=axis, first_column="Monat")]


def certificates_region_chart() -> list[Chart]:
    data = figures.certificates_per_region()
    definitions = list(data.definitions.items())
    groups = [BarGroup(name, tuple(Bar(data.value(region_id, d_id), f"{title}: {format_number(data.value(region_id, d_id))}", i)
                                   for i, (d_id, title) in enumerate(definitions)))
              for region_id, name in data.regions.items()]
    rows = tuple((name, *(data.value(region_id, d_id) for d_id, _ in definitions),
                  sum(data.value(region_id, d_id) for d_id, _ in definitions)) for region_id, name in data.regions.items())
    table = DataTable("Gültige Zertifikate je Region", ("Region", *(t for _, t in definitions), "Summe"), rows)
    total = sum(row[-1] for row in rows)
    summary = ", ".join(f"{row[0]}: {format_number(row[-1])}" for row in rows)
    return [charts.horizontal_bar_chart(
        "zertifikate-region", "Gültige Zertifikate je Region",
        f"Heute gültige Zertifikate nach Region der Inhaberinnen und Inhaber, je Zertifikat; insgesamt "
        f"{format_number(total)}{' (' + summary + ')' if summary else ''}.",
        groups, table, legend=[t for _, t in definitions])]


def _days(value: float | None) -> str:
    if value is None:
        return "–"
    shown = round(value, 1) if value < 10 else round(value)
    return f"{format_number(shown)} {'Tag' if shown == 1 else 'Tage'}"


def time_to_certificate_chart() -> list[Chart]:
    data = figures.time_to_certificate()
    groups = [BarGroup(d.title, (Bar(d.median_days or 0,
                                     f"Median {_days(d.median_days)} · n = {d.count}" if d.count else "noch keine Zertifikate",
                                     0),)) for d in data]
    table = DataTable("Tage von der ersten Einschreibung bis zum Zertifikat",
                      ("Zertifikat", "Anzahl", "Median (Tage)", "kürzeste (Tage)", "längste (Tage)"),
                      tuple((d.title, d.count, *(round(v, 1) if v is not None else "–"
                                                  for v in (d.median_days, d.quickest_days, d.slowest_days)))
                            for d in data))
    summary = "; ".join(f"{d.title}: {_days(d.median_days)}" for d in data if d.count)
    return [charts.horizontal_bar_chart(
        "zeit-bis-zertifikat", "Mittlere Dauer bis zum Zertifikat",
        "Median der Tage von der ersten Einschreibung bis zur Ausstellung, je Zertifikat (nach Regel ausgestellt, "
        f"ohne Entscheidungen des Programmbüros und ohne widerrufene). {summary or 'Noch keine Zertifikate.'}",
        groups, table)]


# chart id (or id prefix, for one chart per course) -> builder; the order is the page's order
BUILDERS: list[tuple[str, Callable[[], list[Chart]]]] = [
    ("einschreibungen", enrolments_chart),
    ("trichter-", funnel_charts),
    ("zertifikate-monat", certificates_month_chart),
    ("zertifikate-region", certificates_region_chart),
    ("zeit-bis-zertifikat", time_to_certificate_chart),
]


@bp.route("/statistics")
@role_required("admin")
def statistics():
    sections = [chart for _, build in BUILDERS for chart in build()]
    return render_template("office/statistics.html", charts=sections, table_html=charts.table_html)


@bp.route("/statistics/<chart_id>.csv")
@role_required("admin")
def statistics_csv(chart_id: str):
    for key, build in BUILDERS:
        if chart_id == key or (key.endswith("-") and chart_id.startswith(key)):
            chart = next((c for c in build() if c.id == chart_id), None)
            if chart is None:
                break
            stamp = utcnow().strftime("%Y-%m-%d")
            return Response(csv_chunks(chart.table.columns, chart.table.rows), content_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="namalms-{chart_id}-{stamp}.csv"'})
    abort(404)
