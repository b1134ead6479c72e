"""Exports for German Excel: BOM, semicolons, CRLF, DD.MM.YYYY, no formula injection, XLSX."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime, timedelta, timezone

import pytest

from namalms.formats.csv_export import (
    BOM, cell_text, csv_chunks, csv_lines, german_date, protect_formula, xlsx_chunks,
)

UTC = timezone.utc


@pytest.mark.parametrize("text, expected", [
    ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
    ("+49 201 123", "'+49 201 123"),
    ("-2+3", "'-2+3"),
    ("@SUM(1)", "'@SUM(1)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ('=HYPERLINK("http://evil.example","Klick")', '\'=HYPERLINK("http://evil.example","Klick")'),
    ("Anna Müller", "Anna Müller"),
    ("Köln = Rhein", "Köln = Rhein"),  # only a leading trigger makes a formula
    ("NAMA-2026-00012", "NAMA-2026-00012"),
    ("", ""),
])
def test_cells_that_excel_would_run_as_formulas_get_an_apostrophe(text, expected):
    assert protect_formula(text) == expected


@pytest.mark.parametrize("value, expected", [
    (date(2026, 3, 5), "05.03.2026"),
    (datetime(2026, 3, 5, 10, 0, tzinfo=UTC), "05.03.2026"),
    # 23:30 UTC on 31 December is already New Year's Day in Germany (winter time, UTC+1).
    (datetime(2025, 12, 31, 23, 30, tzinfo=UTC), "01.01.2026"),
    # 22:30 UTC in July is 00:30 the next day (summer time, UTC+2).
    (datetime(2026, 7, 14, 22, 30, tzinfo=UTC), "15.07.2026"),
    (datetime(2026, 7, 14, 21, 59, tzinfo=UTC), "14.07.2026"),
    (datetime(2026, 7, 14, 23, 0), "15.07.2026"),  # a naive value counts as UTC, as the app stores times
    (None, ""),
])
def test_dates_are_german_calendar_days(value, expected):
    assert german_date(value) == expected


@pytest.mark.parametrize("value, expected", [
    (None, ""),
    (0, "0"),
    (42, "42"),
    (2.5, "2,50"),
    (True, "ja"),
    (False, "nein"),
    (date(2026, 11, 22), "22.11.2026"),
    ("Düsseldorf", "Düsseldorf"),
    ("=1+1", "'=1+1"),
])
def test_cell_text_formats_each_kind_of_value(value, expected):
    assert cell_text(value) == expected


def test_lines_use_semicolons_crlf_and_quote_only_where_needed():
    text = csv_lines([["a;b", 'sagt "hallo"', "zwei\nZeilen", "schlicht", 7]])
    assert text == '"a;b";"sagt ""hallo""";"zwei\nZeilen";schlicht;7\r\n'


def test_a_file_starts_with_exactly_one_bom_and_reads_back_as_written():
    header = ["Name", "Kommune", "Eingeschrieben am", "Anzahl"]
    rows = [["Jürgen Weiß", "Städteregion Aachen", date(2026, 2, 1), 3],
            ["=cmd|' /C calc'!A0", "Köln; Innenstadt", None, 0]]
    data = b"".join(csv_chunks(header, rows))
    assert data.startswith(BOM.encode("utf-8"))
    assert data.count(BOM.encode("utf-8")) == 1
    text = data.decode("utf-8-sig")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    read = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert read == [
        header,
        ["Jürgen Weiß", "Städteregion Aachen", "01.02.2026", "3"],
        ["'=cmd|' /C calc'!A0", "Köln; Innenstadt", "", "0"],
    ]


def test_rows_are_streamed_in_chunks_without_collecting_them_first():
    produced = []

    def rows():
        for number in range(1200):
            produced.append(number)
            yield [f"Person {number}", number]

    chunks = csv_chunks(["Name", "Nr."], rows(), rows_per_chunk=500)
    assert next(chunks).decode("utf-8-sig") == "Name;Nr.\r\n"
    assert produced == []  # nothing read before the header went out
    first = next(chunks)
    assert len(produced) == 500 and first.count(b"\r\n") == 500
    rest = list(chunks)
    assert [chunk.count(b"\r\n") for chunk in rest] == [500, 200]


def test_an_empty_list_still_has_its_header():
    assert b"".join(csv_chunks(["Name"], [])) == BOM.encode("utf-8") + b"Name\r\n"


def _sheet(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "xl/workbook.xml" in archive.namelist()
        return archive.read("xl/worksheets/sheet1.xml").decode("utf-8")


def test_xlsx_holds_text_as_text_numbers_as_numbers_and_dates_as_dates():
    header = ["Name", "Anzahl", "Eingeschrieben am"]
    rows = [["=1+1", 4, datetime(2025, 12, 31, 23, 30, tzinfo=UTC)], ["Jürgen Weiß", None, date(2026, 2, 1)]]
    data = b"".join(xlsx_chunks(header, rows, sheet_name="Zertifizierungsstand"))
    assert data[:2] == b"PK"
    sheet = _sheet(data)
    assert "<f>" not in sheet  # "=1+1" is never written as a formula
    assert "=1+1" in sheet and "Jürgen Weiß" in sheet
    assert re.search(r'<c r="B2"[^>]*><v>4</v></c>', sheet)
    # Dates are serial numbers in Excel: 01.01.2026 (Berlin) is day 46023, 01.02.2026 is 46054.
    assert re.search(r'<c r="C2" s="\d+"><v>46023</v></c>', sheet)
    assert re.search(r'<c r="C3" s="\d+"><v>46054</v></c>', sheet)
    assert '<c r="B3"' not in sheet  # no value, no cell


def test_xlsx_of_many_rows_comes_in_several_chunks():
    rows = ([f"Person {n}", n, date(2026, 1, 1) + timedelta(days=n % 300)] for n in range(20000))
    chunks = list(xlsx_chunks(["Name", "Nr.", "Datum"], rows))
    assert len(chunks) > 1
    sheet = _sheet(b"".join(chunks))
    assert 'r="A20001"' in sheet
