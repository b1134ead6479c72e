"""Shared machinery of the content check: collecting problems with file and line, reading
YAML and text files, splitting front matter. Used by the loader and the other content readers."""

from __future__ import annotations

import difflib
import hashlib
import re
from pathlib import Path
from typing import Any, Sequence

from namalms.content.model import Problem
from namalms.content.yamlnodes import LineDict, LineList, YamlError, load_yaml

WARNING = "Warnung:"
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_LINE_BREAK = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


class Report:
    """Problems of one file; helpers read typed values and report what is wrong with them."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def add(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))

    def warn(self, line: int, message: str) -> None:
        """Something that does not stop publishing but the author should look at."""
        self.warnings.append(Problem(self.path, line, f"{WARNING} {message}"))

    def keys(self, node: LineDict, allowed: Sequence[str], required: Sequence[str],
             where: str = "") -> None:
        """Report unknown keys (with the allowed ones as a hint) and missing required keys."""
        for key in node:
            if key not in allowed:
                self.add(node.line_of(key), unknown_key_message(key, allowed, where))
        for key in required:
            if key not in node:
                self.add(node.line, f"Pflichtfeld „{key}“ fehlt{where}")

    def text(self, node: LineDict, key: str, *, required: bool = True,
             where: str = "") -> str | None:
        """A non-empty text value (stripped); None if absent, empty or of the wrong type."""
        if key not in node:
            return None
        value = node[key]
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.add(node.line_of(key), f"„{key}“ ist leer{where}")
            return None
        if not isinstance(value, str):
            self.add(node.line_of(key), type_message(key, "Text", value, where))
            return None
        return value.strip()

    def integer(self, node: LineDict, key: str, *, minimum: int, maximum: int | None = None,
                where: str = "") -> int | None:
        """A whole number within [minimum, maximum]; None if absent or invalid."""
        if key not in node:
            return None
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(node.line_of(key), type_message(key, "eine ganze Zahl", value, where))
            return None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"zwischen {minimum} und {maximum}" if maximum else f"mindestens {minimum}"
            self.add(node.line_of(key), f"„{key}“ muss {bounds} sein, ist aber {value}{where}")
            return None
        return value

    def boolean(self, node: LineDict, key: str, *, default: bool, where: str = "") -> bool:
        """true/false; the default if absent or invalid (invalid is reported)."""
        if key not in node:
            return default
        value = node[key]
        if not isinstance(value, bool):
            self.add(node.line_of(key), type_message(key, "true oder false", value, where))
            return default
        return value

    def ident(self, node: LineDict, key: str = "id", *, where: str = "") -> str | None:
        """An id: lowercase letters, digits and single hyphens."""
        value = node.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # `id: 2030` is a valid id, YAML just read it as a number
            node[key] = value
        text = self.text(node, key, where=where)
        if text is None:
            return None
        if not ID_PATTERN.match(text):
            self.add(
                node.line_of(key),
                f"„{key}“ „{text}“ ist ungültig: erlaubt sind Kleinbuchstaben, Ziffern und "
                f"einzelne Bindestriche, z. B. „gk-agenda-2030“{where}",
            )
            return None
        return text

    def mapping(self, value: Any, line: int, label: str, where: str = "") -> LineDict | None:
        """The value as a mapping, or None (reported) if it is something else."""
        if isinstance(value, LineDict):
            return value
        self.add(line, type_message(label, "eine Zuordnung (Schlüssel: Wert)", value, where))
        return None

    def sequence(self, value: Any, line: int, label: str, where: str = "") -> LineList | None:
        """The value as a list, or None (reported) if it is something else."""
        if isinstance(value, LineList):
            return value
        self.add(line, type_message(label, "eine Liste", value, where))
        return None


def unknown_key_message(key: Any, allowed: Sequence[str], where: str) -> str:
    guess = difflib.get_close_matches(str(key), allowed, n=1)
    hint = f" – meinten Sie „{guess[0]}“?" if guess else "."
    return f"unbekannter Schlüssel „{key}“{where}{hint} Erlaubt sind: {', '.join(allowed)}"


def type_message(key: str, expected: str, value: Any, where: str = "") -> str:
    return f"„{key}“ muss {expected} sein, gefunden: {describe(value)}{where}"


def describe(value: Any) -> str:
    """Say in German what a YAML value turned out to be."""
    if value is None:
        return "nichts (leerer Wert)"
    if isinstance(value, bool):
        return f"Wahrheitswert {str(value).lower()}"
    if isinstance(value, int):
        return f"Zahl {value}"
    if isinstance(value, float):
        return f"Kommazahl {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:39] + "…"
        return f"Text „{shown}“"
    if isinstance(value, list):
        return "eine Liste"
    if isinstance(value, dict):
        return "eine Zuordnung"
    return type(value).__name__


def parse_yaml(text: str, report: Report, *, line_offset: int = 0) -> Any:
    """Parse YAML, turning syntax errors into problems (returns None then)."""
    try:
        return load_yaml(text, line_offset=line_offset)
    except YamlError as error:
        report.add(error.line, error.message)
        return None


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def visible_children(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if not p.name.startswith(".")),
                  key=lambda p: p.name)


# Text files (modules, course.yml, …) are refused above this size before they are parsed or
# rendered: the biggest shipped module has 25 KB, and rendering Markdown costs more than linear
# time (1 MB took 18 s). Images follow the upload limit of namalms.content.images.
MAX_TEXT_BYTES = 512 * 1024
MAX_IMAGE_BYTES = 5 * 1024 * 1024


def size_text(size: int) -> str:
    """A file size for people: "512 KB", "45,2 MB"."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


def too_large(path: str, size: int, limit: int) -> Problem:
    return Problem(path, 1, f"Datei ist zu groß ({size_text(size)}; erlaubt sind höchstens {size_text(limit)}) – "
                            f"bitte kürzen oder auf mehrere Module aufteilen")


def text_problem(raw: bytes, path: str) -> Problem | None:
    """Why a text file is refused before it is even parsed: too large, or a NUL byte in it."""
    if len(raw) > MAX_TEXT_BYTES:
        return too_large(path, len(raw), MAX_TEXT_BYTES)
    position = raw.find(b"\x00")
    if position >= 0:
        return Problem(path, raw.count(b"\n", 0, position) + 1,
                       "Datei enthält ein NUL-Zeichen (Byte 0x00) – bitte als reine Textdatei (UTF-8) speichern")
    return None


def read_text(root: Path, relative: str, problems: list[Problem]) -> str | None:
    """Read a UTF-8 text file; a missing, too large or binary file or another encoding is a
    problem, not a crash (and a huge file is not even read)."""
    path = root / relative
    if not path.is_file():
        problems.append(Problem(relative, 1, "Datei fehlt"))
        return None
    size = path.stat().st_size
    if size > MAX_TEXT_BYTES:
        problems.append(too_large(relative, size, MAX_TEXT_BYTES))
        return None
    raw = path.read_bytes()
    refusal = text_problem(raw, relative)
    if refusal is not None:
        problems.append(refusal)
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        problems.append(Problem(relative, line, f"Datei ist nicht UTF-8-kodiert (Byte "
                                f"0x{raw[error.start]:02x}) – bitte als UTF-8 speichern"))
        return None


def split_lines(text: str) -> list[str]:
    """Split into lines keeping their endings; only CR/LF count (as in YAML line numbers)."""
    return _LINE_BREAK.findall(text)


def split_front_matter(text: str, report: Report) -> tuple[str, str, int] | None:
    """Return (front matter YAML, body, first line of the body) or None (reported)."""
    lines = split_lines(text.removeprefix("\ufeff"))
    if not lines or lines[0].rstrip() != "---":
        report.add(1, "Front Matter fehlt: Die Datei muss mit einer Zeile „---“ beginnen, "
                      "gefolgt von id, title, order … und einer weiteren Zeile „---“")
        return None
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return "".join(lines[1:index]), "".join(lines[index + 1:]), index + 2
    report.add(1, "Front Matter wird nicht mit einer Zeile „---“ abgeschlossen")
    return None
