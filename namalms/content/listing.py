"""Pure text edits of ``course.yml`` and module front matter, keeping everything else as written.

Reordering or retiring modules rewrites the ``modules:``/``retired:`` block of ``course.yml`` and
the ``order:`` line of each moved module; comments and other keys stay byte for byte. No Flask,
no database: a :class:`ListingError` carries a German message for whoever called.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from namalms.content.yamlnodes import LineDict, YamlError, load_yaml

_ORDER_LINE = re.compile(r"^(order:[ \t]*)(\d+)([ \t]*(?:#.*)?)$")


class ListingError(ValueError):
    """The file cannot be edited as asked; ``message`` says why, in German."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def set_order_line(source: str, order: int) -> str:
    """The module source with its front matter line ``order: N`` set to ``order``."""
    lines = source.split("\n")
    if not lines or lines[0].strip().lstrip("\ufeff") != "---":
        raise ListingError("Front Matter nicht gefunden – die Position kann nicht angepasst werden.")
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            break
        match = _ORDER_LINE.match(lines[index].rstrip("\r"))
        if match:
            ending = "\r" if lines[index].endswith("\r") else ""
            lines[index] = f"{match.group(1)}{order}{match.group(3)}{ending}"
            return "\n".join(lines)
    raise ListingError("Zeile „order: …“ im Front Matter nicht gefunden – die Position kann nicht "
                       "angepasst werden.")


@dataclass
class CourseListing:
    """The module list of a course.yml: (id, required) in order, and the retired ids."""

    modules: list[tuple[str, bool]]
    retired: list[str]

    @property
    def ids(self) -> list[str]:
        return [module_id for module_id, _ in self.modules]


def read_listing(course_yml: str) -> CourseListing:
    """Read ``modules:`` and ``retired:`` of a (valid) course.yml."""
    try:
        node = load_yaml(course_yml)
    except YamlError as error:
        raise ListingError(f"course.yml ist fehlerhaft (Zeile {error.line}): {error.message}") from None
    if not isinstance(node, dict):
        raise ListingError("course.yml ist fehlerhaft.")
    modules = [(str(item["id"]), item.get("required", True) is not False)
               for item in node.get("modules") or () if isinstance(item, dict) and "id" in item]
    retired = [str(item) for item in node.get("retired") or () if isinstance(item, str)]
    return CourseListing(modules, retired)


def write_listing(course_yml: str, listing: CourseListing) -> str:
    """course.yml with its ``modules:`` (and ``retired:``) block rewritten from ``listing``.

    Everything else – texts, comments, other keys – stays byte for byte. Comments inside the
    module list itself are not kept.
    """
    node = load_yaml(course_yml)
    if not isinstance(node, LineDict) or "modules" not in node:
        raise ListingError("course.yml hat keine Liste „modules:“.")
    lines = course_yml.split("\n")
    starts = sorted(node.line_of(key) for key in node)
    ranges = {key: _key_range(lines, node.line_of(key), starts) for key in ("modules", "retired") if key in node}
    block = ["modules:"]
    for module_id, is_required in listing.modules:
        block.append(f"  - id: {module_id}")
        if not is_required:
            block.append("    required: false")
    if listing.retired:
        block.append("retired:  # zurückgezogen: Datei bleibt, für neue Teilnehmende ausgeblendet")
        block.extend(f"  - {module_id}" for module_id in listing.retired)
    output: list[str] = []
    skip = set()
    for key, (first, last) in ranges.items():
        if key == "retired":
            skip.update(range(first, last + 1))
    first_modules, last_modules = ranges["modules"]
    for number, line in enumerate(lines, start=1):
        if number == first_modules:
            output.extend(block)
        if first_modules <= number <= last_modules or number in skip:
            continue
        output.append(line)
    return "\n".join(output)


def _key_range(lines: list[str], start: int, starts: list[int]) -> tuple[int, int]:
    """Lines (1-based, inclusive) of a top-level key's block, without trailing blanks/comments."""
    following = [line for line in starts if line > start]
    end = (following[0] - 1) if following else len(lines)
    while end > start and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    return start, end
