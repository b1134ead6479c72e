"""Read an attendance list (CSV) as German tools write it: find the e-mail column, list every row.

Pure Python: no Flask, no database. The file may be UTF-8 (with or without byte-order mark),
Windows-1252 (what German Excel writes as „CSV (Trennzeichen-getrennt)“) or UTF-16 (Excel's
„Unicode-Text“); fields may be separated by semicolons, commas or tabs; the first row may be a
header. Every data row ends up in exactly one bucket – valid, invalid or duplicate – with its
line number, so a trainer can see what happened to each line of their list.
"""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
DELIMITERS = (";", ",", "\t")  # in order of preference: German Excel writes semicolons
EMAIL_PATTERN = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]{2,}$")
ANGLE_ADDRESS = re.compile(r"<([^<>]+@[^<>]+)>")
# Header names of an e-mail column after lower-casing and removing spaces, hyphens,
# underscores, dots and a trailing colon: „E-Mail“, „Email“, „E-Mail-Adresse“, „Mail“, …
HEADER_NAMES = {
    "email", "mail", "emailadresse", "mailadresse", "emailaddress", "mailaddress", "emailadressen",
}
SAMPLE_ROWS = 50
BINARY_SIGNATURES = {
    b"PK\x03\x04": "Das ist eine Excel-Arbeitsmappe oder ein ZIP-Archiv, keine CSV-Datei. Bitte speichern Sie "
                   "die Liste in Excel über „Speichern unter“ als „CSV UTF-8 (durch Trennzeichen getrennt)“.",
    b"\xd0\xcf\x11\xe0": "Das ist eine alte Excel- oder Word-Datei (.xls/.doc), keine CSV-Datei. Bitte speichern "
                         "Sie die Liste in Excel als „CSV UTF-8 (durch Trennzeichen getrennt)“.",
    b"%PDF": "Das ist ein PDF, keine CSV-Datei. Bitte exportieren Sie die Teilnahmeliste als CSV.",
}


class AttendanceCsvError(ValueError):
    """The file as a whole cannot be read; `message` says why, in German."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Entry:
    """One data row: its line number in the file, the raw cell, and the address read from it."""

    line: int
    value: str
    email: str | None = None  # lower-case address, None when the cell holds none
    row_text: str = ""  # the whole row, to show where the cell is empty

    @property
    def shown(self) -> str:
        return self.value or self.row_text


@dataclass(frozen=True)
class Duplicate:
    line: int
    value: str
    email: str
    first_line: int


@dataclass(frozen=True)
class AttendanceList:
    """The parsed file: valid addresses (first occurrence), invalid rows, repeated addresses."""

    entries: tuple[Entry, ...]
    invalid: tuple[Entry, ...]
    duplicates: tuple[Duplicate, ...]
    encoding: str
    delimiter: str
    header: str | None  # the header cell of the e-mail column, None without a header row
    column: int  # 1-based number of the e-mail column

    @property
    def emails(self) -> list[str]:
        return [e.email for e in self.entries]

    @property
    def row_count(self) -> int:
        return len(self.entries) + len(self.invalid) + len(self.duplicates)

    @property
    def delimiter_label(self) -> str:
        return {";": "Semikolon", ",": "Komma", "\t": "Tabulator"}.get(self.delimiter, self.delimiter)


# --- decoding -----------------------------------------------------------------------------------------

def decode(data: bytes) -> tuple[str, str]:
    """The text of the file and the name of its encoding. UTF-8 first, then Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "UTF-8 mit BOM"
        except UnicodeDecodeError:
            raise AttendanceCsvError("Die Datei gibt an, UTF-8 zu sein, enthält aber ungültige Zeichen. "
                                     "Bitte speichern Sie sie erneut als „CSV UTF-8“.") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise AttendanceCsvError("Die Datei gibt an, UTF-16 zu sein, lässt sich aber nicht lesen. "
                                     "Bitte speichern Sie sie als „CSV UTF-8“.") from None
    for signature, message in BINARY_SIGNATURES.items():
        if data.startswith(signature):
            raise AttendanceCsvError(message)
    if b"\x00" in data:
        raise AttendanceCsvError("Die Datei ist keine Textdatei (sie enthält Binärdaten). Bitte laden Sie "
                                 "die Teilnahmeliste als CSV-Datei hoch.")
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise AttendanceCsvError("Die Zeichenkodierung der Datei ist unbekannt (weder UTF-8 noch Windows-1252). "
                                 "Bitte speichern Sie sie als „CSV UTF-8“.") from None
    return text, "Windows-1252"


def _looks_binary(text: str) -> bool:
    """Many control characters mean the bytes were never text (an image, an archive, …)."""
    sample = text[:4096]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\r\n\t\f")
    return controls > max(2, len(sample) // 100)


# --- e-mail addresses ---------------------------------------------------------------------------------

def normalise_email(value: str) -> str | None:
    """The lower-case address in a cell, or None when the cell is not one address.

    Accepts what mail programs paste: „mailto:a@b.de“ and „Anna Müller <a@b.de>“.
    """
    value = value.strip().strip("\u00a0\u200b\ufeff").strip()
    match = ANGLE_ADDRESS.search(value)
    if match and value.count("@") == 1:
        value = match.group(1).strip()
    if value.lower().startswith("mailto:"):
        value = value[7:]
    value = value.strip().lower()
    return value if EMAIL_PATTERN.match(value) else None


def _header_key(cell: str) -> str:
    return re.sub(r"[\s\-_.:*]+", "", cell.strip().strip("\ufeff").lower())


def is_email_header(cell: str) -> bool:
    """True for „E-Mail“, „Email“, „E-Mail-Adresse“, „Mail“ and the like (case and spaces ignored)."""
    return _header_key(cell) in HEADER_NAMES


# --- reading the rows ---------------------------------------------------------------------------------

def _rows(text: str, delimiter: str, limit: int | None = None) -> list[tuple[int, list[str]]]:
    """(first line number, cells) of every non-blank record; quoted fields may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', skipinitialspace=True)
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            if any(c.strip() for c in cells):
                rows.append((start, cells))
                if limit is not None and len(rows) >= limit:
                    break
    except csv.Error as error:
        raise AttendanceCsvError(f"Zeile {reader.line_num}: Die Datei lässt sich nicht als CSV lesen "
                                 f"({error}). Ist ein Anführungszeichen nicht geschlossen?") from None
    return rows


def sniff_delimiter(text: str) -> str:
    """The delimiter under which most rows hold an e-mail address in a cell of its own.

    Ties go to the delimiter that splits the rows most consistently, then to the order of
    DELIMITERS (semicolon first, as German Excel writes it).
    """
    best, best_score = DELIMITERS[0], None
    for rank, delimiter in enumerate(DELIMITERS):
        rows = _rows(text, delimiter, limit=SAMPLE_ROWS)
        with_email = sum(1 for _, cells in rows if any(normalise_email(c) for c in cells))
        widths = Counter(len(cells) for _, cells in rows)
        width, consistent = widths.most_common(1)[0] if widths else (1, 0)
        score = (with_email, consistent if width > 1 else 0, -rank)
        if best_score is None or score > best_score:
            best, best_score = delimiter, score
    return best


def _email_column(rows: list[tuple[int, list[str]]]) -> tuple[int, bool]:
    """(index of the e-mail column, whether the first row is a header)."""
    first = rows[0][1]
    for index, cell in enumerate(first):
        if is_email_header(cell):
            return index, True
    counts: Counter[int] = Counter()
    for _, cells in rows[:SAMPLE_ROWS * 4]:
        for index, cell in enumerate(cells):
            if "@" in cell:
                counts[index] += 1
    if not counts:
        raise AttendanceCsvError("In der Datei steht keine Spalte mit E-Mail-Adressen. Bitte geben Sie der "
                                 "Spalte mit den Adressen die Überschrift „E-Mail“.")
    index = max(counts, key=lambda i: (counts[i], -i))
    # Without a known header name, a first row without any address in that column is a header.
    has_header = len(rows) > 1 and "@" not in (first[index] if index < len(first) else "")
    return index, has_header


def parse_attendance_csv(data: bytes) -> AttendanceList:
    """Parse an uploaded attendance list. Raises AttendanceCsvError for a file that cannot be read."""
    if len(data) > MAX_BYTES:
        raise AttendanceCsvError("Die Datei ist größer als 2 MB. Bitte laden Sie nur die Teilnahmeliste hoch "
                                 "(höchstens 5.000 Zeilen).")
    if not data.strip():
        raise AttendanceCsvError("Die Datei ist leer.")
    text, encoding = decode(data)
    if _looks_binary(text):
        raise AttendanceCsvError("Die Datei ist keine Textdatei (sie enthält Binärdaten). Bitte laden Sie "
                                 "die Teilnahmeliste als CSV-Datei hoch.")
    if not text.strip():
        raise AttendanceCsvError("Die Datei ist leer.")
    delimiter = sniff_delimiter(text)
    rows = _rows(text, delimiter, limit=MAX_ROWS + 2)
    if not rows:
        raise AttendanceCsvError("Die Datei enthält keine Zeilen mit Inhalt.")
    column, has_header = _email_column(rows)
    header = rows[0][1][column].strip() if has_header else None
    data_rows = rows[1:] if has_header else rows
    if len(data_rows) > MAX_ROWS:
        raise AttendanceCsvError("Die Datei hat mehr als 5.000 Zeilen. Bitte teilen Sie die Liste auf.")
    if not data_rows:
        raise AttendanceCsvError("Die Datei enthält nur eine Überschriftenzeile, aber keine Teilnehmenden.")

    entries: list[Entry] = []
    invalid: list[Entry] = []
    duplicates: list[Duplicate] = []
    first_seen: dict[str, int] = {}
    for line, cells in data_rows:
        value = cells[column].strip() if column < len(cells) else ""
        row_text = delimiter.join(c.strip() for c in cells).strip(delimiter)
        email = normalise_email(value)
        if email is None:
            invalid.append(Entry(line, value, None, row_text))
        elif email in first_seen:
            duplicates.append(Duplicate(line, value, email, first_seen[email]))
        else:
            first_seen[email] = line
            entries.append(Entry(line, value, email, row_text))
    return AttendanceList(tuple(entries), tuple(invalid), tuple(duplicates), encoding, delimiter, header,
                          column + 1)
