"""Reading a zipped course folder: everything unsafe or unknown is refused with a clear message."""
import io
import stat
import zipfile

import pytest

from namalms.content.zipimport import ZipRejected, is_symlink, path_problem, read_course_zip

COURSE = b"id: kurs-a\ntitle: Kurs A\norder: 1\nmodules:\n  - id: a-eins\n"
MODULE = b"---\nid: a-eins\n---\nText\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def make_zip(entries, *, lie_about=None, claimed_size=10) -> bytes:
    """entries: (name, data) or a ready ZipInfo with data; lie_about names a member whose size is faked."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
        if lie_about:
            archive.getinfo(lie_about).file_size = claimed_size  # the central directory now lies
    return buffer.getvalue()


def symlink_entry(name: str, target: bytes = b"/etc/passwd"):
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target


def refused(data: bytes, **limits) -> list[str]:
    with pytest.raises(ZipRejected) as caught:
        read_course_zip(data, **limits)
    return caught.value.problems


def test_a_course_folder_is_read_with_paths_relative_to_it():
    archive = read_course_zip(make_zip([("kurs-a/course.yml", COURSE), ("kurs-a/01-eins.md", MODULE),
                                        ("kurs-a/img/bild.png", PNG)]))
    assert archive.folder == "kurs-a"
    assert archive.files == {"course.yml": COURSE, "01-eins.md": MODULE, "img/bild.png": PNG}


def test_files_at_the_top_of_the_archive_have_no_folder():
    archive = read_course_zip(make_zip([("course.yml", COURSE), ("01-eins.md", MODULE)]))
    assert archive.folder is None and set(archive.files) == {"course.yml", "01-eins.md"}


def test_operating_system_metadata_is_skipped():
    archive = read_course_zip(make_zip([("kurs-a/course.yml", COURSE), ("__MACOSX/kurs-a/._course.yml", b"x"),
                                        ("kurs-a/.DS_Store", b"x")]))
    assert set(archive.files) == {"course.yml"}
    assert len(archive.ignored) == 2


@pytest.mark.parametrize("name, reason", [
    ("kurs-a/../../etc/passwd.md", "„..“ im Pfad"),
    ("../kurs-a/01-eins.md", "„..“ im Pfad"),
    ("/etc/kurs-a/course.yml", "absoluter Pfad"),
    ("C:/kurs-a/course.yml", "absoluter Pfad"),
    ("kurs-a\\01-eins.md", "umgekehrter Schrägstrich"),
    ("kurs-a//01-eins.md", "leerer Pfadbestandteil"),
    ("kurs-a/./01-eins.md", "leerer Pfadbestandteil"),
    ("kurs-a/01-\x01eins.md", "Steuerzeichen"),  # zipfile itself cuts names at NUL
])
def test_unsafe_paths_are_named_with_the_reason(name, reason):
    problems = refused(make_zip([("kurs-a/course.yml", COURSE), (name, MODULE)]))
    assert len(problems) == 1 and reason in problems[0]


def test_path_problem_accepts_ordinary_paths():
    assert path_problem("kurs-a/img/bild.png") is None and path_problem("kurs-a/") is None


def test_symlinks_are_refused_by_their_unix_mode():
    info, target = symlink_entry("kurs-a/01-eins.md")
    assert is_symlink(info)
    problems = refused(make_zip([("kurs-a/course.yml", COURSE), (info, target)]))
    assert problems == ["„kurs-a/01-eins.md“: symbolische Verknüpfung (Symlink) – nur echte Dateien sind erlaubt."]


def test_duplicate_names_are_refused_also_when_only_the_case_differs():
    with pytest.warns(UserWarning):  # zipfile itself warns about the duplicate
        data = make_zip([("kurs-a/course.yml", COURSE), ("kurs-a/01-eins.md", MODULE), ("kurs-a/01-eins.md", b"x")])
    assert any("doppelter Name" in p for p in refused(data))
    data = make_zip([("kurs-a/course.yml", COURSE), ("kurs-a/01-Eins.md", MODULE), ("kurs-a/01-eins.md", MODULE)])
    assert any("doppelter Name" in p for p in refused(data))


def test_more_entries_than_allowed_are_refused_before_reading():
    entries = [("kurs-a/course.yml", COURSE)] + [(f"kurs-a/{i:03d}.md", MODULE) for i in range(300)]
    assert refused(make_zip(entries)) == ["Die ZIP-Datei hat 301 Einträge – erlaubt sind höchstens 300."]


def test_too_many_uncompressed_bytes_are_refused():
    data = make_zip([("kurs-a/course.yml", COURSE), ("kurs-a/01-eins.md", b"a" * 5000)])
    assert any("größer als" in p for p in refused(data, max_total_bytes=2000))


def test_a_member_lying_about_its_size_is_refused():
    # 1 MB of zeros compresses to ~1 KB; the directory claims 10 bytes so a size check alone would pass it.
    data = make_zip([("kurs-a/course.yml", COURSE), ("kurs-a/01-eins.md", b"\x00" * 1_000_000)],
                    lie_about="kurs-a/01-eins.md")
    problems = refused(data, max_total_bytes=10_000)
    assert problems == ["„kurs-a/01-eins.md“: Eintrag ist beschädigt oder seine Größenangabe stimmt nicht."]


@pytest.mark.parametrize("name", ["kurs-a/setup.py", "kurs-a/img/bild.svg", "kurs-a/img/sub/bild.png",
                                  "kurs-a/unterordner/01.md", "kurs-a/programme.yml", "kurs-a/index.html"])
def test_unknown_files_are_refused(name):
    problems = refused(make_zip([("kurs-a/course.yml", COURSE), (name, b"x")]))
    assert len(problems) == 1 and "unbekannte Datei" in problems[0] and name in problems[0]


def test_two_course_folders_in_one_archive_are_refused():
    problems = refused(make_zip([("kurs-a/course.yml", COURSE), ("kurs-b/course.yml", COURSE)]))
    assert all("unbekannte Datei" in p for p in problems) and len(problems) == 2


def test_file_names_with_spaces_are_refused():
    problems = refused(make_zip([("kurs-a/course.yml", COURSE), ("kurs-a/01 eins.md", MODULE)]))
    assert "Dateiname mit Leer- oder Sonderzeichen" in problems[0]


def test_a_missing_course_file_and_an_invalid_folder_name_are_reported():
    assert "course.yml fehlt" in refused(make_zip([("kurs-a/01-eins.md", MODULE)]))[0]
    assert "Ordnername „Kurs A“ ist ungültig" in refused(make_zip([("Kurs A/course.yml", COURSE)]))[0]


def test_something_that_is_not_a_zip_is_refused():
    assert refused(b"PK\x03\x04 not really") == ["Die Datei ist keine gültige ZIP-Datei."]
    assert refused(b"") == ["Die Datei ist keine gültige ZIP-Datei."]


def test_all_problems_are_reported_together():
    info, target = symlink_entry("kurs-a/link.md")
    problems = refused(make_zip([("kurs-a/course.yml", COURSE), ("../boese.md", b"x"), (info, target),
                                 ("/abs.md", b"x")]))
    assert len(problems) == 3
