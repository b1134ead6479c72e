"""The data export archive: every table as JSON (exact) and as CSV (German Excel)."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timezone

from namalms.formats.data_export import Table, build_archive, table_csv, table_json

EVENTS = Table("lernereignisse", [("created_at", "Zeitpunkt"), ("kind", "Ereignis"), ("data", "Details")], [
    {"created_at": datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc), "kind": "quiz_attempt",
     "data": {"score": 80, "answers": {"q1": [0, 2]}}},
    {"created_at": datetime(2026, 3, 30, 12, 0, tzinfo=timezone.utc), "kind": "=HYPERLINK(\"x\")", "data": {}},
])


def test_json_keeps_exact_values_in_utc():
    rows = json.loads(table_json(EVENTS))
    assert rows[0] == {"created_at": "2026-03-29T01:30:00+00:00", "kind": "quiz_attempt",
                       "data": {"score": 80, "answers": {"q1": [0, 2]}}}


def test_csv_is_for_german_excel_with_local_times_and_no_formulas():
    text = table_csv(EVENTS).decode("utf-8")
    assert text.startswith("\ufeffZeitpunkt;Ereignis;Details\r\n")
    assert "29.03.2026, 03:30 Uhr" in text, "summer time in Berlin started at 01:00 UTC that night"
    assert "'=HYPERLINK" in text
    assert '""score"": 80' in text


def test_the_archive_holds_a_readme_each_table_twice_and_the_documents():
    data = build_archive([EVENTS, Table("profil", [("name", "Name")], [{"name": "Jürgen Müller"}])],
                         documents={"zertifikate/NAMA-2026-00001.json": b"{}"}, readme="Ihre Daten")
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.namelist() == ["LIESMICH.txt", "lernereignisse.json", "lernereignisse.csv", "profil.json",
                                  "profil.csv", "zertifikate/NAMA-2026-00001.json"]
    assert json.loads(archive.read("profil.json")) == [{"name": "Jürgen Müller"}]
    assert archive.testzip() is None
