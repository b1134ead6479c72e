"""Line diffs between two versions of a content file, and sources annotated with problems.

Pure Python (difflib): the trainer pages render the rows as an HTML table with line numbers
and explicit +/− markers, so a change is never shown by colour alone.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable

ADDED, REMOVED, CONTEXT, HUNK, CHANGED = "added", "removed", "context", "hunk", "changed"
MARKERS = {ADDED: "+", REMOVED: "−", CONTEXT: "", HUNK: "", CHANGED: "±"}
LABELS = {ADDED: "hinzugefügt", REMOVED: "entfernt", CONTEXT: "unverändert", HUNK: "Abschnitt",
          CHANGED: "geändert"}


@dataclass(frozen=True)
class DiffLine:
    """One row of a unified diff: a context, added or removed line, or a hunk header."""

    kind: str
    old_number: int | None
    new_number: int | None
    text: str

    @property
    def marker(self) -> str:
        """"+" for added, "−" for removed lines, empty otherwise."""
        return MARKERS[self.kind]

    @property
    def label(self) -> str:
        """The kind in German words, for screen readers."""
        return LABELS[self.kind]


@dataclass(frozen=True)
class SideBySideRow:
    """One row of a side-by-side diff; a side is None where that version has no line."""

    kind: str
    old_number: int | None
    old_text: str | None
    new_number: int | None
    new_text: str | None

    @property
    def label(self) -> str:
        return LABELS[self.kind]


@dataclass(frozen=True)
class Diff:
    """A unified diff as rows plus the numbers a summary needs."""

    lines: tuple[DiffLine, ...]
    added: int
    removed: int

    @property
    def is_empty(self) -> bool:
        """True when both versions are the same, line by line."""
        return not self.added and not self.removed

    @property
    def summary(self) -> str:
        """"3 Zeilen hinzugefügt, 1 Zeile entfernt" or "keine Unterschiede"."""
        if self.is_empty:
            return "keine Unterschiede"
        return f"{_lines(self.added)} hinzugefügt, {_lines(self.removed)} entfernt"


def _lines(count: int) -> str:
    return f"{count} Zeile" if count == 1 else f"{count} Zeilen"


def _split(text: str) -> list[str]:
    return text.splitlines()


def unified_diff(old: str, new: str, *, context: int = 3) -> Diff:
    """Compare two texts line by line; unchanged stretches longer than ``context`` are cut."""
    a, b = _split(old), _split(new)
    rows: list[DiffLine] = []
    added = removed = 0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        rows.append(DiffLine(HUNK, first[1] + 1, first[3] + 1,
                             f"Zeilen {_range(first[1], last[2])} → {_range(first[3], last[4])}"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows.extend(DiffLine(CONTEXT, i + 1, j1 + (i - i1) + 1, a[i]) for i in range(i1, i2))
                continue
            if tag in ("replace", "delete"):
                rows.extend(DiffLine(REMOVED, i + 1, None, a[i]) for i in range(i1, i2))
                removed += i2 - i1
            if tag in ("replace", "insert"):
                rows.extend(DiffLine(ADDED, None, j + 1, b[j]) for j in range(j1, j2))
                added += j2 - j1
    return Diff(tuple(rows), added, removed)


def _range(start: int, end: int) -> str:
    """Lines start+1 … end as "4–9" (or "4" for one line, "–" for none)."""
    if end <= start:
        return f"nach {start}" if start else "–"
    return f"{start + 1}" if end == start + 1 else f"{start + 1}–{end}"


def side_by_side(old: str, new: str, *, context: int = 3) -> list[SideBySideRow]:
    """The same comparison as two columns; replaced lines are paired up row by row."""
    a, b = _split(old), _split(new)
    rows: list[SideBySideRow] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        rows.append(SideBySideRow(HUNK, first[1] + 1, f"Zeilen {_range(first[1], last[2])}",
                                  first[3] + 1, f"Zeilen {_range(first[3], last[4])}"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows.extend(SideBySideRow(CONTEXT, i + 1, a[i], j1 + (i - i1) + 1, a[i]) for i in range(i1, i2))
                continue
            for offset in range(max(i2 - i1, j2 - j1)):
                i, j = i1 + offset, j1 + offset
                old_line = (i + 1, a[i]) if i < i2 else (None, None)
                new_line = (j + 1, b[j]) if j < j2 else (None, None)
                kind = CHANGED if old_line[0] and new_line[0] else (REMOVED if old_line[0] else ADDED)
                rows.append(SideBySideRow(kind, old_line[0], old_line[1], new_line[0], new_line[1]))
    return rows


def unified_text(old: str, new: str, *, old_label: str, new_label: str, context: int = 3) -> str:
    """A classic ``diff -u`` text (for the command line)."""
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=old_label, tofile=new_label, n=context))


@dataclass(frozen=True)
class SourceLine:
    """One line of a source file with the problems reported for it."""

    number: int
    text: str
    problems: tuple[str, ...]


def annotate_lines(text: str, problems: Iterable[tuple[int, str]]) -> list[SourceLine]:
    """Number every line of ``text`` and attach each (line, message) problem to its line.

    A problem pointing past the last line (or at line 0) is attached to the nearest line, so
    nothing reported is ever hidden.
    """
    lines = _split(text) or [""]
    by_line: dict[int, list[str]] = {}
    for line, message in problems:
        target = min(max(int(line), 1), len(lines))
        by_line.setdefault(target, []).append(message)
    return [SourceLine(number, content, tuple(by_line.get(number, ())))
            for number, content in enumerate(lines, start=1)]
