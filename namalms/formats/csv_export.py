"""Tables for German Excel: CSV (UTF-8 with BOM, semicolon, CRLF, DD.MM.YYYY) and XLSX.

Excel in a German locale reads a CSV file correctly only when it starts with a byte-order mark
(otherwise "Düren" arrives as "DÃ¼ren"), separates cells by semicolons (the comma is the
decimal separator) and finds dates as DD.MM.YYYY. A cell that starts with = + - @ or a
control character is read as a formula, so such text is prefixed with an apostrophe
(CSV/formula injection, OWASP). Both writers take a header and an iterator of rows of plain
values (str, int, date, datetime, None) and yield bytes, so a caller can stream 100,000 rows
without holding them in memory.

Pure Python (XlsxWriter is imported only when an XLSX file is written): no Flask, no database.
"""
from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime

from namalms.formatting import format_date, local_date

BOM = "\ufeff"
DELIMITER = ";"
LINE_END = "\r\n"
# Characters that make Excel (or LibreOffice) treat a cell as a formula or mangle it.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_CHUNK = 500
XLSX_CHUNK_BYTES = 64 * 1024
XLSX_DATE_FORMAT = "DD.MM.YYYY"
XLSX_MAX_CELL = 32767  # Excel's limit for the text of one cell

Value = str | int | float | date | datetime | None


def protect_formula(text: str) -> str:
    """Prefix text that Excel would run as a formula with an apostrophe, so it stays text."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def german_date(value: date | datetime | None) -> str:
    """DD.MM.YYYY, the format German Excel recognises as a date; empty for no date."""
    return "" if value is None else format_date(value)


def cell_text(value: Value) -> str:
    """One value as CSV cell text: dates German, numbers German, text protected against formulas."""
    if type(value) is str:  # by far the most common cell: checked first (100,000-row exports)
        return "'" + value if value.startswith(FORMULA_TRIGGERS) else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, (date, datetime)):
        return german_date(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.2f}".replace(".", ",")
    return protect_formula(str(value))


def csv_lines(rows: Iterable[Sequence[Value]]) -> str:
    """Rows as CSV text: semicolon-separated, CRLF line ends, quoted only where needed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=DELIMITER, lineterminator=LINE_END, quoting=csv.QUOTE_MINIMAL)
    for row in rows:
        writer.writerow([cell_text(value) for value in row])
    return buffer.getvalue()


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Value]], *,
               rows_per_chunk: int = ROWS_PER_CHUNK) -> Iterator[bytes]:
    """The whole file as UTF-8 byte chunks: BOM and header first, then `rows_per_chunk` rows at a time."""
    yield (BOM + csv_lines([header])).encode("utf-8")
    batch: list[Sequence[Value]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= rows_per_chunk:
            yield csv_lines(batch).encode("utf-8")
            batch = []
    if batch:
        yield csv_lines(batch).encode("utf-8")


def xlsx_chunks(header: Sequence[str], rows: Iterable[Sequence[Value]], *, sheet_name: str = "Tabelle1",
                column_widths: Sequence[int] | None = None, tmpdir: str | None = None) -> Iterator[bytes]:
    """An XLSX workbook with one sheet, as byte chunks.

    XlsxWriter's constant-memory mode writes each row to a temporary file as soon as the next
    one starts, so memory stays flat however many rows come; the finished workbook is then read
    back from a temporary file in chunks. Dates become real Excel dates shown as DD.MM.YYYY;
    text is written as text (never as a formula), so it needs no apostrophe.
    """
    import xlsxwriter

    with tempfile.TemporaryFile(dir=tmpdir) as output:
        workbook = xlsxwriter.Workbook(output, {
            "constant_memory": True, "tmpdir": tmpdir,
            "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
        })
        try:
            sheet = workbook.add_worksheet(sheet_name[:31])
            bold = workbook.add_format({"bold": True, "bg_color": "#E3F1EF", "bottom": 1})
            date_format = workbook.add_format({"num_format": XLSX_DATE_FORMAT})
            for column, width in enumerate(column_widths or []):
                sheet.set_column(column, column, width)
            for column, title in enumerate(header):
                sheet.write_string(0, column, str(title), bold)
            sheet.freeze_panes(1, 0)
            last_row = 0
            for last_row, row in enumerate(rows, start=1):
                for column, value in enumerate(row):
                    _write_xlsx_cell(sheet, last_row, column, value, date_format)
            if header:
                sheet.autofilter(0, 0, max(last_row, 1), len(header) - 1)
        finally:
            workbook.close()
        output.seek(0)
        while chunk := output.read(XLSX_CHUNK_BYTES):
            yield chunk


def _write_xlsx_cell(sheet, row: int, column: int, value: Value, date_format) -> None:
    if value is None or value == "":
        return
    if isinstance(value, bool):
        sheet.write_string(row, column, "ja" if value else "nein")
    elif isinstance(value, (date, datetime)):
        sheet.write_datetime(row, column, local_date(value), date_format)
    elif isinstance(value, (int, float)):
        sheet.write_number(row, column, value)
    else:
        sheet.write_string(row, column, str(value)[:XLSX_MAX_CELL])
