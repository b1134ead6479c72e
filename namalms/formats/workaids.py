"""Work aids (Vorlagen) as files practitioners open in Excel/LibreOffice Calc and Word/Writer.

- Excel: every Markdown table of the work aid becomes a worksheet named after the heading above
  it; a first sheet "Hinweise" carries the title, the summary and the instructions as text.
- Word: the sanitised HTML of the work aid (headings, paragraphs, lists, quotes, tables, bold and
  italic) becomes a .docx document with real Word tables to fill in.

Pure Python: no Flask, no database. XlsxWriter and python-docx are imported when a file is built.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

SHEET_NAME_MAX = 31  # Excel's limit
_FORBIDDEN_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
_SEPARATOR_ROW = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_INLINE_MARKUP = re.compile(r"\*\*(.+?)\*\*|\*(.+?)\*|`(.+?)`|\[([^\]]+)\]\([^)]*\)")


@dataclass
class Table:
    """A Markdown table: the heading it stands under, its header row and body rows (plain text)."""

    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)


def plain(text: str) -> str:
    """Markdown inline markup removed: **fett** → fett, [Text](/link) → Text, escaped \\* → *."""
    text = _INLINE_MARKUP.sub(lambda m: next(group for group in m.groups() if group is not None), text)
    return text.replace("\\*", "*").replace("\\|", "|").strip()


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [plain(cell) for cell in re.split(r"(?<!\\)\|", line)]


def markdown_tables(body: str) -> list[Table]:
    """The pipe tables of a Markdown text, each with the nearest heading above it as title."""
    tables: list[Table] = []
    heading = "Tabelle"
    lines = body.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#"):
            heading = plain(line.lstrip("#"))
        if "|" in line and index + 1 < len(lines) and _SEPARATOR_ROW.match(lines[index + 1]):
            table = Table(heading, _cells(line))
            index += 2
            while index < len(lines) and "|" in lines[index] and lines[index].strip():
                row = _cells(lines[index])
                table.rows.append((row + [""] * len(table.header))[:len(table.header)])
                index += 1
            tables.append(table)
            continue
        index += 1
    return tables


def _sheet_names(tables: list[Table]) -> list[str]:
    names, used = [], {"hinweise"}
    for table in tables:
        base = " ".join(_FORBIDDEN_IN_SHEET_NAME.sub(" ", table.title).split()).strip("'") or "Tabelle"
        name, number = base[:SHEET_NAME_MAX], 2
        while name.lower() in used:
            suffix = f" ({number})"
            name, number = base[:SHEET_NAME_MAX - len(suffix)] + suffix, number + 1
        used.add(name.lower())
        names.append(name)
    return names


def workaid_xlsx(title: str, summary: str, body: str, *, source_url: str = "") -> bytes:
    """The work aid as an Excel workbook: a sheet "Hinweise", then one sheet per table."""
    import xlsxwriter

    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {"in_memory": True})
    workbook.set_properties({"title": title, "subject": summary, "author": "NaMa NRW", "company": "LAG 21 NRW"})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    bold = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#E3EEEC",
                                "border": 1})
    cell = workbook.add_format({"text_wrap": True, "valign": "top", "border": 1})
    heading = workbook.add_format({"bold": True, "font_size": 14})
    notes = workbook.add_worksheet("Hinweise")
    notes.set_column(0, 0, 110, wrap)
    notes.write(0, 0, title, heading)
    row = 1
    if summary:
        notes.write(row, 0, summary)
        row += 1
    text_lines = [plain(line.lstrip("#>-0123456789. ")) for line in body.split("\n")
                  if line.strip() and "|" not in line]
    for line in text_lines:
        row += 1
        notes.write(row, 0, line)
    if source_url:
        notes.write(row + 2, 0, f"Quelle: {source_url}")
    tables = markdown_tables(body)
    for table, name in zip(tables, _sheet_names(tables)):
        sheet = workbook.add_worksheet(name)
        for column, text in enumerate(table.header):
            width = max([len(text)] + [len(r[column]) for r in table.rows if column < len(r)])
            sheet.set_column(column, column, min(max(width * 0.9, 14), 60))
            sheet.write(0, column, text, bold)
        for number, values in enumerate(table.rows, start=1):
            for column, text in enumerate(values):
                sheet.write_string(number, column, text, cell)
        # Room to fill in: ten empty bordered rows below the given ones.
        for number in range(len(table.rows) + 1, len(table.rows) + 11):
            for column in range(len(table.header)):
                sheet.write_blank(number, column, None, cell)
        sheet.freeze_panes(1, 0)
    workbook.close()
    return output.getvalue()


# --- Word ------------------------------------------------------------------------------------------------

class _HtmlToDocx(HTMLParser):
    """Walks the sanitised HTML of a work aid and writes it into a python-docx document."""

    def __init__(self, document) -> None:
        super().__init__(convert_charrefs=True)
        self.document = document
        self.paragraph = None
        self.bold = self.italic = 0
        self.lists: list[str] = []
        self.quote = False
        self.table_rows: list[list[tuple[str, bool]]] | None = None
        self.cell: list[str] | None = None
        self.cell_is_header = False

    def handle_starttag(self, tag, attrs):
        if tag in ("h2", "h3", "h4"):
            self.paragraph = self.document.add_heading(level={"h2": 1, "h3": 2, "h4": 3}[tag])
        elif tag == "p" and self.cell is None:
            self.paragraph = self.document.add_paragraph(style="Quote" if self.quote else None)
        elif tag in ("ul", "ol"):
            self.lists.append(tag)
        elif tag == "li":
            style = "List Number" if self.lists and self.lists[-1] == "ol" else "List Bullet"
            self.paragraph = self.document.add_paragraph(style=style)
        elif tag == "blockquote":
            self.quote = True
        elif tag in ("strong", "b"):
            self.bold += 1
        elif tag in ("em", "i"):
            self.italic += 1
        elif tag == "table":
            self.table_rows = []
        elif tag == "tr" and self.table_rows is not None:
            self.table_rows.append([])
        elif tag in ("td", "th") and self.table_rows is not None:
            self.cell, self.cell_is_header = [], tag == "th"
        elif tag == "br" and self.paragraph is not None:
            self.paragraph.add_run().add_break()

    def handle_endtag(self, tag):
        if tag in ("h2", "h3", "h4", "p", "li"):
            self.paragraph = None
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif tag == "blockquote":
            self.quote = False
        elif tag in ("strong", "b"):
            self.bold = max(0, self.bold - 1)
        elif tag in ("em", "i"):
            self.italic = max(0, self.italic - 1)
        elif tag in ("td", "th") and self.cell is not None and self.table_rows:
            self.table_rows[-1].append((" ".join("".join(self.cell).split()), self.cell_is_header))
            self.cell = None
        elif tag == "table" and self.table_rows is not None:
            self._write_table(self.table_rows)
            self.table_rows = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)
            return
        if not data.strip() and self.paragraph is None:
            return
        if self.paragraph is None:
            self.paragraph = self.document.add_paragraph()
        run = self.paragraph.add_run(data)
        run.bold = bool(self.bold) or None
        run.italic = bool(self.italic) or None

    def _write_table(self, rows: list[list[tuple[str, bool]]]) -> None:
        rows = [row for row in rows if row]
        if not rows:
            return
        columns = max(len(row) for row in rows)
        table = self.document.add_table(rows=len(rows) + 3, cols=columns)
        table.style = "Table Grid"
        for r, row in enumerate(rows):
            for c, (text, is_header) in enumerate(row):
                paragraph = table.cell(r, c).paragraphs[0]
                run = paragraph.add_run(text)
                run.bold = is_header or None
        self.document.add_paragraph()


def workaid_docx(title: str, summary: str, html: str, *, source_url: str = "") -> bytes:
    """The work aid as a Word document, with its tables as Word tables (plus empty rows to fill)."""
    import docx
    from docx.shared import Pt

    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.author = "NaMa NRW – LAG 21 NRW"
    document.styles["Normal"].font.size = Pt(10.5)
    document.add_heading(title, level=0)
    if summary:
        document.add_paragraph(summary).runs[0].italic = True
    _HtmlToDocx(document).feed(html)
    if source_url:
        document.add_paragraph(f"Quelle: {source_url}").runs[0].italic = True
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()
