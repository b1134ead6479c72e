"""Calendar entries (RFC 5545) and wall-clock times in Europe/Berlin across clock changes."""
from datetime import date, datetime, time, timezone

import pytest

from namalms.formats.ics import CalendarEvent, build_calendar, ends_after, escape_text, fold_line, format_utc
from namalms.formatting import LocalTimeError, format_span, local_to_utc
from namalms.formatting import to_local as utc_to_local

UTC = timezone.utc


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# --- Europe/Berlin ↔ UTC ----------------------------------------------------------------------------

@pytest.mark.parametrize("day, clock, expected", [
    (date(2026, 1, 15), time(10, 0), utc(2026, 1, 15, 9, 0)),  # winter: UTC+1
    (date(2026, 7, 15), time(10, 0), utc(2026, 7, 15, 8, 0)),  # summer: UTC+2
    (date(2026, 3, 28), time(10, 0), utc(2026, 3, 28, 9, 0)),  # the day before summer time
    (date(2026, 3, 29), time(10, 0), utc(2026, 3, 29, 8, 0)),  # the day summer time starts
    (date(2026, 3, 29), time(1, 59), utc(2026, 3, 29, 0, 59)),  # just before the jump
    (date(2026, 3, 29), time(3, 0), utc(2026, 3, 29, 1, 0)),  # just after the jump
    (date(2026, 10, 25), time(10, 0), utc(2026, 10, 25, 9, 0)),  # the day winter time returns
    (date(2026, 10, 25), time(2, 30), utc(2026, 10, 25, 0, 30)),  # the repeated hour: the first (summer) one
    (date(2026, 12, 31), time(23, 30), utc(2026, 12, 31, 22, 30)),
])
def test_local_time_becomes_utc_with_the_right_offset(day, clock, expected):
    assert local_to_utc(day, clock) == expected


@pytest.mark.parametrize("clock", [time(2, 0), time(2, 30), time(2, 59)])
def test_the_hour_skipped_by_summer_time_is_refused_in_german(clock):
    with pytest.raises(LocalTimeError, match="gibt es am 29.03.2026 nicht"):
        local_to_utc(date(2026, 3, 29), clock)


@pytest.mark.parametrize("moment", [utc(2026, 1, 15, 9, 0), utc(2026, 7, 15, 8, 0), utc(2026, 10, 25, 0, 30),
                                    utc(2026, 3, 29, 1, 0)])
def test_utc_to_local_round_trips(moment):
    local = utc_to_local(moment)
    assert local_to_utc(local.date(), local.time()) == moment


def test_a_workshop_stays_at_ten_on_both_sides_of_a_clock_change():
    before, after = local_to_utc(date(2026, 3, 24), time(10)), local_to_utc(date(2026, 3, 31), time(10))
    assert (before.hour, after.hour) == (9, 8)
    assert utc_to_local(before).hour == utc_to_local(after).hour == 10


def test_a_duration_is_real_time_even_across_the_clock_change():
    start = local_to_utc(date(2026, 3, 29), time(1, 0))
    end = ends_after(start, 120)
    assert utc_to_local(end).strftime("%H:%M") == "04:00"  # two real hours, the clock jumped by one


@pytest.mark.parametrize("start, end, text", [
    (utc(2026, 4, 14, 8, 0), utc(2026, 4, 14, 10, 30), "Dienstag, 14.04.2026, 10:00–12:30 Uhr"),
    (utc(2026, 1, 5, 8, 0), utc(2026, 1, 5, 15, 0), "Montag, 05.01.2026, 09:00–16:00 Uhr"),
    (utc(2026, 6, 11, 7, 0), utc(2026, 6, 12, 14, 0), "Donnerstag, 11.06.2026, 09:00 Uhr – 12.06.2026, 16:00 Uhr"),
])
def test_format_span_in_german(start, end, text):
    assert format_span(start, end) == text


# --- iCalendar --------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, escaped", [
    ("Workshop", "Workshop"),
    ("Klima, Anpassung; Planung", "Klima\\, Anpassung\\; Planung"),
    ("C:\\Pfad", "C:\\\\Pfad"),
    ("Zeile 1\nZeile 2", "Zeile 1\\nZeile 2"),
    ("Zeile 1\r\nZeile 2\rZeile 3", "Zeile 1\\nZeile 2\\nZeile 3"),
    ("\\;", "\\\\\\;"),  # the backslash is escaped first, so escapes are never doubled
])
def test_escape_text(raw, escaped):
    assert escape_text(raw) == escaped


def test_short_lines_are_not_folded():
    assert fold_line("SUMMARY:kurz") == "SUMMARY:kurz"
    assert fold_line("X" * 75) == "X" * 75


def test_long_lines_fold_at_75_octets_with_a_leading_space():
    folded = fold_line("DESCRIPTION:" + "a" * 200)
    parts = folded.split("\r\n")
    assert len(parts[0].encode()) == 75
    assert all(p.startswith(" ") and len(p.encode()) <= 75 for p in parts[1:])
    assert "".join([parts[0]] + [p[1:] for p in parts[1:]]) == "DESCRIPTION:" + "a" * 200


def test_folding_never_splits_a_multibyte_character():
    line = "SUMMARY:" + "Präsenzworkshop für Flächensparen – Übung „Grünflächen“ " * 4
    parts = fold_line(line).split("\r\n")
    for part in parts:
        assert len(part.encode("utf-8")) <= 75
        part.encode("utf-8").decode("utf-8")  # each piece is valid UTF-8 on its own
    assert "".join([parts[0]] + [p[1:] for p in parts[1:]]) == line


def test_format_utc_needs_an_aware_datetime():
    assert format_utc(utc(2026, 4, 14, 10, 0)) == "20260414T100000Z"
    assert format_utc(utc_to_local(utc(2026, 4, 14, 8, 0))) == "20260414T080000Z"
    with pytest.raises(ValueError):
        format_utc(datetime(2026, 4, 14, 10, 0))


def event(**overrides):
    values = dict(uid="workshop-7@nama.example", starts_at=local_to_utc(date(2026, 4, 14), time(10)),
                  ends_at=local_to_utc(date(2026, 4, 14), time(12, 30)), stamp=utc(2026, 3, 1, 12, 0),
                  summary="NaMa NRW: Klimafolgen, Anpassung; Planung",
                  description="Bitte mitbringen:\nLaptop, Stadtplan", location="Rathaus Düren, Raum 1.23",
                  url="https://meet.example.org/raum?id=1,2")
    values.update(overrides)
    return CalendarEvent(**values)


def test_calendar_is_a_well_formed_vcalendar_with_one_vevent():
    text = build_calendar([event()])
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")[:-1]
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    assert lines.count("BEGIN:VEVENT") == 1 and lines.count("END:VEVENT") == 1
    assert "UID:workshop-7@nama.example" in lines
    assert "DTSTAMP:20260301T120000Z" in lines
    assert "DTSTART:20260414T080000Z" in lines  # 10:00 summer time
    assert "DTEND:20260414T103000Z" in lines
    assert "SUMMARY:NaMa NRW: Klimafolgen\\, Anpassung\\; Planung" in lines
    assert "DESCRIPTION:Bitte mitbringen:\\nLaptop\\, Stadtplan" in lines
    assert "LOCATION:Rathaus Düren\\, Raum 1.23" in lines
    assert "URL:https://meet.example.org/raum?id=1,2" in lines  # a URI is not TEXT: no escaping
    assert "STATUS:CONFIRMED" in lines
    assert all(len(line.encode()) <= 75 for line in lines)


def test_winter_workshop_uses_utc_plus_one():
    text = build_calendar([event(starts_at=local_to_utc(date(2026, 11, 3), time(9)),
                                 ends_at=local_to_utc(date(2026, 11, 3), time(16)))])
    assert "DTSTART:20261103T080000Z" in text and "DTEND:20261103T150000Z" in text


def test_cancelled_event_says_so_and_carries_its_sequence():
    text = build_calendar([event(is_cancelled=True, sequence=3)])
    assert "STATUS:CANCELLED\r\n" in text and "SEQUENCE:3\r\n" in text


def test_long_description_is_folded_and_unfolds_to_the_original():
    description = "Ein langer Text über kommunales Nachhaltigkeitsmanagement, Klimaschutz; und mehr. " * 5
    text = build_calendar([event(description=description)])
    unfolded = text.replace("\r\n ", "")
    assert "DESCRIPTION:" + escape_text(description) + "\r\n" in unfolded


def test_an_event_must_end_after_it_starts():
    with pytest.raises(ValueError):
        build_calendar([event(ends_at=event().starts_at)])
