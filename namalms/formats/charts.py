"""Accessible charts drawn as SVG on the server, with the data table that goes with each.

Pure Python: no Flask, no database. Callers hand in the figures; this module does the geometry.

Every chart is an ``<svg role="img">`` named by its ``<title>`` and ``<desc>`` through
``aria-labelledby``, scales with its ``viewBox``, writes each figure as a text label next to its
bar or point, and tells series apart by pattern (bars) or marker shape and dash (lines) as well as
by colour, so nothing depends on colour alone. The same figures come as a ``DataTable`` that the
page renders as a real ``<table>`` and the CSV download writes out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

__all__ = [
    "Bar", "BarGroup", "Chart", "DataTable", "Series",
    "bar_chart", "format_number", "funnel_chart", "horizontal_bar_chart", "line_chart",
    "axis_scale", "month_label", "month_sequence", "table_html",
]

WIDTH = 720
FONT = "DejaVu Sans, Segoe UI, system-ui, Arial, sans-serif"
INK = "#1f2328"
MUTED = "#57606a"
GRID = "#d0d7de"
# Colours with at least 3:1 contrast against white (WCAG 1.4.11), each paired with a pattern
# or a marker so that a series is recognisable without seeing colour.
STYLES = (
    ("#00594f", "solid", "circle", ""),
    ("#a34f00", "stripes", "square", "6 3"),
    ("#4f7d12", "dots", "triangle", "2 3"),
    ("#5b3a8c", "crosshatch", "diamond", "10 3 2 3"),
    ("#8a2a4a", "hlines", "circle", "1 2"),
    ("#1f5f8b", "vlines", "square", "8 2 2 2 2 2"),
)
MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
          "Oktober", "November", "Dezember")
MONTHS_SHORT = ("Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sep.", "Okt.", "Nov.", "Dez.")


# --- values --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DataTable:
    """The figures of a chart: a caption, column headings, rows whose first cell names the row."""

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple, ...]


@dataclass(frozen=True)
class Series:
    """One named line or set of bars, one value per category."""

    label: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: its value, the text written beside it and the style (series) index."""

    value: float
    text: str
    style: int = 0


@dataclass(frozen=True)
class BarGroup:
    """Bars under a common heading (a region, a module, …)."""

    label: str
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Chart:
    """A finished chart: its SVG markup and its figures."""

    id: str
    title: str
    description: str
    svg: str
    table: DataTable


# --- small helpers -------------------------------------------------------------------------------

def format_number(value: float | int | None, decimals: int | None = None, *, grouping: bool = True) -> str:
    """German number: 1.234 and 12,5; whole numbers without decimals unless asked for."""
    if value is None:
        return "–"
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 1
    text = f"{value:,.{decimals}f}" if grouping else f"{value:.{decimals}f}"
    return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


def axis_scale(value: float, *, steps: int = 4) -> tuple[int, list[int]]:
    """An axis from 0 to at least value in whole-number steps of 1, 2 or 5 × 10^k: (top, ticks).

    The charts count people, certificates and days, so an axis never shows "2,5".
    """
    raw = max(value, 1e-9) / steps
    exponent = math.floor(math.log10(raw))
    step = next(m * 10 ** exponent for m in (1, 2, 5, 10) if m * 10 ** exponent >= raw - 1e-12)
    step = max(int(round(step)), 1)
    count = max(math.ceil(value / step - 1e-9), 1)
    return step * count, [step * i for i in range(count + 1)]


def month_sequence(year: int, month: int, count: int) -> list[tuple[int, int]]:
    """The `count` months ending with (year, month), oldest first."""
    months = []
    for _ in range(count):
        months.append((year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]


def month_label(year: int, month: int, *, short: bool = False) -> str:
    """"März 2026", or "März 26" for an axis."""
    if short:
        return f"{MONTHS_SHORT[month - 1]} {year % 100:02d}"
    return f"{MONTHS[month - 1]} {year}"


def text_width(text: str, size: float) -> float:
    """Rough rendered width of a text in DejaVu Sans (a generous 0.62 em per character)."""
    return len(text) * size * 0.62


def _attrs(**attrs) -> str:
    return " ".join(f'{key.rstrip("_").replace("_", "-")}="{escape(str(value))}"'
                    for key, value in attrs.items() if value is not None)


def _text(x: float, y: float, content: str, *, size: float = 12, anchor: str = "start", fill: str = INK,
          weight: str | None = None, rotate: bool = False) -> str:
    transform = f"rotate(-90 {x:.1f} {y:.1f})" if rotate else None
    return (f"<text {_attrs(x=f'{x:.1f}', y=f'{y:.1f}', font_size=size, text_anchor=anchor, fill=fill, font_weight=weight, transform=transform)}>"
            f"{escape(content)}</text>")


def _style(index: int) -> tuple[str, str, str, str]:
    return STYLES[index % len(STYLES)]


def _pattern_defs(chart_id: str, count: int) -> str:
    """One fill per series: a plain colour or the colour overlaid with white stripes/dots."""
    defs = []
    for index in range(count):
        colour, kind, _, _ = _style(index)
        if kind == "solid":
            continue
        pid = f"{chart_id}-p{index}"
        if kind == "stripes":
            body = f'<rect width="8" height="8" fill="{colour}"/><rect width="3" height="8" fill="#fff" fill-opacity="0.6"/>'
            extra = ' patternTransform="rotate(45)"'
        elif kind == "dots":
            body = f'<rect width="8" height="8" fill="{colour}"/><circle cx="4" cy="4" r="1.7" fill="#fff" fill-opacity="0.75"/>'
            extra = ""
        elif kind == "crosshatch":
            body = (f'<rect width="8" height="8" fill="{colour}"/>'
                    '<path d="M0 0L8 8M8 0L0 8" stroke="#fff" stroke-opacity="0.6" stroke-width="1.3"/>')
            extra = ""
        elif kind == "hlines":
            body = f'<rect width="8" height="8" fill="{colour}"/><rect y="5" width="8" height="2" fill="#fff" fill-opacity="0.6"/>'
            extra = ""
        else:  # vlines
            body = f'<rect width="8" height="8" fill="{colour}"/><rect x="5" width="2" height="8" fill="#fff" fill-opacity="0.6"/>'
            extra = ""
        defs.append(f'<pattern id="{pid}" patternUnits="userSpaceOnUse" width="8" height="8"{extra}>{body}</pattern>')
    return f"<defs>{''.join(defs)}</defs>" if defs else ""


def _fill(chart_id: str, index: int) -> str:
    colour, kind, _, _ = _style(index)
    return colour if kind == "solid" else f"url(#{chart_id}-p{index % len(STYLES)})"


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}"/>'
    if shape == "triangle":
        return f'<path d="M{x:.1f} {y - 5:.1f}L{x + 5:.1f} {y + 4:.1f}L{x - 5:.1f} {y + 4:.1f}Z" fill="{colour}"/>'
    if shape == "diamond":
        return f'<path d="M{x:.1f} {y - 5.5:.1f}L{x + 5.5:.1f} {y:.1f}L{x:.1f} {y + 5.5:.1f}L{x - 5.5:.1f} {y:.1f}Z" fill="{colour}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{colour}"/>'


def _legend(chart_id: str, labels: list[str], *, top: float, line: bool = False) -> tuple[str, float]:
    """Swatches with labels, wrapped over as many rows as needed; returns (markup, height)."""
    if len(labels) < 2:
        return "", 0
    parts, x, y = [], 10.0, top
    for index, label in enumerate(labels):
        width = 22 + text_width(label, 12) + 18
        if x + width > WIDTH - 10 and x > 10:
            x, y = 10.0, y + 22
        colour, _, shape, dash = _style(index)
        if line:
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(f'<line x1="{x:.1f}" y1="{y + 8:.1f}" x2="{x + 18:.1f}" y2="{y + 8:.1f}" stroke="{colour}" '
                         f'stroke-width="2.5"{dash_attr}/>')
            parts.append(_marker(shape, x + 9, y + 8, colour))
        else:
            parts.append(f'<rect x="{x:.1f}" y="{y + 1:.1f}" width="16" height="14" fill="{_fill(chart_id, index)}" stroke="{colour}"/>')
        parts.append(_text(x + 22, y + 12.5, label))
        x += width
    return "<g>" + "".join(parts) + "</g>", y - top + 26


def _svg(chart_id: str, title: str, description: str, height: float, body: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {math.ceil(height)}" '
            f'aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}" font-family="{FONT}">'
            f'<title id="{chart_id}-title">{escape(title)}</title>'
            f'<desc id="{chart_id}-desc">{escape(description)}</desc>{body}</svg>')


def _empty(chart_id: str, title: str, description: str, table: DataTable) -> Chart:
    body = _text(WIDTH / 2, 45, "Noch keine Daten für diesen Zeitraum.", size=14, anchor="middle", fill=MUTED)
    return Chart(chart_id, title, description, _svg(chart_id, title, description, 80, body), table)


def _series_table(caption: str, first_column: str, categories: list[str], series: list[Series],
                  *, total: bool = True) -> DataTable:
    columns = (first_column, *(s.label for s in series)) + (("Summe",) if total and len(series) > 1 else ())
    rows = []
    for index, category in enumerate(categories):
        values = [s.values[index] for s in series]
        rows.append((category, *values) + ((sum(values),) if total and len(series) > 1 else ()))
    return DataTable(caption, columns, tuple(rows))


# --- vertical bars -------------------------------------------------------------------------------

def bar_chart(chart_id: str, title: str, description: str, categories: list[str], series: list[Series], *,
              axis_labels: list[str] | None = None, first_column: str = "") -> Chart:
    """Grouped vertical bars: one group per category (e.g. month), one bar per series (e.g. course).

    Each bar carries its value as text; values that would not fit across a narrow bar are
    written upright above it.
    """
    table = _series_table(title, first_column, categories, series)
    values = [v for s in series for v in s.values]
    if not values or max(values) <= 0:
        return _empty(chart_id, title, description, table)
    axis_labels = axis_labels or categories
    legend, legend_height = _legend(chart_id, [s.label for s in series], top=8)
    left, right = 46.0, 10.0
    top = 8 + legend_height + 12
    plot_height = 260.0
    bottom = top + plot_height
    headroom = 1.08
    plot_width = WIDTH - left - right
    group_width = plot_width / len(categories)
    bar_width = min(group_width * 0.8 / len(series), 48)
    label_width = max(text_width(format_number(v), 10) for v in values)
    upright = label_width > bar_width + 2
    if upright:  # room above the tallest bar for an upright label
        headroom = 1 + (label_width + 6) / plot_height
    top_value, ticks = axis_scale(max(values) * headroom)
    parts = [_pattern_defs(chart_id, len(series)), legend]
    for tick in ticks:
        y = bottom - tick / top_value * plot_height
        parts.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{WIDTH - right:.1f}" y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(_text(left - 6, y + 4, format_number(tick), size=11, anchor="end", fill=MUTED))
    for c_index, label in enumerate(axis_labels):
        group_x = left + c_index * group_width
        start = group_x + (group_width - bar_width * len(series)) / 2
        for s_index, s in enumerate(series):
            value = s.values[c_index]
            if value <= 0:
                continue
            height = value / top_value * plot_height
            x = start + s_index * bar_width
            colour = _style(s_index)[0]
            parts.append(f'<rect x="{x + 0.5:.1f}" y="{bottom - height:.1f}" width="{max(bar_width - 1, 1):.1f}" '
                         f'height="{height:.1f}" fill="{_fill(chart_id, s_index)}" stroke="{colour}"/>')
            if upright:
                parts.append(_text(x + bar_width / 2 + 3.5, bottom - height - 4, format_number(value), size=10,
                                   rotate=True))
            else:
                parts.append(_text(x + bar_width / 2, bottom - height - 4, format_number(value), size=10,
                                   anchor="middle"))
        parts.append(_text(group_x + group_width / 2, bottom + 16, label, size=11, anchor="middle"))
    parts.append(f'<line x1="{left:.1f}" y1="{bottom:.1f}" x2="{WIDTH - right:.1f}" y2="{bottom:.1f}" stroke="{INK}" stroke-width="1.2"/>')
    return Chart(chart_id, title, description, _svg(chart_id, title, description, bottom + 28, "".join(parts)), table)


# --- lines ---------------------------------------------------------------------------------------

def line_chart(chart_id: str, title: str, description: str, categories: list[str], series: list[Series], *,
               axis_labels: list[str] | None = None, first_column: str = "") -> Chart:
    """One line per series over the categories (e.g. months), each point labelled with its value.

    Lines differ by colour, dash pattern and marker shape. Labels of points that would overlap
    at the same category are pushed apart.
    """
    table = _series_table(title, first_column, categories, series)
    values = [v for s in series for v in s.values]
    if not values or max(values) <= 0:
        return _empty(chart_id, title, description, table)
    axis_labels = axis_labels or categories
    legend, legend_height = _legend(chart_id, [s.label for s in series], top=8, line=True)
    left, right = 46.0, 24.0
    top = 8 + legend_height + 22
    plot_height = 240.0
    bottom = top + plot_height
    top_value, ticks = axis_scale(max(values) * 1.1)
    plot_width = WIDTH - left - right
    step = plot_width / len(categories)

    def point(c_index: int, value: float) -> tuple[float, float]:
        return left + step * (c_index + 0.5), bottom - value / top_value * plot_height

    parts = [legend]
    for tick in ticks:
        y = bottom - tick / top_value * plot_height
        parts.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{WIDTH - right:.1f}" y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(_text(left - 6, y + 4, format_number(tick), size=11, anchor="end", fill=MUTED))
    for s_index, s in enumerate(series):
        colour, _, shape, dash = _style(s_index)
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, v) for i, v in enumerate(s.values)))
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"{dash_attr}/>')
        parts.extend(_marker(shape, *point(i, v), colour) for i, v in enumerate(s.values))
    for c_index, label in enumerate(axis_labels):
        labelled = sorted(((point(c_index, s.values[c_index])[1], s.values[c_index]) for s in series
                           if s.values[c_index] > 0), reverse=True)
        placed: list[float] = []
        seen_values: set = set()
        for y, value in labelled:
            if value in seen_values:  # the same figure at the same point: one label says it
                continue
            seen_values.add(value)
            label_y = y - 9
            if placed and placed[-1] - label_y < 12:
                label_y = placed[-1] - 12
            placed.append(label_y)
            parts.append(_text(point(c_index, value)[0], label_y, format_number(value), size=10, anchor="middle",
                               weight="bold"))
        parts.append(_text(left + step * (c_index + 0.5), bottom + 16, label, size=11, anchor="middle"))
    parts.append(f'<line x1="{left:.1f}" y1="{bottom:.1f}" x2="{WIDTH - right:.1f}" y2="{bottom:.1f}" stroke="{INK}" stroke-width="1.2"/>')
    return Chart(chart_id, title, description, _svg(chart_id, title, description, bottom + 28, "".join(parts)), table)


# --- horizontal bars -----------------------------------------------------------------------------

def horizontal_bar_chart(chart_id: str, title: str, description: str, groups: list[BarGroup], table: DataTable,
                         *, legend: list[str] | None = None) -> Chart:
    """Horizontal bars in headed groups, each bar with its own text (value and name).

    Group headings sit above their bars, so long names (module titles) need no truncation.
    Short texts follow the bar's end; long ones go on a line of their own above the bar, so
    the bars keep the width they need to be compared.
    """
    if not groups or not any(bar.value > 0 for group in groups for bar in group.bars):
        return _empty(chart_id, title, description, table)
    legend_markup, legend_height = _legend(chart_id, legend or [], top=8)
    styles = max(bar.style for group in groups for bar in group.bars) + 1
    parts = [_pattern_defs(chart_id, styles), legend_markup]
    left, bar_height, gap = 12.0, 15.0, 5.0
    label_room = max(text_width(bar.text, 11) for group in groups for bar in group.bars) + 12
    text_above = label_room > WIDTH * 0.4
    plot_width = WIDTH - left - 10 - (40 if text_above else label_room)
    top_value = max(bar.value for group in groups for bar in group.bars)
    y = 8 + legend_height + 8
    for group in groups:
        parts.append(_text(2, y + 13, group.label, size=12.5, weight="bold"))
        y += 20
        first_bar = y
        for bar in group.bars:
            colour = _style(bar.style)[0]
            width = bar.value / top_value * plot_width
            if text_above:
                parts.append(_text(left + 2, y + 11, bar.text, size=11))
                y += 15
            if width > 0:
                parts.append(f'<rect x="{left:.1f}" y="{y:.1f}" width="{max(width, 1.5):.1f}" height="{bar_height:.1f}" '
                             f'fill="{_fill(chart_id, bar.style)}" stroke="{colour}"/>')
            if not text_above:
                parts.append(_text(left + width + 6, y + bar_height - 3.5, bar.text, size=11))
            y += bar_height + gap if width > 0 or not text_above else gap
        parts.append(f'<line x1="{left:.1f}" y1="{first_bar - 2:.1f}" x2="{left:.1f}" y2="{y - gap + 2:.1f}" '
                     f'stroke="{INK}" stroke-width="1.2"/>')
        y += 10
    return Chart(chart_id, title, description, _svg(chart_id, title, description, y + 4, "".join(parts)), table)


def funnel_chart(chart_id: str, title: str, description: str, stages: list[str],
                 groups: list[tuple[str, list[float]]], *, first_column: str = "") -> Chart:
    """Per group (e.g. module) the counts through successive stages, each with its share of the first.

    Each bar is labelled with the stage name, the count and the percentage, so the stages are
    told apart by their words, not by colour.
    """
    rows = []
    bar_groups = []
    for label, counts in groups:
        base = counts[0] if counts else 0
        rows.append((label, *counts))
        bars = []
        for index, (stage, count) in enumerate(zip(stages, counts)):
            share = f" ({format_number(count * 100 / base, 0)} %)" if base and index else ""
            bars.append(Bar(count, f"{stage}: {format_number(count)}{share}", index))
        bar_groups.append(BarGroup(label, tuple(bars)))
    table = DataTable(title, (first_column, *stages), tuple(rows))
    return horizontal_bar_chart(chart_id, title, description, bar_groups, table)


# --- the table beside each chart -----------------------------------------------------------------

def table_html(table: DataTable, *, css_class: str = "chart-table") -> str:
    """The figures as a real table: caption, column headers, row headers, right-aligned numbers."""
    head = "".join(f'<th scope="col" class="num">{escape(c)}</th>' if i else f'<th scope="col">{escape(c)}</th>'
                   for i, c in enumerate(table.columns))
    body = []
    for row in table.rows:
        cells = [f'<th scope="row">{escape(str(row[0]))}</th>']
        for cell in row[1:]:
            cells.append(f"<td>{escape(cell)}</td>" if isinstance(cell, str)
                         else f'<td class="num">{escape(format_number(cell))}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(table.columns)}">Noch keine Daten.</td></tr>')
    return (f'<table class="{css_class}"><caption>{escape(table.caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")
