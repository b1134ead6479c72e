"""Calendar entries for workshops (iCalendar, RFC 5545).

Pure Python: no Flask, no database. Times are written in UTC; the wall-clock conversions for
Europe/Berlin (summer time included) live in :mod:`namalms.formatting`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

CRLF = "\r\n"
LINE_LIMIT = 75  # octets per content line, not counting CRLF (RFC 5545, 3.1)


# --- iCalendar --------------------------------------------------------------------------------------

def escape_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545, 3.3.11): backslash, semicolon, comma and line breaks."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold_line(line: str) -> str:
    """Fold one content line into pieces of at most 75 octets joined by CRLF + space.

    Counts UTF-8 octets and never splits a character, so „Präsenz“ survives any fold.
    """
    pieces: list[str] = []
    current, size, limit = "", 0, LINE_LIMIT
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append(current)
            current, size, limit = "", 0, LINE_LIMIT - 1  # the leading space counts
        current += char
        size += width
    pieces.append(current)
    return (CRLF + " ").join(pieces)


def format_utc(moment: datetime) -> str:
    """A DATE-TIME in UTC form, e.g. 20260414T080000Z. Naive datetimes are refused."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give a timezone-aware moment")
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True)
class CalendarEvent:
    """What one VEVENT says. Times are timezone-aware; they are written in UTC."""

    uid: str
    starts_at: datetime
    ends_at: datetime
    stamp: datetime
    summary: str
    description: str = ""
    location: str = ""
    url: str = ""
    is_cancelled: bool = False
    sequence: int = 0


def event_lines(event: CalendarEvent) -> list[str]:
    """The unfolded content lines of one VEVENT."""
    if event.ends_at <= event.starts_at:
        raise ValueError("an event must end after it starts")
    lines = [
        "BEGIN:VEVENT",
        f"UID:{event.uid}",
        f"DTSTAMP:{format_utc(event.stamp)}",
        f"DTSTART:{format_utc(event.starts_at)}",
        f"DTEND:{format_utc(event.ends_at)}",
        f"SEQUENCE:{event.sequence}",
        f"SUMMARY:{escape_text(event.summary)}",
    ]
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if event.url:
        lines.append(f"URL:{event.url}")  # a URI value, not TEXT: no escaping
    lines.append(f"STATUS:{'CANCELLED' if event.is_cancelled else 'CONFIRMED'}")
    lines.append("END:VEVENT")
    return lines


def build_calendar(events: list[CalendarEvent], *, product: str = "-//LAG 21 NRW//namalms//DE") -> str:
    """A complete iCalendar object: CRLF line ends, every line folded at 75 octets."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{product}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]
    for event in events:
        lines += event_lines(event)
    lines.append("END:VCALENDAR")
    return "".join(fold_line(line) + CRLF for line in lines)


def ends_after(starts_at: datetime, minutes: int) -> datetime:
    """The end of something that lasts `minutes` of real time (a clock change does not stretch it)."""
    return starts_at.astimezone(timezone.utc) + timedelta(minutes=minutes)
