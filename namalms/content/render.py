"""Markdown → sanitised HTML, the one entry point for rendering course content.

Rendering happens once per content revision and the result is stored, so this code favours
safety and clarity over speed. The pipeline:

1. Python-Markdown (tables, fenced code, sane lists, toc) turns Markdown into HTML; h1 headings
   become h2 because the page already has its own h1; h2/h3 are collected for the page's table
   of contents.
2. A pre-pass removes dangerous elements *with their content* (``<script>``, ``<style>``,
   ``<svg>``, ``<iframe>`` …), so no script or CSS text is left behind as visible text.
3. bleach cleans the HTML against an explicit allowlist of tags, attributes and URL protocols.
4. Filters after bleach resolve image sources (or drop the image), add
   ``rel="noopener noreferrer"`` to external links, turn table alignment into classes and wrap
   each table in ``<div class="table-wrap">`` so wide tables scroll on phones.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
import xml.etree.ElementTree as etree
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import urlsplit

import bleach
import markdown
from bleach import html5lib_shim
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

ImageResolver = Callable[[str], "str | None"]


@dataclass(frozen=True)
class TocEntry:
    """A heading for the table of contents: level 2 or 3, its anchor id and its plain text."""

    level: int
    anchor: str
    title: str


@dataclass(frozen=True)
class Rendered:
    """Sanitised HTML of a Markdown text plus its table of contents."""

    html: str
    toc: tuple[TocEntry, ...]


@dataclass(frozen=True)
class ImageInMarkdown:
    """An image a Markdown text references: ``src`` as written and its alt text (None if absent)."""

    src: str
    alt: str | None


ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "code", "pre",
        "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
        "caption", "dl", "dt", "dd", "sup", "sub", "abbr",
        # h1 passes bleach only to be renamed to h2 by _HeadingFilter right afterwards.
        "h1",
    }
)

# No style, class or on* attribute anywhere: classes are only ever added by our own filters.
ALLOWED_ATTRIBUTES: dict[str, list[str]] = {
    **{f"h{level}": ["id"] for level in range(1, 7)},
    "a": ["href", "title"],
    "img": ["src", "alt", "title"],
    "abbr": ["title"],
    # align comes from Python-Markdown's tables (use_align_attribute) and becomes a class below.
    "th": ["align"],
    "td": ["align"],
    "ol": ["start"],
}

ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})

# Elements removed together with everything inside them before bleach sees the HTML.
_DROP_WITH_CONTENT = frozenset(
    {
        "script", "style", "template", "iframe", "frame", "frameset", "object", "embed",
        "applet", "svg", "math", "noscript", "textarea", "select", "button", "title", "head",
        "audio", "video", "canvas", "noembed", "noframes", "xmp", "plaintext",
    }
)

_ALIGN_CLASSES = {"left": "align-left", "center": "align-center", "right": "align-right"}

# German letters that have an established ASCII spelling; everything else is decomposed.
_TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ẞ": "ss"})


def slugify(value: str, separator: str = "-") -> str:
    """Turn a heading into a readable anchor: „Größe & Maß“ → ``groesse-mass``.

    German umlauts are transliterated (not dropped) so anchors stay readable.
    """
    text = html.unescape(value).lower().translate(_TRANSLITERATION)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", separator, text).strip(separator)
    return slug or "abschnitt"


def render_markdown(text: str, *, resolve_image: ImageResolver | None = None) -> Rendered:
    """Render Markdown to sanitised HTML and collect h2/h3 for the table of contents.

    ``resolve_image`` receives each relative image src as written (e.g. ``img/x.png``) and
    returns the URL to use, or None to drop the image. Without a resolver, and for absolute or
    external sources, images are dropped: the platform loads nothing from third-party servers.
    """
    converter = _markdown_converter()
    raw_html = converter.convert(text)
    toc = tuple(_toc_entries(converter.toc_tokens))  # type: ignore[attr-defined]
    cleaner = bleach.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=ALLOWED_PROTOCOLS,
        strip=True,
        strip_comments=True,
        filters=[
            _HeadingFilter,
            functools.partial(_ImageFilter, resolve_image=resolve_image),
            _LinkFilter,
            _TableFilter,
        ],
    )
    return Rendered(html=cleaner.clean(_drop_dangerous_elements(raw_html)), toc=toc)


# Fenced code blocks and inline code spans: their text is shown as code, never parsed as HTML.
_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
_DROPPED_TAG = re.compile(r"<\s*(" + "|".join(sorted(_DROP_WITH_CONTENT)) + r")(?=[\s/>])", re.IGNORECASE)


def dropped_elements(text: str) -> list[tuple[int, str]]:
    """(line, element) of every raw HTML element the renderer removes together with its content.

    Such an element never shows, and one left open (``<textarea>`` without ``</textarea>``)
    swallows everything after it – the rest of the module would silently disappear. The content
    check reports them instead. Lines are 1-based in ``text``; code spans and fenced code blocks
    are skipped, as Markdown shows them as text (an indented line is not: inside a list it is HTML).
    """
    found = []
    fence = None
    for number, line in enumerate(text.splitlines(), start=1):
        opening = _FENCE.match(line)
        if fence is not None:
            if opening and opening.group(2)[0] == fence[0] and len(opening.group(2)) >= len(fence):
                fence = None
            continue
        if opening:
            fence = opening.group(2)
            continue
        for match in _DROPPED_TAG.finditer(_CODE_SPAN.sub(lambda span: " " * len(span.group(0)), line)):
            found.append((number, match.group(1).lower()))
    return found


def extract_images(text: str) -> tuple[ImageInMarkdown, ...]:
    """List the images a Markdown text references, in order, including raw ``<img>`` tags.

    Uses the same Markdown parser as rendering, so reference-style images count and images
    inside code blocks do not. The content check uses this to validate sources and alt texts.
    """
    collector = _ImageCollector()
    collector.feed(_markdown_converter().convert(text))
    collector.close()
    return tuple(collector.images)


def url_scheme(url: str) -> str | None:
    """The scheme of ``url`` in lower case ("" for a relative path), or None when ``url`` cannot be
    parsed at all (``http://[bad]/x``: a broken IPv6 host makes urlsplit raise)."""
    try:
        return urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None


def is_external_or_absolute(url: str) -> bool:
    """True for URLs with a scheme (``https:``, ``data:``…), protocol-relative or root paths, and
    for addresses too broken to parse (they are certainly not a file of the course)."""
    stripped = url.strip()
    return url_scheme(stripped) != "" or stripped.startswith(("/", "\\"))


# --- Markdown --------------------------------------------------------------------------------


class _DowngradeH1(Treeprocessor):
    """Rename h1 to h2 before the toc extension assigns anchors and collects headings."""

    def run(self, root: etree.Element) -> None:
        for element in root.iter("h1"):
            element.tag = "h2"


# An asterisk between two letters is the German gender star (Teilnehmer*innen), never emphasis.
_GENDER_STAR = re.compile(r"(?<=[^\W\d_])\*(?=[^\W\d_])")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


class _GenderStar(Preprocessor):
    """Escape the gender star so "Teilnehmer*innen und Bürger*innen" is not set in italics.

    Runs after fenced code blocks are stashed; inline code spans are left as written.
    """

    def run(self, lines: list[str]) -> list[str]:
        return [self._escape(line) if "*" in line else line for line in lines]

    @staticmethod
    def _escape(line: str) -> str:
        parts, last = [], 0
        for match in _CODE_SPAN.finditer(line):
            parts.append(_GENDER_STAR.sub(r"\\*", line[last:match.start()]))
            parts.append(match.group(0))
            last = match.end()
        parts.append(_GENDER_STAR.sub(r"\\*", line[last:]))
        return "".join(parts)


class _DowngradeH1Extension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 - Markdown's API
        # The toc treeprocessor runs at priority 5; higher priorities run earlier.
        md.treeprocessors.register(_DowngradeH1(md), "namalms_downgrade_h1", 20)
        # Fenced code is stashed at priority 25; run after it.
        md.preprocessors.register(_GenderStar(md), "namalms_gender_star", 15)


def _markdown_converter() -> markdown.Markdown:
    """A fresh converter per call: Markdown instances keep state and are not thread-safe."""
    return markdown.Markdown(
        extensions=["tables", "fenced_code", "sane_lists", "toc", _DowngradeH1Extension()],
        extension_configs={
            "tables": {"use_align_attribute": True},
            # No "[TOC]" marker: the page template renders Rendered.toc itself.
            "toc": {"slugify": slugify, "marker": "", "toc_depth": "2-3"},
        },
        output_format="html",
    )


def _toc_entries(tokens: Iterable[dict[str, Any]]) -> Iterator[TocEntry]:
    """Flatten Python-Markdown's nested toc tokens into h2/h3 entries."""
    for token in tokens:
        if token["level"] in (2, 3):
            yield TocEntry(
                level=token["level"], anchor=token["id"], title=html.unescape(token["name"])
            )
        yield from _toc_entries(token.get("children", ()))


class _ImageCollector(HTMLParser):
    """Collect (src, alt) of every <img> in an HTML text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[ImageInMarkdown] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            values = dict(attrs)
            self.images.append(ImageInMarkdown(src=values.get("src") or "", alt=values.get("alt")))

    handle_startendtag = handle_starttag


# --- HTML filters ----------------------------------------------------------------------------


def _drop_dangerous_elements(raw_html: str) -> str:
    """Remove script, style, svg, iframe … including their content.

    bleach on its own strips disallowed tags but keeps their text, which would show CSS or
    script source as page text. This pass is parsed and serialised independently of bleach, so
    even if it missed something, bleach's allowlist still applies afterwards.
    """
    parser = html5lib_shim.HTMLParser(namespaceHTMLElements=False)
    dom = parser.parseFragment(raw_html)
    walker = html5lib_shim.getTreeWalker("etree")
    serializer = html5lib_shim.HTMLSerializer(
        quote_attr_values="always", omit_optional_tags=False, alphabetical_attributes=False
    )
    return serializer.render(_DropContentFilter(walker(dom)))


class _DropContentFilter(html5lib_shim.Filter):
    """Skip every token inside (and including) an element from _DROP_WITH_CONTENT."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        depth = 0
        for token in super().__iter__():
            kind = token["type"]
            name = str(token.get("name", "")).lower()
            if kind == "StartTag" and (depth or name in _DROP_WITH_CONTENT):
                depth += 1
            elif kind == "EndTag" and depth:
                depth -= 1
            elif depth == 0 and not (kind == "EmptyTag" and name in _DROP_WITH_CONTENT):
                yield token


def _attr(token: dict[str, Any], name: str) -> str | None:
    return token.get("data", {}).get((None, name))


class _HeadingFilter(html5lib_shim.Filter):
    """Rename h1 (from raw HTML) to h2; the page title is the only h1."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for token in super().__iter__():
            if token.get("name") == "h1":
                token["name"] = "h2"
            yield token


class _ImageFilter(html5lib_shim.Filter):
    """Replace relative image sources via the resolver; drop every other image completely."""

    def __init__(self, source: Any, resolve_image: ImageResolver | None) -> None:
        super().__init__(source)
        self.resolve_image = resolve_image

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for token in super().__iter__():
            if token.get("name") != "img" or token["type"] == "EndTag":
                yield token
                continue
            url = self._resolved(_attr(token, "src"))
            if url is None:
                continue  # drop the whole element, alt text included
            data = dict(token.get("data", {}))
            data[(None, "src")] = url
            data.setdefault((None, "alt"), "")
            token["data"] = data
            yield token

    def _resolved(self, src: str | None) -> str | None:
        if not src or self.resolve_image is None or is_external_or_absolute(src):
            return None
        # bleach leaves entities in attribute values as written; the resolver gets plain text.
        return self.resolve_image(html.unescape(src))


class _LinkFilter(html5lib_shim.Filter):
    """Give links to other sites rel="noopener noreferrer"."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for token in super().__iter__():
            if token.get("name") == "a" and token["type"] == "StartTag":
                href = html.unescape(_attr(token, "href") or "").strip().lower()
                if href.startswith(("http:", "https:", "//")):
                    token["data"] = {**token.get("data", {}), (None, "rel"): "noopener noreferrer"}
            yield token


class _TableFilter(html5lib_shim.Filter):
    """Wrap tables in a scroll container and turn cell alignment into classes."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for token in super().__iter__():
            name, kind = token.get("name"), token["type"]
            if name == "table" and kind == "StartTag":
                yield {"type": "StartTag", "name": "div", "namespace": None,
                       "data": {(None, "class"): "table-wrap"}}
                yield token
            elif name == "table" and kind == "EndTag":
                yield token
                yield {"type": "EndTag", "name": "div", "namespace": None}
            elif name in ("th", "td") and kind == "StartTag":
                yield _align_to_class(token)
            else:
                yield token


def _align_to_class(token: dict[str, Any]) -> dict[str, Any]:
    data = dict(token.get("data", {}))
    align = (data.pop((None, "align"), None) or "").strip().lower()
    if align in _ALIGN_CLASSES:
        data[(None, "class")] = _ALIGN_CLASSES[align]
    token["data"] = data
    return token
