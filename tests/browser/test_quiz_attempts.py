"""A self-check cannot be passed by pattern: every learner and every attempt sees the options in
its own order, and "always the first option" fails – in a real browser, without JavaScript."""
from __future__ import annotations

import pytest

from tests.browser.conftest import CHROMIUM
from tests.browser.test_learner_journey import answer_quiz, log_in

pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e .[test])")
from playwright.sync_api import Page, expect  # noqa: E402  (only after the skip check)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"browser tests need Chromium at {CHROMIUM}"),
]

MODULE = "gk-sdgs-lokalisieren"


def shown_order(page: Page) -> list[list[str]]:
    """The option texts of every question as the page shows them, top to bottom."""
    return [[label.inner_text().strip() for label in fieldset.locator("label").all()]
            for fieldset in page.locator("fieldset.question").all()]


def open_module(page: Page, email: str) -> None:
    log_in(page, email)
    page.goto(f"/modules/{MODULE}#selbstcheck")
    expect(page.get_by_role("heading", name="Selbstcheck")).to_be_visible()


def test_two_learners_see_the_same_quiz_in_different_orders(browser, live_server, enrolled_learner,
                                                           module_facts):
    orders = []
    for _ in range(3):  # three learners: the chance that all three orders match is negligible
        context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
        tab = context.new_page()
        open_module(tab, enrolled_learner("grundlagenkurs"))
        orders.append(shown_order(tab))
        tab.reload()
        assert shown_order(tab) == orders[-1], "a reload keeps the learner's attempt"
        context.close()
    authored = sorted(sorted(q.options) for q in module_facts(MODULE).questions)
    for order in orders:  # the same questions and options, only in another order
        assert sorted(sorted(question) for question in order) == authored
    assert len({repr(order) for order in orders}) > 1


def test_always_choosing_the_first_option_fails(page: Page, enrolled_learner):
    open_module(page, enrolled_learner("grundlagenkurs"))
    for fieldset in page.locator("fieldset.question").all():
        fieldset.locator("input").first.check()
    page.get_by_role("button", name="Selbstcheck auswerten").click()
    expect(page.locator(".quiz-result.failed")).to_be_visible()
    expect(page.locator(".quiz-result")).to_contain_text("Benötigt: 70 %")


def test_a_failed_attempt_can_be_repeated_in_a_new_order(page: Page, enrolled_learner, module_facts):
    facts = module_facts(MODULE)
    open_module(page, enrolled_learner("grundlagenkurs"))
    expect(page.locator(".quiz-facts")).to_contain_text(f"{len(facts.questions)} Fragen · bestanden ab 70 %")
    answer_quiz(page, facts, correctly=False)
    expect(page.locator(".quiz-result.failed")).to_be_visible()
    page.get_by_role("link", name="Neuen Versuch starten").click()
    answer_quiz(page, facts, correctly=True)
    expect(page.locator(".quiz-result.passed")).to_contain_text("100 %")
