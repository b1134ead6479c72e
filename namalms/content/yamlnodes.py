"""YAML loading that remembers line numbers.

The content check reports every problem as ``pfad:zeile: meldung``. Plain PyYAML throws line
information away, so this module builds mappings and sequences as ``dict``/``list`` subclasses
that carry a ``line`` (1-based, relative to the file) and know the line of each key and item.
Scalars stay plain Python values; their line is the line of their key or item.

Anchors and aliases (``&a`` / ``*a``) are rejected: content files never need them, and refusing
them rules out "billion laughs" documents in web uploads.
"""

from __future__ import annotations

from typing import Any, Hashable, Iterator

import yaml
import yaml.reader
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, SequenceNode



class LineDict(dict):
    """A mapping from YAML that knows its own line and the line of each of its keys."""

    line: int
    key_lines: dict[Hashable, int]

    def __init__(self, *args: Any, line: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = line
        self.key_lines = {}

    def line_of(self, key: Hashable) -> int:
        """Return the line of ``key``, or of the mapping itself if the key is absent."""
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A sequence from YAML that knows its own line and the line of each item."""

    line: int
    item_lines: list[int]

    def __init__(self, *args: Any, line: int = 1) -> None:
        super().__init__(*args)
        self.line = line
        self.item_lines = []

    def line_of(self, index: int) -> int:
        """Return the line of item ``index``, or of the sequence itself if out of range."""
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


class YamlError(Exception):
    """A YAML document could not be parsed; ``line`` is 1-based in the file, message German."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"{line}: {message}")
        self.line = line
        self.message = message


# PyYAML's most frequent complaints (by prefix), explained in German; others pass verbatim.
_TRANSLATIONS = (
    ("mapping values are not allowed here",
     "Doppelpunkt an unerwarteter Stelle – Werte mit „: “ bitte in Anführungszeichen setzen"),
    ("could not find expected ':'", "erwarteter Doppelpunkt fehlt"),
    ("found character '\\t' that cannot start any token",
     "Tabulatoren sind in YAML nicht erlaubt – bitte mit Leerzeichen einrücken"),
    ("found a tab character",
     "Tabulatoren sind in YAML nicht erlaubt – bitte mit Leerzeichen einrücken"),
    ("expected <block end>", "Einrückung stimmt nicht"),
    ("expected ',' or ']'", "Liste in eckigen Klammern ist nicht richtig abgeschlossen"),
    ("expected ',' or '}'", "Zuordnung in geschweiften Klammern ist nicht richtig abgeschlossen"),
    ("found unexpected end of stream", "Datei endet unerwartet (fehlt ein Anführungszeichen?)"),
    ("found undefined alias", "Anker und Verweise (& / *) sind nicht erlaubt"),
)


class _LineConstruction:
    """Builds :class:`LineDict` / :class:`LineList` from composed nodes (shared by both loaders).

    ``line_offset`` is added to every line, so front matter that starts after the opening
    ``---`` reports lines of the whole file.
    """

    line_offset = 0

    def _line(self, node: Node) -> int:
        return node.start_mark.line + 1 + self.line_offset

    def construct_line_mapping(self, node: MappingNode) -> Iterator[LineDict]:
        """Build a LineDict, recording key lines and rejecting duplicate keys."""
        mapping = LineDict(line=self._line(node))
        yield mapping
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                raise ConstructorError(
                    None, None, "Schlüssel müssen einfache Werte sein", key_node.start_mark
                )
            if key in mapping:
                raise ConstructorError(
                    None, None, f"Schlüssel „{key}“ ist doppelt", key_node.start_mark
                )
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.key_lines[key] = self._line(key_node)

    def construct_line_sequence(self, node: SequenceNode) -> Iterator[LineList]:
        """Build a LineList, recording the line of every item."""
        sequence = LineList(line=self._line(node))
        yield sequence
        for item_node in node.value:
            sequence.append(self.construct_object(item_node, deep=True))
            sequence.item_lines.append(self._line(item_node))


class LineLoader(_LineConstruction, yaml.SafeLoader):
    """The pure-Python SafeLoader building line-carrying nodes; refuses aliases while composing.

    Its errors are the ones explained in German (see ``_TRANSLATIONS``), so every document that
    the fast loader cannot read is read again by this one.
    """

    def __init__(self, stream: str, line_offset: int = 0) -> None:
        super().__init__(stream)
        self.line_offset = line_offset

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # type: ignore[override]
        """Refuse aliases before PyYAML resolves them to shared objects."""
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise ComposerError(
                None, None, "Anker und Verweise (& / *) sind nicht erlaubt", event.start_mark
            )
        return super().compose_node(parent, index)


class _AliasFound(Exception):
    """The fast loader met a node used twice, i.e. an alias (``*a``)."""


class FastLineLoader(_LineConstruction, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The same construction on libyaml's parser, about ten times faster than the pure-Python one.

    libyaml composes in C, where ``LineLoader.compose_node`` cannot refuse aliases; an alias
    there becomes a node object shared by two parents, so the composed graph is walked once and
    a node met twice refuses the document before anything is constructed (no "billion laughs").
    """

    def __init__(self, stream: str, line_offset: int = 0) -> None:
        super().__init__(stream)
        self.line_offset = line_offset

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _refuse_shared_nodes(node)
        return self.construct_document(node)


def _refuse_shared_nodes(root: Node) -> None:
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            raise _AliasFound
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for key, value in node.value:
                pending.extend((key, value))
        elif isinstance(node, SequenceNode):
            pending.extend(node.value)


# Dates stay text: no content field is a date, and rules must stay JSON-able for their hash.
for _loader in (LineLoader, FastLineLoader):
    _loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _loader.add_constructor("tag:yaml.org,2002:map", _loader.construct_line_mapping)
    _loader.add_constructor("tag:yaml.org,2002:seq", _loader.construct_line_sequence)


def load_yaml(text: str, *, line_offset: int = 0) -> Any:
    """Parse one YAML document into line-carrying nodes; raise :class:`YamlError` on bad syntax.

    Empty documents give None. ``line_offset`` shifts all reported lines (front matter).
    A document the fast loader reads is taken as it is; one it refuses for whatever reason
    (syntax, control characters, aliases) is read by the pure-Python loader, whose errors are
    the ones this module explains – so the message is the same whichever loader found it.
    """
    loader = FastLineLoader(text, line_offset)
    try:
        return loader.get_single_data()
    except (yaml.YAMLError, _AliasFound):
        pass
    finally:
        loader.dispose()
    return _load_slowly(text, line_offset)


def _load_slowly(text: str, line_offset: int) -> Any:
    loader = None
    try:
        loader = LineLoader(text, line_offset)
        return loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        raise _unclosed_quote(text, error, line_offset) or _to_yaml_error(error, line_offset) from None
    except yaml.reader.ReaderError as error:  # control characters such as NUL
        line = text.count("\n", 0, error.position) + 1 + line_offset
        raise YamlError(line, f"unzulässiges Steuerzeichen #x{error.character:04x}") from None
    finally:
        if loader is not None:
            loader.dispose()


def _unclosed_quote(text: str, error: yaml.MarkedYAMLError, line_offset: int) -> YamlError | None:
    """The real cause of most syntax errors in front matter: a quote not closed on its own line.

    YAML lets a quoted value run over several lines, so a missing closing quote in line 3 makes
    the parser take the following lines as part of the value and fail only later, at the next
    quote (PyYAML says "expected <block end>" in line 6). Front matter values are one line each,
    so a quoted value that spans lines and starts before the error is what to report.
    """
    mark = error.problem_mark or error.context_mark
    if mark is None:
        return None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if not isinstance(token, yaml.ScalarToken) or token.style not in ('"', "'"):
                continue
            start, end = token.start_mark.line, token.end_mark.line
            if start > mark.line:
                break
            if end > start:
                return _quote_error(token.style, start, line_offset)
    except yaml.YAMLError as scan_error:
        # Scanning stopped inside a quoted value that never ends (end of the document).
        opened = getattr(scan_error, "context_mark", None)
        if "quoted scalar" in (getattr(scan_error, "context", None) or "") and opened is not None:
            quote = text.splitlines()[opened.line][opened.column:opened.column + 1] or '"'
            return _quote_error(quote, opened.line, line_offset)
    return None


def _quote_error(quote: str, line: int, line_offset: int) -> YamlError:
    return YamlError(line + 1 + line_offset, (
        f"YAML-Syntaxfehler: Das Anführungszeichen {quote} wird in dieser Zeile nicht geschlossen, deshalb "
        f"gelten die folgenden Zeilen als Teil des Textes – bitte das schließende {quote} am Zeilenende ergänzen"))


def _to_yaml_error(error: yaml.MarkedYAMLError, line_offset: int) -> YamlError:
    """Turn PyYAML's error into a German message with the line PyYAML points at."""
    problem = (error.problem or error.context or "unbekannter Fehler").strip()
    mark = error.problem_mark or error.context_mark
    if problem == "found unexpected end of stream" and error.context_mark is not None:
        mark = error.context_mark  # where the unclosed quote started, not the end of the file
    line = (mark.line + 1 if mark is not None else 1) + line_offset
    message = next((german for english, german in _TRANSLATIONS if problem.startswith(english)),
                   problem)
    return YamlError(line, f"YAML-Syntaxfehler: {message}")


def to_plain(node: Any) -> Any:
    """Strip line information: return the same data as plain dicts, lists and scalars."""
    if isinstance(node, dict):
        return {key: to_plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [to_plain(item) for item in node]
    return node


def line_of(node: Any, default: int) -> int:
    """Return the line a node carries, or ``default`` for scalars and None."""
    line = getattr(node, "line", None)
    return line if isinstance(line, int) else default
