"""The module page as a learner reads it: contents in view, where am I, and what a print shows."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: F401
from tests.browser.test_learner_journey import log_in

pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e .[test])")
from playwright.sync_api import expect  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"browser tests need Chromium at {CHROMIUM}"),
]

COURSE = "grundlagenkurs"
LONG_MODULE = "gk-verwaltung-verankern"  # five learning units, many objectives, three SDGs


@pytest.fixture
def desktop(browser, live_server):
    """1280 × 800 with JavaScript off: what every learner gets."""
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False,
                                  viewport={"width": 1280, "height": 800}, locale="de-DE")
    yield context.new_page()
    context.close()


@pytest.fixture
def scripted(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800}, locale="de-DE")
    yield context.new_page()
    context.close()


def test_the_contents_are_in_view_beside_the_text_at_1280_by_800(desktop, enrolled_learner, module_facts):
    log_in(desktop, enrolled_learner(COURSE))
    desktop.goto(f"/modules/{LONG_MODULE}")
    toc = desktop.get_by_role("navigation", name="Inhalt")
    first_unit = toc.get_by_role("link", name=module_facts(LONG_MODULE).toc_titles[0], exact=True)
    box = first_unit.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 800, f"first contents entry below the fold: {box}"
    objectives = desktop.locator(".module-main .objectives")
    expect(objectives).to_be_visible()  # the objectives open the main column instead


def test_each_learning_unit_says_where_the_learner_is_without_javascript(desktop, enrolled_learner):
    log_in(desktop, enrolled_learner(COURSE))
    desktop.goto(f"/modules/{LONG_MODULE}")
    positions = desktop.locator(".unit-position").all_inner_texts()
    assert positions and positions[0].lower() == "lerneinheit 1 von 5" and positions[-1].lower() == "lerneinheit 5 von 5"
    desktop.set_viewport_size({"width": 390, "height": 844})  # on a phone the contents are not beside the text
    desktop.locator(".unit-nav a").first.click()  # "↑ Zum Inhalt des Moduls" leads back to the contents
    expect(desktop).to_have_url(re.compile("#modul-inhalt$"))


def test_the_contents_mark_the_section_being_read(scripted, enrolled_learner):
    log_in(scripted, enrolled_learner(COURSE))
    scripted.goto(f"/modules/{LONG_MODULE}")
    unit = scripted.locator(".toc-level-2 a", has_text="Lerneinheit 4").first
    anchor = unit.get_attribute("href")
    scripted.goto(f"/modules/{LONG_MODULE}{anchor}")
    current = scripted.locator(".toc a[aria-current='location']")
    expect(current).to_have_count(1)
    expect(scripted.locator(".toc .is-current-unit a, .toc .is-current > a").first).to_contain_text("Lerneinheit 4")
    box = current.bounding_box()
    assert box is not None and 0 <= box["y"] <= 800, "the marked entry is scrolled into view"


def test_print_shows_objectives_and_sdg_names_without_the_empty_quiz_and_navigation(desktop, enrolled_learner):
    log_in(desktop, enrolled_learner(COURSE))
    desktop.goto(f"/modules/{LONG_MODULE}")
    desktop.emulate_media(media="print")
    expect(desktop.locator(".module-main .objectives")).to_be_visible()
    expect(desktop.locator(".sdg-full").first).to_be_visible()
    expect(desktop.locator(".sdg-list")).to_contain_text("Frieden, Gerechtigkeit und starke Institutionen")
    expect(desktop.locator(".quiz-form")).to_be_hidden()
    expect(desktop.locator(".module-pager")).to_be_hidden()
    expect(desktop.get_by_role("button", name="Als erledigt markieren")).to_be_hidden()
