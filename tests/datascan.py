"""Scan every value of every column of every table for traces of a person (deletion tests)."""
from __future__ import annotations

import json

from namalms.extensions import db


def everything_in_the_database() -> list[tuple[str, str, object]]:
    """Every value of every column of every table: (table, column, value), JSON decoded."""
    found = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(table.select()).mappings():
            for column, value in row.items():
                found.append((table.name, column, value))
    return found


def mentions(value, needles: list[str]) -> bool:
    """Whether a value (text, bytes, JSON) contains any of the needles, ignoring case."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, str):
        return False
    lowered = value.lower()
    return any(needle.lower() in lowered for needle in needles)


def traces_of(needles: list[str]) -> list[tuple[str, str, object]]:
    """(table, column, value) of every value that mentions one of the needles."""
    return [(table, column, value) for table, column, value in everything_in_the_database()
            if mentions(value, needles)]
