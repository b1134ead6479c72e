"""The certificate PDF and the German formatting it shares with the verification page."""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from namalms.certificates.document import (
    certificate_view, total_minutes,
)
from namalms.formatting import (
    format_duration as format_hours,
    format_date as format_german_short_date, format_long_date as format_german_date,
)
from namalms.certificates.fonts import FontFamily, find_font_family
from namalms.certificates.pdf import render_certificate_pdf

PDFTOTEXT = Path("/usr/bin/pdftotext")
PDFINFO = Path("/usr/bin/pdfinfo")
needs_pdftotext = pytest.mark.skipif(
    not PDFTOTEXT.exists(), reason="pdftotext (poppler-utils) is not installed"
)
needs_pdfinfo = pytest.mark.skipif(not PDFINFO.exists(), reason="pdfinfo (poppler-utils) is not installed")

VERIFY_URL = "https://lernen.nama.nrw/verify/x1Y2z3A4b5C6d7E8f9G0hI"
MODULE_TITLES = [
    "Nachhaltige Entwicklung und Agenda 2030",
    "Die SDGs in der Kommune – „global denken, lokal handeln“",
    "Nachhaltigkeitsmanagement als Steuerungsinstrument",
    "Beteiligung von Bürgerinnen und Bürgern",
    "Maßnahmen planen, Wirkungen messen: Indikatoren und Berichte",
    "Nachhaltigkeit in der Verwaltung verankern",
]


def make_snapshot(module_count: int = 6, **overrides) -> dict:
    modules = [
        {
            "id": f"modul-{index}",
            "title": f"{MODULE_TITLES[index % len(MODULE_TITLES)]} ({index + 1})",
            "course_title": "Grundlagenkurs Kommunales Nachhaltigkeitsmanagement",
            "completed_at": f"2026-10-{index % 28 + 1:02d}T10:00:00+00:00",
            "minutes": 90,
            "quiz_score": 86,
        }
        for index in range(module_count)
    ]
    snapshot = {
        "version": 1,
        "number": "NAMA-2026-00042",
        "verification_code": "x1Y2z3A4b5C6d7E8f9G0hI",
        "verify_url": VERIFY_URL,
        "holder": {"name": "Jörg Müller-Lüdenscheidt", "municipality": "Stadt Gelsenkirchen"},
        "certificate": {
            "id": "zertifikat-grundlagenkurs",
            "title": "Zertifikat Grundlagenkurs Kommunales Nachhaltigkeitsmanagement",
            "statement": "hat den Grundlagenkurs „Kommunales Nachhaltigkeitsmanagement“ erfolgreich "
                         "abgeschlossen und ist berechtigt, in den regulären Lehrgang NaMa NRW einzusteigen.",
        },
        "issuer": {
            "name": "LAG 21 NRW – Landesarbeitsgemeinschaft Agenda 21 NRW e. V.",
            "programme": "NaMa NRW – Qualifizierung Kommunales Nachhaltigkeitsmanagement NRW",
            "place": "Dortmund",
            "signatory": "Programmleitung NaMa NRW",
        },
        "issued_at": "2026-11-22T09:15:00+00:00",
        "evidence": {
            "modules": modules,
            "workshops": [{"module_id": "gk-verwaltung-verankern",
                           "title": "Abschlussworkshop Grundlagenkurs",
                           "attended_at": "2026-11-20T14:00:00+00:00"}],
            "certificates": [{"id": "zertifikat-sonderkurs", "number": "NAMA-2026-00007"}],
        },
        "rule": {"hash": "ab" * 32, "definition": {"course_completed": "grundlagenkurs"}},
        "content_revisions": {"modul-0": 3},
        "supersedes": None,
        "a_key_from_a_later_version": {"ignored": True},
    }
    snapshot.update(overrides)
    return snapshot


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def extract_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    text = subprocess.run([str(PDFTOTEXT), "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    return " ".join(text.split())  # lines and columns do not matter, the words do


@pytest.fixture(scope="module")
def six_module_pdf() -> bytes:
    return render_certificate_pdf(make_snapshot(6))


@pytest.fixture(scope="module")
def twenty_module_pdf() -> bytes:
    return render_certificate_pdf(make_snapshot(20))


# ------------------------------------------------------------------ German formatting


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-11-22T09:15:00+00:00", "22. November 2026"),
        ("2026-11-21T23:30:00+00:00", "22. November 2026"),  # already the 22nd in Germany (CET)
        ("2026-06-30T22:30:00Z", "1. Juli 2026"),  # summer time: UTC+2
        ("2026-03-05T10:00:00", "5. März 2026"),  # no zone: stored times are UTC
        ("2026-12-31", "31. Dezember 2026"),  # a bare date is taken as it is
        (date(2027, 1, 1), "1. Januar 2027"),
        (datetime(2026, 5, 1, 23, 0, tzinfo=timezone.utc), "2. Mai 2026"),
    ],
)
def test_german_date_is_the_local_calendar_day_with_month_name(value, expected):
    assert format_german_date(value) == expected


def test_short_german_date_has_leading_zeros():
    assert format_german_short_date("2026-10-01T10:00:00+00:00") == "01.10.2026"


@pytest.mark.parametrize("value", ["", "gestern", "2026-13-01", None, 20261122])
def test_unreadable_dates_are_a_value_error(value):
    with pytest.raises(ValueError):
        format_german_date(value)


@pytest.mark.parametrize(
    "minutes, expected",
    [
        (90, "1 Std. 30 Min."),
        (60, "1 Std."),
        (45, "45 Min."),
        (20, "20 Min."),
        (0, "0 Min."),
        (600, "10 Std."),
        (12.5, "12 Min."),
        (61_200, "1.020 Std."),
    ],
)
def test_learning_time_reads_as_hours_and_minutes_everywhere(minutes, expected):
    assert format_hours(minutes) == expected


@pytest.mark.parametrize("minutes", [-1, float("nan"), float("inf"), "90", True])
def test_learning_time_refuses_what_is_not_a_duration(minutes):
    with pytest.raises(ValueError):
        format_hours(minutes)


@pytest.mark.parametrize(
    "snapshot, expected",
    [
        (make_snapshot(6), 540),
        ({"evidence": {"modules": [{"minutes": 90}, {"minutes": 45.4}]}}, 135),
        ({"evidence": {"modules": [{"minutes": 90}, {"minutes": "90"}, {}, None, {"minutes": -5}]}}, 90),
        ({"evidence": {"modules": "broken"}}, 0),
        ({"evidence": None}, 0),
        ({}, 0),
    ],
    ids=["six-modules", "fractions", "malformed-entries", "modules-not-a-list", "no-evidence", "empty"],
)
def test_total_minutes_counts_only_usable_module_durations(snapshot, expected):
    assert total_minutes(snapshot) == expected


def test_view_reads_a_snapshot_as_german_text():
    view = certificate_view(make_snapshot(2))
    assert view.place_and_date == "Dortmund, 22. November 2026"
    assert view.total_hours == "3 Std."
    assert view.modules[0].hours == "1 Std. 30 Min."
    assert view.modules[0].completed_on == "01.10.2026"
    assert view.workshops[0].attended_on == "20.11.2026"
    assert view.prior_certificates[0].number == "NAMA-2026-00007"
    assert view.issued_at == datetime(2026, 11, 22, 9, 15, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "snapshot",
    [
        {},
        {"holder": "not a mapping", "issuer": None, "evidence": []},
        {"issued_at": "kaputt",
         "evidence": {"modules": [None, {"title": 5, "minutes": "x", "completed_at": 3}]}},
        {"holder": {"name": "Jörg\n  Müller"}},
    ],
    ids=["empty", "wrong-types", "bad-values", "newline-in-name"],
)
def test_view_of_a_malformed_snapshot_is_empty_text_not_an_error(snapshot):
    view = certificate_view(snapshot)
    assert isinstance(view.holder_name, str)
    assert "\n" not in view.holder_name
    for module in view.modules:
        assert module.hours == "–" and module.completed_on == "–"


# ------------------------------------------------------------------ fonts


def test_the_shipped_source_sans_is_used_with_its_licence():
    family = find_font_family()
    assert family.name == "Source Sans 3" and family.is_available
    assert family.regular.suffix == family.bold.suffix == ".ttf"
    licence = (family.regular.parent / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL Open Font License" in licence


def test_unavailable_font_candidates_are_skipped(tmp_path: Path):
    missing = FontFamily("Missing", "nowhere", tmp_path / "a.ttf", tmp_path / "b.ttf", tmp_path / "c.ttf")
    found = find_font_family()
    assert find_font_family([missing, found]) == found


def test_no_font_at_all_is_a_clear_error(tmp_path: Path):
    missing = FontFamily("Missing", "nowhere", tmp_path / "a.ttf", tmp_path / "b.ttf", tmp_path / "c.ttf")
    with pytest.raises(RuntimeError, match="reinstall namalms.*fonts-dejavu-core"):
        find_font_family([missing])


# ------------------------------------------------------------------ the PDF


def test_pdf_is_a_pdf_of_one_or_two_pages_for_six_modules(six_module_pdf):
    assert six_module_pdf.startswith(b"%PDF-")
    assert six_module_pdf.rstrip().endswith(b"%%EOF")
    assert 1 <= page_count(six_module_pdf) <= 2


def test_twenty_modules_continue_on_a_second_page(twenty_module_pdf):
    assert page_count(twenty_module_pdf) >= 2


def test_rendering_is_deterministic(six_module_pdf):
    assert render_certificate_pdf(make_snapshot(6)) == six_module_pdf


@needs_pdftotext
def test_pdf_text_has_german_typography_holder_number_and_verify_url(six_module_pdf, tmp_path):
    text = extract_text(six_module_pdf, tmp_path)
    for expected in ["„", "“", "–", "ß", "ä", "ö", "ü", "Jörg Müller-Lüdenscheidt", "Stadt Gelsenkirchen",
                     "NAMA-2026-00042", VERIFY_URL, f"Echtheit prüfen: {VERIFY_URL}",
                     "Dortmund, 22. November 2026", "1 Std. 30 Min.", "01.10.2026", "Gesamt 9 Std.",
                     "Abschlussworkshop Grundlagenkurs (20.11.2026)", "NAMA-2026-00007",
                     "Programmleitung NaMa NRW"]:
        assert expected in text, expected


@needs_pdftotext
def test_long_module_list_repeats_the_header_and_numbers_the_pages(twenty_module_pdf, tmp_path):
    text = extract_text(twenty_module_pdf, tmp_path)
    assert "Abgeschlossene Module (Fortsetzung)" in text
    assert f"Seite 1 von {page_count(twenty_module_pdf)}" in text
    for index in range(20):
        assert f"({index + 1})" in text
    assert "Gesamt 30 Std." in text


@needs_pdftotext
def test_a_single_page_certificate_has_no_page_numbers(six_module_pdf, tmp_path):
    if page_count(six_module_pdf) != 1:
        pytest.skip("the fallback font sets this snapshot on two pages")
    assert "Seite" not in extract_text(six_module_pdf, tmp_path)


def test_a_pro_certificate_with_eight_modules_stays_on_one_page():
    if not find_font_family().name.startswith("Source Sans"):
        pytest.skip("the layout is tuned for the packaged font; the fallback font is wider")
    assert page_count(render_certificate_pdf(make_snapshot(8))) == 1


@needs_pdftotext
@pytest.mark.parametrize("module_count", [11, 13, 16, 45])
def test_the_last_page_never_holds_the_signature_block_alone(module_count, tmp_path):
    pdf = render_certificate_pdf(make_snapshot(module_count))
    pages = page_count(pdf)
    assert pages >= 2
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    last_page = subprocess.run(
        [str(PDFTOTEXT), "-enc", "UTF-8", "-f", str(pages), "-l", str(pages), str(path), "-"],
        check=True, capture_output=True, text=True,
    ).stdout
    assert "Abgeschlossene Module (Fortsetzung)" in last_page
    assert "Gesamt" in last_page
    assert "Programmleitung NaMa NRW" in last_page


@needs_pdfinfo
def test_pdf_metadata_names_title_issuer_and_issue_date(six_module_pdf, tmp_path):
    path = tmp_path / "certificate.pdf"
    path.write_bytes(six_module_pdf)
    info = subprocess.run([str(PDFINFO), "-isodates", str(path)],
                          check=True, capture_output=True, text=True).stdout
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    assert fields["Title"].strip() == "Zertifikat Grundlagenkurs Kommunales Nachhaltigkeitsmanagement"
    assert fields["Author"].strip() == "LAG 21 NRW – Landesarbeitsgemeinschaft Agenda 21 NRW e. V."
    assert "Jörg Müller-Lüdenscheidt" in fields["Subject"]
    assert fields["CreationDate"].strip().startswith("2026-11-22T09:15:00")


@pytest.mark.parametrize(
    "snapshot",
    [
        {},
        make_snapshot(0),
        make_snapshot(3, evidence={"modules": [{"title": "Nur ein Titel"}]}),
        make_snapshot(1, verify_url="https://lernen.nama.nrw/verify/" + "a" * 400),
        make_snapshot(1, holder={"name": "Maximiliane Friederike von und zu Hohenzollern-Sigmaringen-"
                                         "Württemberg-Lüdenscheidt", "municipality": None}),
        {"holder": [], "issuer": "LAG 21", "evidence": {"modules": [None, 7]}, "issued_at": 5},
    ],
    ids=["empty", "no-modules", "module-without-details", "very-long-url", "very-long-name", "wrong-types"],
)
def test_incomplete_or_odd_snapshots_still_render(snapshot):
    pdf = render_certificate_pdf(snapshot)
    assert pdf.startswith(b"%PDF-")
    assert page_count(pdf) >= 1


@needs_pdftotext
def test_without_modules_there_is_no_module_table(tmp_path):
    text = extract_text(render_certificate_pdf(make_snapshot(0)), tmp_path)
    assert "Abgeschlossene Module" not in text
    assert "Jörg Müller-Lüdenscheidt" in text


def test_pdf_without_fonts_fails_with_the_font_error(monkeypatch, tmp_path):
    from namalms.certificates import pdf as pdf_module

    def no_fonts():
        raise RuntimeError("No Unicode TrueType font found for certificate PDFs.")

    monkeypatch.setattr(pdf_module, "find_font_family", no_fonts)
    with pytest.raises(RuntimeError, match="No Unicode TrueType font"):
        render_certificate_pdf(make_snapshot(1))


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_pdf_renders_as_an_image(six_module_pdf, tmp_path):
    """A smoke test that a real PDF renderer accepts the file (no syntax errors)."""
    path = tmp_path / "certificate.pdf"
    path.write_bytes(six_module_pdf)
    result = subprocess.run(["pdftoppm", "-png", "-r", "20", str(path), str(tmp_path / "page")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert (tmp_path / "page-1.png").exists()
