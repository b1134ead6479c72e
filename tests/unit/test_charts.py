"""Server-rendered SVG charts: accessible markup, labels on every figure, geometry, tables."""
import re
import xml.etree.ElementTree as ET

import pytest

from namalms.formats.charts import (
    Bar, BarGroup, DataTable, Series, axis_scale, bar_chart, format_number, funnel_chart, horizontal_bar_chart, line_chart,
    month_label, month_sequence, table_html,
)

SVG = "{http://www.w3.org/2000/svg}"
MONTHS = ["Januar 2026", "Februar 2026", "März 2026"]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def texts(svg: str) -> list[str]:
    return [t.text for t in parse(svg).iter(f"{SVG}text")]


def bar_sample():
    return bar_chart("einschreibungen", "Einschreibungen je Monat", "Drei Monate, zwei Kurse.", MONTHS,
                     [Series("Grundlagenkurs", (3, 0, 12)), Series("Sonderkurs", (1, 2, 0))], first_column="Monat")


@pytest.mark.parametrize("value, top, ticks", [
    (0, 1, [0, 1]), (1.08, 2, [0, 1, 2]), (4.32, 6, [0, 2, 4, 6]), (5, 6, [0, 2, 4, 6]),
    (10.8, 15, [0, 5, 10, 15]), (270, 300, [0, 100, 200, 300]), (1234, 1500, [0, 500, 1000, 1500]),
])
def test_axis_scale_uses_whole_readable_steps(value, top, ticks):
    assert axis_scale(value) == (top, ticks)


@pytest.mark.parametrize("value, decimals, expected", [
    (0, None, "0"), (7, None, "7"), (1234, None, "1.234"), (1234567, None, "1.234.567"), (12.5, None, "12,5"),
    (12.0, None, "12"), (66.666, 0, "67"), (None, None, "–"), (1234.5, 1, "1.234,5"),
])
def test_format_number_is_german(value, decimals, expected):
    assert format_number(value, decimals) == expected


def test_month_sequence_crosses_the_year_and_labels_are_german():
    assert month_sequence(2026, 2, 4) == [(2025, 11), (2025, 12), (2026, 1), (2026, 2)]
    assert len(month_sequence(2026, 3, 12)) == 12 and month_sequence(2026, 3, 12)[0] == (2025, 4)
    assert month_label(2026, 3) == "März 2026" and month_label(2025, 12, short=True) == "Dez. 25"


@pytest.mark.parametrize("build", [
    bar_sample,
    lambda: line_chart("zertifikate", "Zertifikate je Monat", "Zwei Zertifikate.", MONTHS,
                       [Series("A", (1, 4, 2)), Series("B", (0, 4, 1))]),
    lambda: funnel_chart("trichter", "Abschlusstrichter", "Zwei Module.", ["eingeschrieben", "geöffnet", "abgeschlossen"],
                         [("Modul 1", [10, 8, 5]), ("Modul 2", [10, 4, 1])]),
    lambda: horizontal_bar_chart("regionen", "Je Region", "Zwei Regionen.",
                                 [BarGroup("Ruhr", (Bar(3, "3"),)), BarGroup("Revier", (Bar(5, "5"),))],
                                 DataTable("Je Region", ("Region", "Anzahl"), (("Ruhr", 3), ("Revier", 5)))),
])
def test_every_chart_is_an_accessible_scalable_svg(build):
    chart = build()
    root = parse(chart.svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{chart.id}-title {chart.id}-desc"
    assert re.fullmatch(r"0 0 720 \d+", root.get("viewBox")) and root.get("width") is None
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.get("id") == f"{chart.id}-title" and title.text == chart.title
    assert desc.get("id") == f"{chart.id}-desc" and desc.text == chart.description
    assert "style=" not in chart.svg, "the content security policy forbids inline styles"


def test_bar_chart_writes_every_non_zero_value_on_its_bar_and_fills_series_with_patterns():
    chart = bar_sample()
    labels = texts(chart.svg)
    for value in ("3", "12", "1", "2"):
        assert value in labels
    for month in ("Januar 2026", "Februar 2026", "März 2026"):
        assert month in labels
    assert "Grundlagenkurs" in labels and "Sonderkurs" in labels, "a legend for two series"
    root = parse(chart.svg)
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("stroke") and float(r.get("height")) > 0
            and r.get("width") != "16"]
    assert len(bars) == 4, "zero values draw no bar"
    fills = {r.get("fill") for r in bars}
    assert "url(#einschreibungen-p1)" in fills and root.find(f".//{SVG}pattern[@id='einschreibungen-p1']") is not None
    heights = sorted(float(r.get("height")) for r in bars)
    assert heights[-1] == pytest.approx(heights[0] * 12, rel=0.02), "bar heights are proportional"


def test_bar_chart_turns_labels_upright_when_bars_are_narrow():
    many = [f"M{i}" for i in range(12)]
    chart = bar_chart("eng", "Eng", "Viele Balken.", many,
                      [Series(s, tuple(1000 + i for i in range(12))) for s in ("A", "B", "C")])
    assert "rotate(-90" in chart.svg
    assert "rotate(-90" not in bar_sample().svg


def test_line_chart_uses_markers_and_dashes_and_keeps_labels_apart():
    chart = line_chart("linie", "Linien", "Zwei Linien.", MONTHS, [Series("A", (1, 4, 2)), Series("B", (0, 3, 2))])
    root = parse(chart.svg)
    lines = list(root.iter(f"{SVG}polyline"))
    assert len(lines) == 2 and lines[1].get("stroke-dasharray") and not lines[0].get("stroke-dasharray")
    assert root.find(f".//{SVG}circle") is not None and root.find(f".//{SVG}rect[@width='8']") is not None
    bold = [t for t in root.iter(f"{SVG}text") if t.get("font-weight") == "bold"]
    assert sorted(t.text for t in bold) == ["1", "2", "3", "4"], "equal values at one point are labelled once"
    by_x: dict[str, list[float]] = {}
    for t in bold:
        by_x.setdefault(t.get("x"), []).append(float(t.get("y")))
    for ys in by_x.values():
        ys.sort()
        assert all(b - a >= 11.9 for a, b in zip(ys, ys[1:]))


def test_funnel_labels_each_stage_with_count_and_share_of_the_first():
    chart = funnel_chart("trichter", "Trichter", "Ein Modul.", ["eingeschrieben", "geöffnet", "abgeschlossen"],
                         [("Agenda 2030", [8, 6, 2])])
    labels = texts(chart.svg)
    assert "Agenda 2030" in labels
    assert "eingeschrieben: 8" in labels and "geöffnet: 6 (75 %)" in labels and "abgeschlossen: 2 (25 %)" in labels
    assert chart.table.columns == ("", "eingeschrieben", "geöffnet", "abgeschlossen")
    assert chart.table.rows == (("Agenda 2030", 8, 6, 2),)


def test_empty_data_says_so_instead_of_drawing_nothing():
    for chart in (bar_chart("leer", "Leer", "Nichts.", MONTHS, [Series("A", (0, 0, 0))]),
                  line_chart("leer", "Leer", "Nichts.", MONTHS, []),
                  funnel_chart("leer", "Leer", "Nichts.", ["a", "b"], [])):
        assert "Noch keine Daten" in chart.svg and 'role="img"' in chart.svg


def test_text_is_escaped():
    chart = bar_chart("x", "A < B & C", "„Zitat“ <script>", ["<b>"], [Series("<i>", (1,))])
    assert "<script>" not in chart.svg and "&lt;script&gt;" in chart.svg
    assert parse(chart.svg).find(f"{SVG}title").text == "A < B & C"


def test_table_html_has_caption_headers_and_german_numbers():
    chart = bar_sample()
    assert chart.table.columns == ("Monat", "Grundlagenkurs", "Sonderkurs", "Summe")
    assert chart.table.rows[0] == ("Januar 2026", 3, 1, 4)
    html = table_html(DataTable("Tabelle", ("Region", "Anzahl"), (("Ruhr", 1234), ("Revier", "–"))))
    root = ET.fromstring(html)
    assert root.find("caption").text == "Tabelle"
    assert [th.get("scope") for th in root.iter("th")] == ["col", "col", "row", "row"]
    assert [td.text for td in root.iter("td")] == ["1.234", "–"]
    assert "Noch keine Daten." in table_html(DataTable("Leer", ("A", "B"), ()))
