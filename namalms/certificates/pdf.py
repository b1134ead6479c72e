"""The certificate as a PDF: A4 portrait, fit for an office wall and a personnel file.

The PDF shows the frozen snapshot and nothing else. Whether a certificate was later revoked or
superseded is *not* printed (a printout cannot change when the status does); the QR code leads
to the public verification page, which shows the current status.

Layout (mm, A4 = 210 × 297): a teal band with a thin green stripe along the left edge; the
programme and issuer as a small letterhead; a large title; the holder's name large with the
municipality below; the statement; the completed modules as a table with hours and dates;
workshops and earlier certificates as a short labelled list; and at the foot of the last page
place and date, the signatory, the certificate number and a QR code with the verification
address. Up to about nine modules fit on one page (tighter spacing is tried before a second
page); a longer table continues on the next page under a repeated header, taking at least its
last two rows along so the signature block never stands alone.

Pure Python: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import segno
from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos

from namalms.certificates.document import CertificateView, certificate_view
from namalms.certificates.fonts import FontFamily, find_font_family

__all__ = ["render_certificate_pdf"]

# Colours of the NaMa NRW identity: teal as the main accent, green sparingly.
TEAL = (0, 89, 79)
GREEN = (122, 185, 41)
INK = (34, 38, 41)
MUTED = (98, 108, 112)
RULE = (200, 210, 207)
TINT = (238, 245, 243)  # a very light teal for the table header
STAMP_RED = (190, 30, 45)

PAGE_WIDTH = 210.0
PAGE_HEIGHT = 297.0
BAND_WIDTH = 9.0
STRIPE_WIDTH = 1.6
LEFT = 32.0
RIGHT = 188.0
CONTENT_WIDTH = RIGHT - LEFT
TOP = 25.0
CONTENT_BOTTOM = 274.0  # below: the footer line of multi-page certificates
FOOTER_Y = 282.0

FONT = "CertSans"
PT = 25.4 / 72  # one typographic point in mm

QR_SIZE = 30.0
CLOSING_HEIGHT = 45.0  # the place/date, signatory, number and QR block at the foot
CLOSING_GAP = 4.0  # at least this much space above it
FURTHER_GAP = 5.0  # between the module table and the workshops list


@dataclass(frozen=True)
class _Column:
    label: str
    width: float
    align: str  # "L" or "R"


# The module table: (label, alignment); widths are measured in the font actually used.
MODULE_COLUMNS = (("Nr.", "L"), ("Modul", "L"), ("Umfang", "R"), ("Abgeschlossen am", "R"))
WIDE_COLUMN = 1  # the module title takes the width the others leave
HEADER_TEXT_SIZE = 8.5
FURTHER_LABEL_WIDTH = 44.0
FURTHER_TEXT_SIZE = 9.5
FURTHER_LINE_HEIGHT = 5.2

CELL_PADDING = 1.8  # left/right inside table cells
ROW_TEXT_SIZE = 9.5
ROW_LINE_HEIGHT = 4.6


@dataclass(frozen=True)
class _Density:
    """The vertical spacing that may shrink to keep a certificate on one page."""

    row_padding: float  # above and below the text of a table row
    title_gap: float  # between the title and "Hiermit wird bescheinigt"
    section_gap: float  # above a section heading


REGULAR = _Density(row_padding=1.8, title_gap=8.0, section_gap=7.0)
COMPACT = _Density(row_padding=1.1, title_gap=6.0, section_gap=5.0)


def _join(separator: str, *parts: str) -> str:
    """The non-empty parts joined: a missing holder name must not leave a dangling " · "."""
    return separator.join(part for part in parts if part)


def render_certificate_pdf(snapshot: Mapping[str, Any], *, stamp: Stamp | None = None) -> bytes:
    """The PDF of a certificate snapshot, as bytes ready to send or store.

    ``stamp`` marks a certificate that is no longer valid (revoked or replaced) across every
    page, so a printout can never pass for a valid certificate. Rendering is deterministic: the
    same snapshot and stamp give the same bytes (the PDF's creation date is the issue date, not
    "now"), so a PDF can be cached and compared. Raises ``RuntimeError`` when no Unicode font is
    installed (see ``fonts.find_font_family``).
    """
    view = certificate_view(snapshot)
    fonts = find_font_family()
    # A certificate that fits on one page belongs on one page (it hangs on a wall): when the
    # regular spacing needs a second page, try tighter spacing before accepting two.
    first = _CertificatePdf(view, fonts, REGULAR, stamp)
    first.render()
    if first.pages_count > 1:
        compact = _CertificatePdf(view, fonts, COMPACT, stamp)
        compact.render()
        if compact.pages_count == 1:
            return bytes(compact.output())
    return bytes(first.output())


@dataclass(frozen=True)
class Stamp:
    """The mark across an invalid certificate: a word ("WIDERRUFEN") and a line saying when and why."""

    word: str
    detail: str


class _CertificatePdf(FPDF):
    """fpdf2 document that knows the certificate's page furniture (band, headers, footers)."""

    def __init__(self, view: CertificateView, fonts: FontFamily, density: _Density,
                 stamp: Stamp | None = None) -> None:
        self.stamp = stamp
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.view = view
        self.density = density
        self.set_margins(LEFT, TOP, PAGE_WIDTH - RIGHT)
        # Page breaks are decided here, row by row, so a table row is never split and every
        # continuation page gets its header.
        self.set_auto_page_break(False)
        self.c_margin = 0
        self.number_label = f"Zertifikat-Nr. {view.number}" if view.number else ""
        self.add_font(FONT, "", str(fonts.regular))
        self.add_font(FONT, "B", str(fonts.bold))
        self.add_font(FONT, "I", str(fonts.italic))
        self._set_metadata()

    # ---------------------------------------------------------------- furniture

    def header(self) -> None:
        """Drawn by fpdf2 on every new page: the coloured band along the left edge."""
        self.set_fill_color(*TEAL)
        self.rect(0, 0, BAND_WIDTH, PAGE_HEIGHT, style="F")
        self.set_fill_color(*GREEN)
        self.rect(BAND_WIDTH, 0, STRIPE_WIDTH, PAGE_HEIGHT, style="F")

    def _set_metadata(self) -> None:
        view = self.view
        self.set_title(view.title or "Zertifikat")
        self.set_author(view.issuer_name or view.programme)
        self.set_subject(_join(" – ", view.holder_name, self.number_label))
        self.set_keywords(_join(" ", "Zertifikat", view.number, view.programme))
        self.set_creator("namalms")
        self.set_lang("de-DE")
        if view.issued_at is not None:
            self.set_creation_date(view.issued_at)

    def _footers(self) -> None:
        """Number the pages of a multi-page certificate, so a loose second page is traceable."""
        total = self.pages_count
        if total < 2:
            return
        left = _join(" · ", self.number_label, self.view.holder_name)
        for number in range(1, total + 1):
            self.page = number
            self._style("", 8, MUTED)
            self.set_xy(LEFT, FOOTER_Y)
            self.cell(CONTENT_WIDTH * 0.75, 4, left)
            self.set_xy(LEFT, FOOTER_Y)
            self.cell(CONTENT_WIDTH, 4, f"Seite {number} von {total}", align="R")
        self.page = total

    # ---------------------------------------------------------------- helpers

    def _style(self, style: str, size: float, color: tuple[int, int, int]) -> None:
        self.set_font(FONT, style, size)
        self.set_text_color(*color)

    def _paragraph(
        self, text: str, size: float, *, style: str = "", color: tuple[int, int, int] = INK,
        leading: float = 1.3, width: float = CONTENT_WIDTH, x: float = LEFT,
    ) -> None:
        """A left-aligned block of text at the cursor; the cursor ends below it."""
        if not text:
            return
        self._style(style, size, color)
        self.set_x(x)
        line_height = size * PT * leading
        self.multi_cell(width, line_height, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def _lines(self, text: str, width: float) -> list[str]:
        return self.multi_cell(width, ROW_LINE_HEIGHT, text, align="L", dry_run=True, output="LINES")

    def _rule(self, y: float, color: tuple[int, int, int] = RULE, width: float = 0.25) -> None:
        self.set_draw_color(*color)
        self.set_line_width(width)
        self.line(LEFT, y, RIGHT, y)

    # ---------------------------------------------------------------- the document

    def render(self) -> None:
        """Lay out all pages."""
        self.add_page()
        self._letterhead()
        self._title_and_holder()
        self._evidence()
        self._closing()
        self._footers()
        self._stamps()

    def _letterhead(self) -> None:
        view = self.view
        self.set_y(TOP)
        self._paragraph(view.programme, 10, style="B", color=TEAL, leading=1.35)
        self._paragraph(view.issuer_name, 9, color=MUTED, leading=1.35)
        if view.partners:
            self._paragraph(view.partners, 8, color=MUTED, leading=1.3)

    def _stamps(self) -> None:
        """A red stamp across every page of a revoked or replaced certificate."""
        if self.stamp is None:
            return
        for number in range(1, self.pages_count + 1):
            self.page = number
            with self.local_context(fill_opacity=0.9, stroke_opacity=0.9):
                with self.rotation(angle=28, x=PAGE_WIDTH / 2, y=PAGE_HEIGHT / 2):
                    self.set_draw_color(*STAMP_RED)
                    self.set_line_width(1.6)
                    width, height = 150.0, 34.0
                    x, y = (PAGE_WIDTH - width) / 2, (PAGE_HEIGHT - height) / 2
                    self.rect(x, y, width, height)
                    self._style("B", 40, STAMP_RED)
                    self.set_xy(x, y + 4)
                    self.cell(width, 17, self.stamp.word, align="C")
                    self._style("", 9.5, STAMP_RED)
                    self.set_xy(x + 4, y + 22)
                    self.multi_cell(width - 8, 4.2, self.stamp.detail, align="C")
        self.page = self.pages_count

    def _title_and_holder(self) -> None:
        view = self.view
        self.set_y(max(self.get_y() + 10, 44))
        self.set_fill_color(*GREEN)
        self.rect(LEFT, self.get_y(), 22, 1.3, style="F")
        self.ln(5.5)
        self._paragraph(view.title or "Zertifikat", 24, style="B", color=TEAL, leading=1.18)
        self.ln(self.density.title_gap)
        self._paragraph("Hiermit wird bescheinigt, dass", 11, color=MUTED)
        self.ln(2.5)
        self._paragraph(view.holder_name, 23, style="B", color=INK, leading=1.2)
        if view.municipality:
            self.ln(0.5)
            self._paragraph(view.municipality, 12, color=MUTED)
        self.ln(4)
        self._paragraph(view.statement, 11.5, color=INK, leading=1.4)

    def _evidence(self) -> None:
        view = self.view
        if view.modules:
            rows = [
                (f"{index}.", line.title, line.hours, line.completed_on)
                for index, line in enumerate(view.modules, 1)
            ]
            total = ("", "Gesamt", view.total_hours, "")
            columns = self._fit_columns(MODULE_COLUMNS, [*rows, total])
            # What follows the table; it must not end up alone on a page of its own.
            tail = self._further_evidence_height() + CLOSING_GAP + CLOSING_HEIGHT
            self._table("Abgeschlossene Module", columns, rows, total=total, tail=tail)
        self._further_evidence()

    def _further_entries(self) -> list[tuple[str, str]]:
        """(label, text) lines for workshops and earlier certificates; the label only once."""
        view = self.view
        entries: list[tuple[str, str]] = []
        for index, workshop in enumerate(view.workshops):
            label = "Besuchte Workshops" if index == 0 else ""
            entries.append((label, f"{workshop.title} ({workshop.attended_on})"))
        for index, prior in enumerate(view.prior_certificates):
            label = "Angerechnete Zertifikate" if index == 0 else ""
            text = _join(" – ", prior.title, f"Nr. {prior.number}" if prior.number else "")
            entries.append((label, text or "–"))
        return entries

    def _further_evidence_height(self) -> float:
        entries = self._further_entries()
        if not entries:
            return 0.0
        self._style("", FURTHER_TEXT_SIZE, INK)
        value_width = CONTENT_WIDTH - FURTHER_LABEL_WIDTH
        lines = sum(len(self._lines(text, value_width)) for _, text in entries)
        return FURTHER_GAP + lines * FURTHER_LINE_HEIGHT

    def _further_evidence(self) -> None:
        """Workshops and earlier certificates as a compact labelled list under the table.

        Usually one or two lines each, so a full table with column headers would waste the
        space the single-page layout needs.
        """
        entries = self._further_entries()
        if not entries:
            return
        height = self._further_evidence_height()
        value_width = CONTENT_WIDTH - FURTHER_LABEL_WIDTH
        # The list is short: keep it together rather than leave one line alone on a new page.
        if self.get_y() + height > CONTENT_BOTTOM:
            self._continuation_page()
        else:
            self.ln(FURTHER_GAP)
        for label, text in entries:
            y = self.get_y()
            if label:
                self._style("B", 8.5, TEAL)
                self.set_xy(LEFT, y + 0.4)
                self.cell(FURTHER_LABEL_WIDTH, FURTHER_LINE_HEIGHT - 0.4, label)
            self._style("", FURTHER_TEXT_SIZE, INK)
            self.set_xy(LEFT + FURTHER_LABEL_WIDTH, y)
            self.multi_cell(
                value_width, FURTHER_LINE_HEIGHT, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )

    # ---------------------------------------------------------------- tables

    def _fit_columns(
        self, spec: Sequence[tuple[str, str]], rows: Sequence[Sequence[str]]
    ) -> tuple[_Column, ...]:
        """Columns as wide as their widest entry (label or cell); the wide column gets the rest.

        Measured rather than fixed, so the header never wraps, whichever font was found.
        """
        widths = []
        for index, (label, _) in enumerate(spec):
            self._style("B", HEADER_TEXT_SIZE, TEAL)
            widest = self.get_string_width(label)
            self._style("B", ROW_TEXT_SIZE, INK)  # bold: the widest a cell can be (total row)
            widest = max([widest, *(self.get_string_width(row[index]) for row in rows)])
            widths.append(widest + 2 * CELL_PADDING + 0.5)
        others = sum(width for index, width in enumerate(widths) if index != WIDE_COLUMN)
        widths[WIDE_COLUMN] = CONTENT_WIDTH - others
        return tuple(_Column(label, width, align) for (label, align), width in zip(spec, widths))

    def _row_height(self, columns: Sequence[_Column], cells: Sequence[str], style: str = "") -> float:
        self._style(style, ROW_TEXT_SIZE, INK)
        lines = max(
            len(self._lines(text, column.width - CELL_PADDING)) for column, text in zip(columns, cells)
        )
        return max(lines, 1) * ROW_LINE_HEIGHT + 2 * self.density.row_padding

    def _table(
        self, heading: str, columns: Sequence[_Column], rows: Sequence[Sequence[str]],
        total: Sequence[str] | None = None, tail: float = 0.0,
    ) -> None:
        """A section heading and a table whose rows continue on a new page when needed.

        ``tail`` is the height of what follows the table. Should the table end on this page
        but the tail not fit below it, the last two rows move to the next page too, so that
        page does not hold the signature block alone.
        """
        header_height = 7.0
        first_row = self._row_height(columns, rows[0]) if rows else 0
        # Keep the heading with its column header and first row.
        self.ln(self.density.section_gap)
        if self.get_y() + 8 + header_height + first_row > CONTENT_BOTTOM:
            self._continuation_page()
        self._section_heading(heading)
        self._table_header(columns, header_height)
        total_height = self._row_height(columns, total, "B") if total is not None else 0.0
        heights = [self._row_height(columns, cells) for cells in rows]
        rows_on_page = 0
        for index, (cells, height) in enumerate(zip(rows, heights)):
            is_last = index == len(rows) - 1
            # The last row keeps the total company, so "Gesamt" never stands alone.
            needed = height + (total_height if is_last else 0.0)
            must_break = self.get_y() + needed > CONTENT_BOTTOM
            if index == len(rows) - 2 and rows_on_page > 0 and not must_break:
                rest = sum(heights[index:]) + total_height
                must_break = self.get_y() + rest <= CONTENT_BOTTOM < self.get_y() + rest + tail
            if must_break:
                self._continuation_page()
                self._section_heading(f"{heading} (Fortsetzung)")
                self._table_header(columns, header_height)
                rows_on_page = 0
            self._table_row(columns, cells, height, last=is_last and total is None)
            rows_on_page += 1
        if total is not None:
            self._table_row(columns, total, total_height, style="B", last=True)

    def _section_heading(self, text: str) -> None:
        self._style("B", 11, TEAL)
        self.set_x(LEFT)
        self.cell(CONTENT_WIDTH, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)

    def _table_header(self, columns: Sequence[_Column], height: float) -> None:
        y = self.get_y()
        self.set_fill_color(*TINT)
        self.rect(LEFT, y, CONTENT_WIDTH, height, style="F")
        self._style("B", HEADER_TEXT_SIZE, TEAL)
        x = LEFT
        for column in columns:
            self._cell_text(x, y + (height - 4) / 2, column, column.label, 4)
            x += column.width
        self._rule(y + height, TEAL, 0.35)
        self.set_y(y + height)

    def _table_row(
        self, columns: Sequence[_Column], cells: Sequence[str], height: float, *,
        style: str = "", last: bool = False,
    ) -> None:
        y = self.get_y()
        x = LEFT
        for column, text in zip(columns, cells):
            color = MUTED if column is columns[0] else INK
            self._style(style, ROW_TEXT_SIZE, color)
            self._cell_text(x, y + self.density.row_padding, column, text, ROW_LINE_HEIGHT)
            x += column.width
        if last:
            self._rule(y + height, TEAL, 0.35)
        else:
            self._rule(y + height)
        self.set_y(y + height)

    def _cell_text(self, x: float, y: float, column: _Column, text: str, line_height: float) -> None:
        """Text inside one table cell, with padding on the side it is aligned to."""
        inner = column.width - CELL_PADDING
        start = x + CELL_PADDING if column.align == "L" else x
        self.set_xy(start, y)
        self.multi_cell(
            inner, line_height, text, align=column.align, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

    def _continuation_page(self) -> None:
        """A new page that says whose certificate it continues."""
        view = self.view
        self.add_page()
        self.set_y(TOP)
        self._paragraph(view.title or "Zertifikat", 11, style="B", color=TEAL)
        self._paragraph(_join(" · ", view.holder_name, self.number_label), 9, color=MUTED)
        self.ln(3)
        self._rule(self.get_y())
        self.ln(4)

    # ---------------------------------------------------------------- closing block

    def _closing(self) -> None:
        """Place, date, signatory, number and QR code, anchored to the foot of the last page."""
        top = CONTENT_BOTTOM - CLOSING_HEIGHT
        if self.get_y() + CLOSING_GAP > top:
            self._continuation_page()
        view = self.view
        self._rule(top)
        left_width = CONTENT_WIDTH - QR_SIZE - 12

        self.set_y(top + 7)
        self._paragraph(view.place_and_date, 11, color=INK, width=left_width)
        self.ln(5)
        self._paragraph(view.signatory, 11, style="B", color=INK, width=left_width)
        self._paragraph(view.issuer_name, 9, color=MUTED, width=left_width, leading=1.35)
        self.ln(4)
        if view.number:
            self._style("", 9, MUTED)
            self.set_x(LEFT)
            label = "Zertifikat-Nr. "
            self.cell(self.get_string_width(label), 5, label)
            self._style("B", 9, INK)
            rest = left_width - self.get_string_width(label)
            self.cell(rest, 5, view.number, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        note = "Maschinell erstellt und ohne Unterschrift gültig."
        if view.verify_url:
            note += " Die Echtheit lässt sich über den QR-Code prüfen."
        self._paragraph(note, 8, style="I", color=MUTED, width=left_width)
        left_bottom = self.get_y()

        if view.verify_url:
            qr_x = RIGHT - QR_SIZE
            qr_y = top + 7
            _draw_qr(self, view.verify_url, qr_x, qr_y, QR_SIZE)
            self.link(qr_x, qr_y, QR_SIZE, QR_SIZE, view.verify_url)
            self._style("", 7.5, MUTED)
            # Below the QR code, and below the left column should a wide font make it long.
            self.set_xy(LEFT, max(qr_y + QR_SIZE + 3, left_bottom + 1.5))
            # One line under the QR code; only an absurdly long address is wrapped (anywhere,
            # since URLs have no spaces) instead of running off the page.
            self.multi_cell(
                CONTENT_WIDTH, 3.4, f"Echtheit prüfen: {view.verify_url}", align="R",
                link=view.verify_url, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT,
            )


def _draw_qr(pdf: FPDF, url: str, x: float, y: float, size: float) -> None:
    """The QR code as filled vector rectangles (sharp at any print size, no image needed)."""
    code = segno.make(url, error="m", micro=False)
    rows = list(code.matrix_iter(scale=1, border=0))
    module = size / len(rows)
    # Each run of dark modules in a row is one rectangle, slightly taller than a module, so
    # viewers that anti-alias do not show hairlines between rows.
    pdf.set_fill_color(*INK)
    for row_index, row in enumerate(rows):
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            left, top = x + start * module, y + row_index * module
            pdf.rect(left, top, (column - start) * module, module + 0.02, style="F")
