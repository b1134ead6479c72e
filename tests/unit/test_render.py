"""Markdown rendering: readable HTML, a table of contents, and nothing that can run script."""

from __future__ import annotations

import re

import pytest

from namalms.content.render import (
    ImageInMarkdown,
    TocEntry,
    dropped_elements,
    extract_images,
    render_markdown,
    slugify,
)


def assets(src: str) -> str | None:
    """A resolver like the app's: known relative images map to a local asset URL."""
    return f"/assets/{src}" if src.startswith("img/") else None


def html_of(text: str) -> str:
    return render_markdown(text, resolve_image=assets).html


# --- structure and table of contents ---------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Lerneinheit 1: Größe & Maß", "lerneinheit-1-groesse-mass"),
        ("Über Ökologie und Äcker", "ueber-oekologie-und-aecker"),
        ("Café – Strategie", "cafe-strategie"),
        ("  SDG 11: Städte  ", "sdg-11-staedte"),
        ("???", "abschnitt"),
    ],
)
def test_slugify_makes_readable_german_anchors(heading: str, anchor: str) -> None:
    assert slugify(heading) == anchor


def test_h2_and_h3_become_the_table_of_contents() -> None:
    rendered = render_markdown(
        "## Lerneinheit 1: Größe & Maß\n\nText\n\n### Teil `a`\n\n#### Detail\n\n## Zweite\n"
    )

    assert rendered.toc == (
        TocEntry(2, "lerneinheit-1-groesse-mass", "Lerneinheit 1: Größe & Maß"),
        TocEntry(3, "teil-a", "Teil a"),
        TocEntry(2, "zweite", "Zweite"),
    )
    assert '<h2 id="lerneinheit-1-groesse-mass">' in rendered.html
    assert '<h4 id="detail">Detail</h4>' in rendered.html


def test_h1_in_a_body_is_downgraded_to_h2() -> None:
    rendered = render_markdown("# Titel\n\n<h1>Roh</h1>\n")

    assert "<h1" not in rendered.html
    assert '<h2 id="titel">Titel</h2>' in rendered.html
    assert "<h2>Roh</h2>" in rendered.html
    assert rendered.toc == (TocEntry(2, "titel", "Titel"),)


def test_repeated_headings_get_unique_anchors() -> None:
    rendered = render_markdown("## Fazit\n\n## Fazit\n")

    anchors = [entry.anchor for entry in rendered.toc]
    assert len(set(anchors)) == 2 and anchors[0] == "fazit"


def test_tables_are_wrapped_for_phones_and_alignment_becomes_classes() -> None:
    html = html_of("| Ziel | Anzahl |\n|:--|--:|\n| SDG | 17 |\n")

    assert html.startswith('<div class="table-wrap"><table>')
    assert html.rstrip().endswith("</table></div>")
    assert '<th class="align-left">Ziel</th>' in html
    assert '<td class="align-right">17</td>' in html
    assert "style" not in html and "align=" not in html


def test_common_markdown_survives_cleaning() -> None:
    html = html_of(
        "Text mit **fett**, *kursiv*, `code` und H<sub>2</sub>O<sup>1</sup>.\n\n"
        "> Zitat\n\n1. eins\n2. zwei\n\n- a\n- b\n\n---\n\n"
        "```python\nprint('<b>')\n```\n\n"
        '<dl><dt>SDG</dt><dd>Ziel</dd></dl>\n\n<abbr title="Nachhaltigkeit">NH</abbr>\n'
    )

    for fragment in ("<strong>fett</strong>", "<em>kursiv</em>", "<code>code</code>",
                     "<sub>2</sub>", "<sup>1</sup>", "<blockquote>", "<ol>", "<ul>", "<hr>",
                     "<pre><code>print('&lt;b&gt;')", "<dl><dt>SDG</dt><dd>Ziel</dd></dl>",
                     '<abbr title="Nachhaltigkeit">NH</abbr>'):
        assert fragment in html


def test_text_entities_are_kept_escaped() -> None:
    html = html_of("AT&T sagt &lt;b&gt; und 3 < 4\n")

    assert "AT&amp;T sagt &lt;b&gt; und 3 &lt; 4" in html


def test_unknown_harmless_tags_are_stripped_but_their_text_kept() -> None:
    html = html_of('<div class="x"><span style="color:red">Hallo</span></div>\n')

    assert "Hallo" in html
    assert "<div" not in html and "<span" not in html and "style" not in html


# --- links and images ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("[LAG 21](https://www.lag21.de)",
         '<a href="https://www.lag21.de" rel="noopener noreferrer">LAG 21</a>'),
        ("[alt](http://example.org)",
         '<a href="http://example.org" rel="noopener noreferrer">alt</a>'),
        ("[Abschnitt](#ziele)", '<a href="#ziele">Abschnitt</a>'),
        ("[Modul](../grundlagen/)", '<a href="../grundlagen/">Modul</a>'),
        ("[Mail](mailto:info@example.org)", '<a href="mailto:info@example.org">Mail</a>'),
    ],
    ids=["https", "http", "anchor", "relative", "mailto"],
)
def test_links_keep_safe_targets_and_external_ones_get_rel(markdown: str, expected: str) -> None:
    assert expected in html_of(markdown)


def test_relative_image_is_passed_as_written_and_replaced_by_the_resolver() -> None:
    seen = []

    def resolve(src: str) -> str:
        seen.append(src)
        return "/inhalte/abc123.png"

    html = render_markdown('![Ein Diagramm](img/x.png "Titel")', resolve_image=resolve).html

    assert seen == ["img/x.png"]
    assert '<img alt="Ein Diagramm" src="/inhalte/abc123.png" title="Titel">' in html


@pytest.mark.parametrize(
    "markdown",
    [
        "![Weg](img/unbekannt.png)",  # resolver returns None
        "![Extern](https://evil.example/x.png)",
        "![Extern](//evil.example/x.png)",
        "![Absolut](/static/x.png)",
        "![Daten](data:image/png;base64,iVBORw0KGgo=)",
        '<img src="https://evil.example/x.png" alt="Extern">',
        '<img alt="ohne src">',
    ],
    ids=["unresolved", "https", "protocol-relative", "absolute", "data", "raw-external",
         "no-src"],
)
def test_images_that_cannot_be_resolved_locally_are_dropped_entirely(markdown: str) -> None:
    def resolve(src: str) -> str | None:
        return None if "unbekannt" in src else f"/assets/{src}"

    html = render_markdown(markdown, resolve_image=resolve).html

    assert "<img" not in html
    assert "evil.example" not in html and "Weg" not in html and "data:" not in html


def test_without_a_resolver_no_image_is_rendered() -> None:
    assert "<img" not in render_markdown("![Bild](img/x.png)").html


def test_image_without_alt_gets_an_empty_alt() -> None:
    assert '<img src="/assets/img/x.png" alt="">' in html_of('<img src="img/x.png">')


def test_extract_images_finds_inline_reference_and_raw_images_but_not_code() -> None:
    text = (
        "![Eins](img/eins.png)\n\n![Zwei][ref]\n\n[ref]: img/zwei.png\n\n"
        '<img src="img/drei.png">\n\n`![nein](img/code.png)`\n\n    ![nein](img/block.png)\n'
    )

    assert extract_images(text) == (
        ImageInMarkdown("img/eins.png", "Eins"),
        ImageInMarkdown("img/zwei.png", "Zwei"),
        ImageInMarkdown("img/drei.png", None),
    )


# --- XSS: nothing executable survives ---------------------------------------------------------

XSS_CASES = [
    ("<script>alert(1)</script>", "script-element"),
    ("Text <script>alert(1)</script> Text", "inline-script"),
    ('<img src="img/x.png" onerror="alert(1)">', "img-onerror"),
    ('<img src=x onerror=alert(1)>', "img-onerror-unquoted"),
    ("[klick](javascript:alert(1))", "markdown-javascript-link"),
    ('[klick](javascript:alert(1) "t")', "markdown-javascript-link-with-title"),
    ("[klick](JaVaScRiPt:alert(1))", "markdown-mixed-case"),
    ("[klick](&#106;avascript:alert(1))", "markdown-entity-encoded"),
    ("[klick][x]\n\n[x]: javascript:alert(1)", "markdown-reference-link"),
    ("<javascript:alert(1)>", "autolink"),
    ('<a href="javascript:alert(1)">klick</a>', "raw-javascript-link"),
    ('<a href="JaVaScRiPt:alert(1)">klick</a>', "raw-mixed-case"),
    ('<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">k</a>',
     "raw-entity-encoded"),
    ('<a href="&#x6A;avascript&colon;alert(1)">k</a>', "raw-hex-entity-and-colon-entity"),
    ('<a href="jav&#x09;ascript:alert(1)">k</a>', "raw-tab-entity"),
    ('<a href=" javascript:alert(1)">k</a>', "raw-leading-space"),
    ('<a href="vbscript:msgbox(1)">k</a>', "vbscript"),
    ('<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">k</a>', "data-link"),
    ("[k](data:text/html,<script>alert(1)</script>)", "markdown-data-link"),
    ('<iframe src="https://evil.example"></iframe>', "iframe"),
    ("<style>body { display: none }</style>", "style-element"),
    ('<p style="background:url(javascript:alert(1))">x</p>', "style-attribute"),
    ('<form action="https://evil.example"><input name="pw"><button>Los</button></form>', "form"),
    ("<svg><script>alert(1)</script></svg>", "svg-script"),
    ('<svg onload="alert(1)"><circle r="1"/></svg>', "svg-onload"),
    ('<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>', "mxss-math"),
    ('<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">', "object"),
    ('<div onclick="alert(1)" onmouseover="alert(1)">x</div>', "event-handlers"),
    ("<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>", "noscript"),
    ("<!--<script>alert(1)</script>-->", "comment"),
    ("<base href=\"https://evil.example/\"><meta http-equiv=\"refresh\" content=\"0\">", "base"),
    ('<a href="https://ok.example" onclick="alert(1)" target="_blank">k</a>', "a-onclick"),
    ('<h2 id="x" onclick="alert(1)">T</h2>', "heading-onclick"),
]


@pytest.mark.parametrize("markdown", [case for case, _ in XSS_CASES],
                         ids=[name for _, name in XSS_CASES])
def test_nothing_executable_survives_rendering(markdown: str) -> None:
    html = html_of(markdown).lower()

    for forbidden in ("<script", "<style", "<iframe", "<object", "<embed", "<form", "<input",
                      "<svg", "<math", "<base", "<meta", "<button", "<noscript", "javascript:",
                      "vbscript:", "data:", "style=", "target="):
        assert forbidden not in html, forbidden
    assert not re.search(r"\son\w+\s*=", html), html


def test_script_and_style_content_is_removed_not_shown_as_text() -> None:
    html = html_of("Vorher\n\n<script>alert('x')</script>\n\n<style>p{}</style>\n\nNachher\n")

    assert "alert" not in html and "p{}" not in html
    assert "Vorher" in html and "Nachher" in html


def test_form_text_remains_but_controls_do_not() -> None:
    html = html_of('<form><label>Name</label><input name="n"><textarea>geheim</textarea></form>')

    assert "Name" in html
    assert "<input" not in html and "geheim" not in html


@pytest.mark.parametrize(("markdown", "expected"), [
    pytest.param("Text\n\n<textarea>\n\nRest", [(3, "textarea")], id="unclosed-textarea"),
    pytest.param("<script>x</script> und <STYLE>", [(1, "script"), (1, "style")], id="several-in-one-line"),
    pytest.param("Ein `<textarea>` im Code", [], id="code-span"),
    pytest.param("```html\n<iframe src=x></iframe>\n```\n<select>", [(4, "select")], id="fenced-code-then-html"),
    pytest.param("~~~\n<svg>\n~~~", [], id="tilde-fence"),
    pytest.param("<template><noscript><title>", [(1, "template"), (1, "noscript"), (1, "title")], id="more"),
    pytest.param("<b>fett</b> und <textareax>", [], id="similar-names-are-not-dropped"),
])
def test_dropped_elements_are_found_with_their_line(markdown, expected) -> None:
    assert dropped_elements(markdown) == expected


def test_everything_dropped_elements_report_is_really_dropped_by_the_renderer() -> None:
    """The check and the renderer agree: what the check reports would vanish from the page."""
    page = html_of("Vorher\n\n<textarea>\n\nNachher")
    assert "Vorher" in page and "Nachher" not in page
