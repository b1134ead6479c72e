"""Dates, times and durations the German way, in Europe/Berlin: the one place that knows.

The database holds UTC; people in NRW read local calendar days and wall-clock times. Web pages,
the certificate PDF, CSV/XLSX exports, calendar files and the rules' German explanations all
format through here, so a certificate issued at 23:30 UTC shows the same (next) day everywhere.

Pure Python: no Flask, no database.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
GERMAN_MONTHS = (
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
)
WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
NBSP = "\u00a0"
DATE_FORMAT = "%d.%m.%Y"
EMPTY = "–"


class LocalTimeError(ValueError):
    """A wall-clock time that does not exist in Europe/Berlin; the message is German."""


# --- converting -----------------------------------------------------------------------------------

def to_local(moment: datetime) -> datetime:
    """The same instant on a clock in Europe/Berlin (naive input counts as UTC, as stored)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(BERLIN)


def local_date(value: str | date | datetime) -> date:
    """The German calendar day of a timestamp, a date or an ISO text; ``ValueError`` if unreadable.

    A bare date (``2026-11-22``) is taken as it is; a timestamp without a zone counts as UTC.
    """
    if isinstance(value, datetime):
        return to_local(value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            return date.fromisoformat(text)
        return to_local(datetime.fromisoformat(text)).date()
    raise ValueError(f"not a date: {value!r}")


def local_to_utc(day: date, clock: time) -> datetime:
    """The UTC instant of a date and time as read on a clock in Europe/Berlin.

    The hour skipped when summer time starts (last Sunday in March, 02:00–02:59) does not
    exist and is refused. The hour repeated when it ends (last Sunday in October, 02:00–02:59)
    is read as the first one, in summer time, as people planning an event would mean it.
    """
    local = datetime.combine(day, clock.replace(tzinfo=None, fold=0), tzinfo=BERLIN)
    as_utc = local.astimezone(timezone.utc)
    if as_utc.astimezone(BERLIN).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise LocalTimeError(
            f"Die Uhrzeit {clock:%H:%M} Uhr gibt es am {day:%d.%m.%Y} nicht: In dieser Nacht wird "
            "die Uhr auf Sommerzeit vorgestellt (von 02:00 auf 03:00 Uhr).")
    return as_utc


def local_midnight(day: date) -> datetime:
    """The start of a German calendar day, as an aware timestamp (for "from … to …" filters)."""
    return datetime.combine(day, time(0), tzinfo=BERLIN)


def month_start(year: int, month: int) -> datetime:
    """Midnight at the start of a month in Europe/Berlin."""
    return datetime(year, month, 1, tzinfo=BERLIN)


# --- formatting -----------------------------------------------------------------------------------

def format_date(value: str | date | datetime | None) -> str:
    """``22.11.2026`` – the German short date (and the one German Excel reads as a date)."""
    return EMPTY if value is None else local_date(value).strftime(DATE_FORMAT)


def format_datetime(value: datetime | None) -> str:
    """``22.11.2026, 09:15 Uhr`` in Europe/Berlin."""
    return EMPTY if value is None else to_local(value).strftime("%d.%m.%Y, %H:%M Uhr")


def format_long_date(value: str | date | datetime) -> str:
    """``22. November 2026`` (for certificates and letters)."""
    day = local_date(value)
    return f"{day.day}. {GERMAN_MONTHS[day.month - 1]} {day.year}"


def format_span(starts_at: datetime, ends_at: datetime, *, weekday: bool = True) -> str:
    """A workshop's date and time: „Dienstag, 14.04.2026, 10:00–12:30 Uhr“; several days name both."""
    start, end = to_local(starts_at), to_local(ends_at)
    prefix = f"{WEEKDAYS[start.weekday()]}, " if weekday else ""
    if start.date() == end.date():
        return f"{prefix}{start:%d.%m.%Y}, {start:%H:%M}–{end:%H:%M} Uhr"
    return f"{prefix}{start:%d.%m.%Y}, {start:%H:%M} Uhr – {end:%d.%m.%Y}, {end:%H:%M} Uhr"


def format_duration(minutes: int | float | None) -> str:
    """Learning time as people say it: ``100`` → ``1 Std. 40 Min.``, ``45`` → ``45 Min.``.

    One format on every page and on the certificate. ``ValueError`` for a negative or
    non-numeric value, so a broken snapshot is noticed rather than printed as "0 Min.".
    """
    if minutes is None:
        return EMPTY
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or minutes != minutes \
            or minutes < 0 or minutes == float("inf"):
        raise ValueError(f"minutes must be a finite number ≥ 0, got {minutes!r}")
    hours, rest = divmod(int(round(minutes)), 60)
    if hours and rest:
        return f"{_thousands(hours)} Std. {rest} Min."
    if hours:
        return f"{_thousands(hours)} Std."
    return f"{rest} Min."


def _thousands(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def format_percent(value: int | float) -> str:
    """German percent: ``70 %`` with a non-breaking space."""
    return f"{value}{NBSP}%"


def iso_instant(value: datetime) -> str:
    """A valid HTML ``<time datetime>`` value: UTC, whole seconds, ``Z`` (no microseconds)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- parsing --------------------------------------------------------------------------------------

class NoSuchDay(ValueError):
    """The text is written like a date, but names a day the calendar does not have (31.02.)."""


_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_GERMAN_DAY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})")


def parse_date(text: str) -> date:
    """A date from an ``<input type=date>`` (``2026-01-31``) or typed the German way
    (``31.01.2026``, ``31.1.26``). The one date parser of every form and filter.

    ``ValueError`` when the text is neither; :class:`NoSuchDay` when the day does not exist.
    """
    text = (text or "").strip()
    if match := _ISO_DAY.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    elif match := _GERMAN_DAY.fullmatch(text):
        day, month, year = (int(part) for part in match.groups())
        year += 2000 if year < 100 else 0
    else:
        raise ValueError(f"not a date: {text!r}")
    try:
        return date(year, month, day)
    except ValueError:
        raise NoSuchDay(f"no such day: {text!r}") from None

