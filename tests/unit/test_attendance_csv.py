"""Attendance lists as German tools write them: delimiters, encodings, headers, bad rows."""
import pytest

from namalms.formats.attendance_csv import (
    MAX_ROWS, AttendanceCsvError, is_email_header, normalise_email, parse_attendance_csv, sniff_delimiter,
)


def parse(text: str, encoding: str = "utf-8"):
    return parse_attendance_csv(text.encode(encoding))


@pytest.mark.parametrize(
    "data, delimiter, encoding, header, column, emails",
    [
        # German Excel "CSV (Trennzeichen-getrennt)": semicolons, Windows-1252, CRLF
        ("Name;E-Mail\r\nMüller, Anna;anna@stadt.de\r\n".encode("cp1252"), ";", "Windows-1252", "E-Mail", 2,
         ["anna@stadt.de"]),
        # Excel "CSV UTF-8": byte-order mark
        ("\ufeffName;Email\nÖzdemir;oz@kreis.de\n".encode(), ";", "UTF-8 mit BOM", "Email", 2, ["oz@kreis.de"]),
        # international export: commas, quoted field with a comma inside
        ('Name,E-Mail-Adresse\n"Müller, Anna",anna@stadt.de\n'.encode(), ",", "UTF-8", "E-Mail-Adresse", 2,
         ["anna@stadt.de"]),
        # a quoted name that contains a semicolon does not fool the sniffer
        ('"Teil; nehmer",Mail\n"Anna; A.",anna@stadt.de\n"Bernd; B.",bernd@stadt.de\n'.encode(), ",", "UTF-8",
         "Mail", 2, ["anna@stadt.de", "bernd@stadt.de"]),
        # header variants: case, spaces, no hyphen
        (b"  e-mail adresse ;Name\nanna@stadt.de;Anna\n", ";", "UTF-8", "e-mail adresse", 1, ["anna@stadt.de"]),
        (b"MAIL\nanna@stadt.de\n", ";", "UTF-8", "MAIL", 1, ["anna@stadt.de"]),
        # no header row: the column holding addresses is found
        (b"Anna;anna@stadt.de\nBernd;bernd@stadt.de\n", ";", "UTF-8", None, 2,
         ["anna@stadt.de", "bernd@stadt.de"]),
        (b"anna@stadt.de\nbernd@stadt.de", ";", "UTF-8", None, 1, ["anna@stadt.de", "bernd@stadt.de"]),
        # an unknown header name: the first row holds no address, so it is a header
        (b"Teilnehmer;Kontakt\nAnna;anna@stadt.de\n", ";", "UTF-8", "Kontakt", 2, ["anna@stadt.de"]),
        # tabs (Excel "Unicode-Text" is UTF-16 with tabs)
        ("Name\tE-Mail\nJäger\tjana@stadt.de\n".encode("utf-16"), "\t", "UTF-16", "E-Mail", 2,
         ["jana@stadt.de"]),
        # blank lines and rows of empty cells are skipped, upper case is folded
        (b"E-Mail\n\n;\n  \nANNA@Stadt.DE\n\n", ";", "UTF-8", "E-Mail", 1, ["anna@stadt.de"]),
    ],
)
def test_reads_the_lists_german_tools_write(data, delimiter, encoding, header, column, emails):
    parsed = parse_attendance_csv(data)
    assert (parsed.delimiter, parsed.encoding, parsed.header, parsed.column) == (delimiter, encoding, header, column)
    assert parsed.emails == emails


def test_cp1252_typographic_quotes_and_umlauts_survive():
    parsed = parse("„Müller“;müller@stadt.de\nGroß;gross@stadt.de\n", "cp1252")
    assert parsed.encoding == "Windows-1252"
    assert parsed.entries[0].row_text == "„Müller“;müller@stadt.de"
    assert parsed.emails == ["müller@stadt.de", "gross@stadt.de"]


def test_utf8_is_tried_before_windows_1252():
    parsed = parse("Name;E-Mail\nMüller;m@stadt.de\n", "utf-8")
    assert parsed.encoding == "UTF-8" and parsed.entries[0].row_text == "Müller;m@stadt.de"


def test_line_numbers_count_physical_lines_including_blank_and_multiline_fields():
    text = 'Name;E-Mail\n\n"Anna\nAchterberg";anna@stadt.de\nBernd;kaputt\n'
    parsed = parse(text)
    assert [(e.line, e.email) for e in parsed.entries] == [(3, "anna@stadt.de")]
    assert [(e.line, e.value) for e in parsed.invalid] == [(5, "kaputt")]


@pytest.mark.parametrize("value", ["kaputt", "anna@", "@stadt.de", "anna@stadt", "anna@@stadt.de",
                                   "anna @stadt.de", "anna@stadt.de bernd@stadt.de", "anna@stadt.d"])
def test_invalid_addresses_are_listed_with_their_line(value):
    parsed = parse(f"E-Mail\nok@stadt.de\n{value}\n")
    assert parsed.emails == ["ok@stadt.de"]
    [row] = parsed.invalid
    assert row.line == 3 and row.email is None


def test_a_row_without_address_shows_the_whole_row():
    parsed = parse("Name;E-Mail\nAnna Achterberg;\n")
    [row] = parsed.invalid
    assert row.value == "" and row.shown == "Anna Achterberg"


def test_duplicates_name_the_line_where_the_address_first_appeared():
    parsed = parse("E-Mail\nanna@stadt.de\nbernd@stadt.de\nAnna@Stadt.de \n")
    assert parsed.emails == ["anna@stadt.de", "bernd@stadt.de"]
    [duplicate] = parsed.duplicates
    assert (duplicate.line, duplicate.first_line, duplicate.email) == (4, 2, "anna@stadt.de")
    assert parsed.row_count == 3


@pytest.mark.parametrize("cell, expected", [
    ("anna@stadt.de", "anna@stadt.de"),
    ("  Anna@Stadt.DE\u00a0", "anna@stadt.de"),
    ("mailto:anna@stadt.de", "anna@stadt.de"),
    ("Anna Achterberg <anna@stadt.de>", "anna@stadt.de"),
    ("anna.müller@stadt.de", "anna.müller@stadt.de"),
    ("Anna", None),
    ("", None),
])
def test_normalise_email(cell, expected):
    assert normalise_email(cell) == expected


@pytest.mark.parametrize("cell, expected", [
    ("E-Mail", True), ("Email", True), ("e-mail-adresse", True), ("E-Mail Adresse", True), (" MAIL ", True),
    ("E_Mail:", True), ("Mailadresse", True), ("Name", False), ("Mailingliste", False), ("", False),
])
def test_header_names(cell, expected):
    assert is_email_header(cell) is expected


def test_sniffing_prefers_the_delimiter_that_isolates_addresses():
    assert sniff_delimiter("Müller, Anna;anna@stadt.de\nBrückner, Bernd;bernd@stadt.de\n") == ";"
    assert sniff_delimiter("Müller,anna@stadt.de\nBrückner,bernd@stadt.de\n") == ","


@pytest.mark.parametrize("data, message", [
    (b"", "leer"),
    (b"  \r\n\r\n", "leer"),
    (b"PK\x03\x04\x14\x00\x06\x00", "Excel-Arbeitsmappe"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "alte Excel"),
    (b"%PDF-1.7\n", "PDF"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "Binärdaten"),
    (bytes([1, 2, 3, 4, 5, 6, 7, 8]) * 20, "Binärdaten"),
    (b"Name;Vorname\nAchterberg;Anna\n", "keine Spalte mit E-Mail-Adressen"),
    (b"E-Mail\n", "nur eine Überschriftenzeile"),
    (b"\xef\xbb\xbf\xff\xfe", "UTF-8"),
    (b"x" * (2 * 1024 * 1024 + 1), "größer als 2 MB"),
])
def test_unreadable_files_get_a_clear_german_message(data, message):
    with pytest.raises(AttendanceCsvError) as error:
        parse_attendance_csv(data)
    assert message in error.value.message


def test_at_most_5000_rows():
    rows = "".join(f"p{i}@stadt.de\n" for i in range(MAX_ROWS))
    assert len(parse("E-Mail\n" + rows).entries) == MAX_ROWS
    with pytest.raises(AttendanceCsvError, match="5.000 Zeilen"):
        parse("E-Mail\n" + rows + "eine.zu.viel@stadt.de\n")


def test_every_data_row_lands_in_exactly_one_bucket():
    parsed = parse("E-Mail;Name\na@stadt.de;A\nkaputt;B\na@stadt.de;C\n;D\nb@stadt.de;E\n")
    assert parsed.row_count == 5
    assert [e.line for e in parsed.entries] == [2, 6]
    assert [e.line for e in parsed.invalid] == [3, 5]
    assert [d.line for d in parsed.duplicates] == [4]
