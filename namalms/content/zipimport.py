"""Read an uploaded course folder from a ZIP file without trusting anything in it.

Pure Python (no Flask, no database): the publishing service calls :func:`read_course_zip` and
only ever sees the files as bytes in memory; nothing from the archive touches the disk here.

What is refused, all reported together in German so a trainer fixes the archive in one go:

- absolute paths, drive letters, ``..``, backslashes, empty or ``.`` path parts, control
  characters – anything that could point outside the course folder;
- symbolic links (recognised by the Unix mode in ``external_attr``), encrypted members;
- duplicate names (also when they differ only in upper/lower case);
- more than ``max_entries`` entries or more than ``max_total_bytes`` once unpacked, and any one
  member above the limit of its kind (a text file above 512 KB, an image above 5 MB): refused
  before it is decompressed. Sizes are counted while reading, with a byte cap, because the
  sizes in the ZIP headers can lie;
- every file that is not part of a course folder: ``course.yml``, ``*.md`` and
  ``img/*.png|jpg|jpeg|webp``, all in one course folder.

Metadata that operating systems add on their own (``__MACOSX/``, ``.DS_Store`` and other hidden
files) is skipped after the path checks, as the content loader skips hidden files.
"""
from __future__ import annotations

import io
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass

from namalms.content.loader import MAX_IMAGE_BYTES, MAX_TEXT_BYTES, size_text

MAX_ENTRIES = 300
MAX_TOTAL_BYTES = 50 * 1024 * 1024
COURSE_FILE = "course.yml"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")

FOLDER_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Letters (also umlauts), digits, dot, hyphen, underscore; not starting with a dot.
FILE_NAME_PATTERN = re.compile(r"^[^\W_][\w.\-]*$")
_DRIVE = re.compile(r"^[A-Za-z]:")


class ZipRejected(Exception):
    """The archive is refused; ``problems`` says everything that is wrong (German)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class CourseArchive:
    """The files of one course folder, read from a ZIP.

    ``folder`` is the archive's top-level folder (``grundlagenkurs``), or None when the files lie
    at the top of the archive. ``files`` maps paths relative to the course folder
    (``course.yml``, ``01-start.md``, ``img/bild.png``) to their bytes.
    """

    folder: str | None
    files: dict[str, bytes]
    ignored: tuple[str, ...] = ()


def read_course_zip(data: bytes, *, max_entries: int = MAX_ENTRIES,
                    max_total_bytes: int = MAX_TOTAL_BYTES) -> CourseArchive:
    """Check and read a course folder from ZIP bytes; raise :class:`ZipRejected` if unsafe."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise ZipRejected(["Die Datei ist keine gültige ZIP-Datei."]) from None
    with archive:
        entries = archive.infolist()
        if len(entries) > max_entries:
            raise ZipRejected([f"Die ZIP-Datei hat {len(entries)} Einträge – erlaubt sind höchstens "
                               f"{max_entries}."])
        problems: list[str] = []
        members, ignored = _check_entries(entries, problems)
        if problems:
            raise ZipRejected(problems)
        folder, relative = _course_layout(members, problems)
        if problems:
            raise ZipRejected(problems)
        files = _read_members(archive, relative, max_total_bytes, problems)
        if problems:
            raise ZipRejected(problems)
    return CourseArchive(folder=folder, files=files, ignored=tuple(ignored))


def path_problem(name: str) -> str | None:
    """Say why a member name is unsafe, or None when it stays inside the folder."""
    if not name:
        return "leerer Dateiname"
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        return "Steuerzeichen im Dateinamen"
    if "\\" in name:
        return "umgekehrter Schrägstrich („\\“) im Pfad – bitte die ZIP-Datei mit „/“ als Trennzeichen erstellen"
    if name.startswith("/") or _DRIVE.match(name):
        return "absoluter Pfad"
    parts = name.rstrip("/").split("/")
    if ".." in parts:
        return "„..“ im Pfad – der Eintrag würde aus dem Kursordner hinausführen"
    if any(part in ("", ".") for part in parts):
        return "leerer Pfadbestandteil („//“ oder „./“)"
    return None


def is_symlink(info: zipfile.ZipInfo) -> bool:
    """True when the entry's Unix mode marks a symbolic link."""
    return stat.S_ISLNK(info.external_attr >> 16)


def _is_os_metadata(name: str) -> bool:
    parts = name.rstrip("/").split("/")
    return parts[0] == "__MACOSX" or any(part.startswith(".") for part in parts)


def _check_entries(entries: list[zipfile.ZipInfo],
                   problems: list[str]) -> tuple[list[zipfile.ZipInfo], list[str]]:
    """Path, link, encryption and duplicate checks; returns the file members and skipped names."""
    members: list[zipfile.ZipInfo] = []
    ignored: list[str] = []
    seen: dict[str, str] = {}
    for info in entries:
        name = info.filename
        shown = _shown(name)
        reason = path_problem(name)
        if reason is not None:
            problems.append(f"„{shown}“: {reason}.")
            continue
        if is_symlink(info):
            problems.append(f"„{shown}“: symbolische Verknüpfung (Symlink) – nur echte Dateien sind erlaubt.")
            continue
        if info.flag_bits & 0x1:
            problems.append(f"„{shown}“: verschlüsselter Eintrag – bitte ohne Passwort packen.")
            continue
        key = name.rstrip("/").casefold()
        if key in seen:
            problems.append(f"„{shown}“: doppelter Name (auch „{_shown(seen[key])}“).")
            continue
        seen[key] = name
        if _is_os_metadata(name):
            ignored.append(name)
        elif not info.is_dir():
            members.append(info)
    return members, ignored


def _course_layout(members: list[zipfile.ZipInfo],
                   problems: list[str]) -> tuple[str | None, dict[str, zipfile.ZipInfo]]:
    """Find the course folder and map each member to its path inside that folder."""
    if not members:
        problems.append("Die ZIP-Datei enthält keine Dateien.")
        return None, {}
    names = [info.filename for info in members]
    tops = {name.split("/", 1)[0] for name in names}
    folder = None
    if len(tops) == 1 and all("/" in name for name in names) and next(iter(tops)) != "img":
        folder = next(iter(tops))
        if not FOLDER_PATTERN.match(folder):
            problems.append(f"Ordnername „{_shown(folder)}“ ist ungültig: erlaubt sind Kleinbuchstaben, "
                            f"Ziffern und einzelne Bindestriche, z. B. „grundlagenkurs“.")
    relative = {}
    for info in members:
        inner = info.filename.split("/", 1)[1] if folder else info.filename
        if not _is_course_file(inner):
            problems.append(f"„{_shown(info.filename)}“: unbekannte Datei – erlaubt sind nur course.yml, "
                            f"Moduldateien (*.md) und Bilder in img/ (PNG, JPEG, WebP), alle in einem "
                            f"Kursordner.")
            continue
        if not FILE_NAME_PATTERN.match(inner.rsplit("/", 1)[-1]):
            problems.append(f"„{_shown(info.filename)}“: Dateiname mit Leer- oder Sonderzeichen – "
                            f"erlaubt sind Buchstaben, Ziffern, „-“, „_“ und „.“.")
            continue
        relative[inner] = info
    if not problems and COURSE_FILE not in relative:
        problems.append("course.yml fehlt – die ZIP-Datei muss genau einen Kursordner mit seiner "
                        "course.yml enthalten.")
    return folder, relative


def _is_course_file(path: str) -> bool:
    parts = path.split("/")
    if parts == [COURSE_FILE]:
        return True
    if len(parts) == 1:
        return parts[0].endswith(".md")
    return len(parts) == 2 and parts[0] == "img" and parts[1].lower().endswith(IMAGE_SUFFIXES)


def _read_members(archive: zipfile.ZipFile, relative: dict[str, zipfile.ZipInfo],
                  max_total_bytes: int, problems: list[str]) -> dict[str, bytes]:
    """Read every member, counting real bytes against the cap (header sizes are not trusted)."""
    files: dict[str, bytes] = {}
    total = 0
    limit_mb = max_total_bytes // (1024 * 1024)
    if sum(info.file_size for info in relative.values()) > max_total_bytes:
        problems.append(f"Die ZIP-Datei ist entpackt größer als {limit_mb} MB.")
        return files
    for inner, info in relative.items():
        limit = MAX_IMAGE_BYTES if inner.lower().endswith(IMAGE_SUFFIXES) else MAX_TEXT_BYTES
        if info.file_size > limit:
            problems.append(f"„{_shown(info.filename)}“: Datei ist zu groß ({size_text(info.file_size)}; erlaubt "
                            f"sind höchstens {size_text(limit)}).")
            continue
        remaining = min(max_total_bytes - total, limit)
        try:
            with archive.open(info) as handle:
                content = handle.read(remaining + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError):
            problems.append(f"„{_shown(info.filename)}“: Eintrag ist beschädigt oder seine "
                            f"Größenangabe stimmt nicht.")
            continue
        if len(content) > remaining:
            if remaining == limit:  # the header understated this member's size
                problems.append(f"„{_shown(info.filename)}“: Datei ist zu groß (mehr als {size_text(limit)}).")
                continue
            problems.append(f"Die ZIP-Datei ist entpackt größer als {limit_mb} MB "
                            f"(abgebrochen bei „{_shown(info.filename)}“).")
            return files
        if len(content) != info.file_size:
            problems.append(f"„{_shown(info.filename)}“: Größenangabe im ZIP-Verzeichnis stimmt nicht "
                            f"({info.file_size} Byte angegeben, {len(content)} Byte gelesen).")
            continue
        total += len(content)
        files[inner] = content
    return files


def _shown(name: str) -> str:
    """A member name safe to show: control characters visible, long names shortened."""
    printable = "".join(char if 32 <= ord(char) != 127 else "�" for char in name)
    return printable if len(printable) <= 80 else printable[:79] + "…"
