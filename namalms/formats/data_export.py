"""The learner's data export (DSGVO Art. 15 and 20): one ZIP with every table as JSON and as CSV.

Pure Python: the service hands in plain tables; this module writes them. JSON keeps exact
values (ISO 8601 timestamps in UTC); the CSV files are for German Excel (see
:mod:`namalms.formats.csv_export`) with times in Europe/Berlin.
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from namalms.formats.csv_export import csv_chunks
from namalms.formatting import format_datetime


@dataclass
class Table:
    """One part of the export: a file name stem, German column titles and the rows."""

    name: str  # e.g. "lernereignisse" → lernereignisse.json and lernereignisse.csv
    columns: list[tuple[str, str]]  # (key in JSON, column title in CSV)
    rows: list[dict[str, Any]] = field(default_factory=list)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(item) for item in value]
    return value


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(_json_value(value), ensure_ascii=False, sort_keys=True)
    return value


def table_json(table: Table) -> bytes:
    """The table as a JSON list of objects (UTF-8, readable indentation)."""
    rows = [{key: _json_value(row.get(key)) for key, _ in table.columns} for row in table.rows]
    return json.dumps(rows, ensure_ascii=False, indent=2).encode("utf-8")


def table_csv(table: Table) -> bytes:
    """The table as CSV for German Excel."""
    header = [title for _, title in table.columns]
    rows = ([_csv_value(row.get(key)) for key, _ in table.columns] for row in table.rows)
    return b"".join(csv_chunks(header, rows))


def build_archive(tables: list[Table], *, documents: dict[str, bytes] | None = None, readme: str = "",
                  now: datetime | None = None) -> bytes:
    """The ZIP: ``LIESMICH.txt``, each table as ``.json`` and ``.csv``, then extra documents by path."""
    buffer = io.BytesIO()
    stamp = (now or datetime.now()).timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        def add(path: str, data: bytes) -> None:
            info = zipfile.ZipInfo(path, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)

        if readme:
            add("LIESMICH.txt", readme.encode("utf-8"))
        for table in tables:
            add(f"{table.name}.json", table_json(table))
            add(f"{table.name}.csv", table_csv(table))
        for path, data in (documents or {}).items():
            add(path, data)
    return buffer.getvalue()
