"""Every page type of every role, checked by axe-core at 1280 px and 320 px (WCAG 2.1 A/AA),
and reflowed at 320 px without horizontal scrolling (WCAG 1.4.10). Beyond axe: headings without
jumps, every aria-describedby names an element, an invalid field points at its error, the
header stays on one line at 1280 px, and a form sent with mistakes puts the focus on its summary.

The page states (public pages, learner, trainer, office, error pages, forms in their error
state) are listed in `tests/browser/pages.py`; the app serves the demo data on its own database.
axe-core comes from the npm registry (`make` and `.ci/run` install it into `.venv/node/`, never
from a CDN) and is evaluated in the page through the DevTools protocol, which the page's
Content-Security-Policy does not apply to – the page itself keeps its strict CSP.
"""
from __future__ import annotations

import json

import pytest

from tests.browser.conftest import CHROMIUM
from tests.browser.pages import AXE_TAGS, STATES, PageState, demo_server, log_in
from tests.checkers import AXE, missing_checker

pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e .[test])")

WIDTHS = {"1280": {"width": 1280, "height": 800}, "320": {"width": 320, "height": 640}}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"accessibility tests need Chromium at {CHROMIUM}"),
    *missing_checker(None if AXE.exists() else f"accessibility tests need axe-core at {AXE}"),
]

# What sticks out to the right at 320 px – elements and text runs (a long German compound
# overflows its box without making the box wider) – so a failure names the culprit.
OVERFLOW_JS = """(width) => {
  const describe = (e) => e.tagName.toLowerCase() + (typeof e.className === 'string' && e.className
      ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
  const found = [];
  const sticksOut = (e) => e.getBoundingClientRect().right > width + 0.5;
  for (const e of document.querySelectorAll('body *')) {  // only the outermost offenders
    if (sticksOut(e) && !sticksOut(e.parentElement))
      found.push(describe(e) + ' → ' + Math.round(e.getBoundingClientRect().right) + ' px');
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const right = range.getBoundingClientRect().right;
    if (right > width + 0.5) found.push('text in ' + describe(node.parentElement) + ' „'
        + node.textContent.trim().slice(0, 40) + '“ → ' + Math.round(right) + ' px');
  }
  return found.slice(0, 10);
}"""

# What axe-core leaves to best practice but this app promises: headings without jumps, every
# aria-describedby pointing at something, the header on one line at desktop width.
OWN_CHECKS_JS = r"""() => {
  const problems = [];
  let last = 0;
  for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    const level = Number(h.tagName[1]);
    if (last && level > last + 1) problems.push('heading jumps from h' + last + ' to h' + level + ': ' + h.textContent.trim().slice(0, 50));
    last = level;
  }
  for (const e of document.querySelectorAll('[aria-describedby]')) {
    const ids = e.getAttribute('aria-describedby').trim().split(/\s+/).filter(Boolean);
    if (!ids.length) problems.push('empty aria-describedby on #' + e.id);
    for (const id of ids) if (!document.getElementById(id)) problems.push('aria-describedby of #' + e.id + ' names missing #' + id);
  }
  for (const e of document.querySelectorAll('[aria-invalid="true"]')) {
    if (!e.getAttribute('aria-describedby')) problems.push('#' + e.id + ' is invalid without pointing at its error');
  }
  if (window.innerWidth >= 1280) {
    const parts = ['.brand', '.main-nav', '.account'].map(s => document.querySelector(s)).filter(Boolean);
    const tops = parts.map(p => Math.round(p.getBoundingClientRect().top + p.getBoundingClientRect().height / 2));
    if (Math.max(...tops) - Math.min(...tops) > 12) problems.push('the header breaks into several lines: ' + tops);
  }
  return problems;
}"""

AXE_RUN_JS = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' – ' + (n.failureSummary || '').split('\\n').slice(1, 2).join(''))}));
}"""


@pytest.fixture(scope="module")
def facts():
    with demo_server() as demo:
        yield demo


@pytest.fixture(scope="module")
def axe_source() -> str:
    return AXE.read_text(encoding="utf-8") + "\n;0"  # evaluate() returns the last value; keep it small


FOCUS_AFTER_ERROR = {  # forms that answer with an error summary: where the focus must be
    "oeffentlich-registrieren-fehler": "fehler",
    "trainer-workshop-neu-fehler": "fehler",
    "trainer-editor-probleme": "pruefergebnis",
    "buero-widerruf-fehler": "fehler",
}


@pytest.fixture(scope="module")
def tabs(browser, facts):
    """tab(role): one tab per role (None: nobody signed in), signed in when first asked for and
    then reused by every state of that role – a new tab and a login per state cost more than
    everything the state checks. Every state starts with a navigation of its own."""
    opened = {}

    def tab(role: str | None):
        if role not in opened:
            context = browser.new_context(viewport=WIDTHS["1280"], locale="de-DE")
            context.set_default_timeout(10_000)
            page = context.new_page()
            if role is not None:
                log_in(page, facts, role)
            opened[role] = page
        return opened[role]

    yield tab
    for page in opened.values():
        page.context.close()


def open_state(tab, facts, state: PageState):
    """The role's tab at 1280 px, brought into the state; returns (page, HTTP status of the final page)."""
    page = tab(state.role)
    page.set_viewport_size(WIDTHS["1280"])
    statuses = []

    def remember(response):
        if response.request.is_navigation_request() and response.frame == page.main_frame:
            statuses.append(response.status)

    page.on("response", remember)
    try:
        state.reach(page, facts)
        page.wait_for_load_state("load")
    finally:
        page.remove_listener("response", remember)
    return page, statuses[-1] if statuses else None


@pytest.mark.parametrize("state", STATES, ids=str)
def test_page_has_no_wcag_violations_and_reflows_at_320_px(tabs, facts, axe_source, state):
    """The state is reached once at 1280 px, checked, then narrowed to 320 px – the way a phone
    or a 400 % zoom reflows the same page – and checked again."""
    page, status = open_state(tabs, facts, state)
    assert status == state.status, f"{state.name}: expected HTTP {state.status}, got {status} at {page.url}"
    page.evaluate(axe_source)
    if state.name in FOCUS_AFTER_ERROR:
        assert page.evaluate("document.activeElement.id") == FOCUS_AFTER_ERROR[state.name], \
            f"{state.name}: the focus is not on the error summary"
    for width, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        violations = page.evaluate(AXE_RUN_JS, AXE_TAGS)
        assert not violations, f"{state.name} at {width} px ({page.url}):\n" + json.dumps(
            violations, ensure_ascii=False, indent=1)
        own = page.evaluate(OWN_CHECKS_JS)
        assert not own, f"{state.name} at {width} px ({page.url}): {own}"
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 320, (f"{state.name} scrolls sideways at 320 px ({scroll_width} px): "
                                 f"{page.evaluate(OVERFLOW_JS, 320)}")
