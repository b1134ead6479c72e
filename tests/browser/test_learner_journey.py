"""A new learner's way through the app, in a real browser, with JavaScript switched off.

Every core action – register, log in, enrol, read, mark done, take the self-check, see the
progress – is a plain HTML form or link, so it must work without JavaScript. That these pages
reflow on a phone is checked at 320 px by the accessibility suite.
"""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import CHROMIUM, ModuleFacts, unique_email
from tests.conftest import PASSWORD

pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e .[test])")
from playwright.sync_api import Page, expect  # noqa: E402  (only after the skip check)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"browser tests need Chromium at {CHROMIUM}"),
]

COURSE_ID = "grundlagenkurs"
COURSE_TITLE = "Grundlagenkurs Kommunales Nachhaltigkeitsmanagement"
FIRST_MODULE = "gk-agenda-2030"
REQUIRED = "Dieses Feld ist ein Pflichtfeld."
BAD_LOGIN = "E-Mail-Adresse oder Passwort ist falsch."




def fill_registration(page: Page, *, name: str = "Lena Lernwillig", email: str | None = None,
                      password: str = PASSWORD, repeat: str | None = None,
                      district: str | None = "Rhein-Erft-Kreis", municipality: str = "Stadt Bergheim",
                      privacy: bool = True) -> None:
    """Fill the registration form the way a person would, by its visible labels."""
    page.get_by_label("Vor- und Nachname").fill(name)
    page.get_by_label("E-Mail-Adresse (dienstlich)").fill(email if email is not None else unique_email())
    page.get_by_label("Passwort (mindestens 10 Zeichen)").fill(password)
    page.get_by_label("Passwort wiederholen").fill(repeat if repeat is not None else password)
    if district:
        select = page.get_by_label("Kreis bzw. kreisfreie Stadt")
        # Fail at once with a readable message instead of Playwright waiting for the option.
        options = [text.strip() for text in select.locator("option").all_inner_texts()]
        assert district in options, f"no option „{district}“ in the district list, which reads: {options[:3]}"
        select.select_option(label=district)
    page.get_by_label("Kommune bzw. Institution").fill(municipality)
    page.get_by_label(re.compile("Datenschutz(hinweise|erklärung) gelesen")).set_checked(privacy)


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort", exact=True).fill(password)
    page.get_by_role("button", name="Anmelden").click()


def answer_quiz(page: Page, facts: ModuleFacts, *, correctly: bool) -> None:
    """Choose the right (or one wrong) option per question by its text – the order is shuffled."""
    for question in facts.questions:
        chosen = question.correct_texts if correctly else question.wrong_texts
        fieldset = page.locator(f"#frage-{question.id}")
        for text in question.options:
            option = fieldset.get_by_label(text, exact=True)
            if question.kind == "multiple":
                option.set_checked(text in chosen)
            elif text in chosen:
                option.check()
    page.get_by_role("button", name="Selbstcheck auswerten").click()


def flash(page: Page):
    return page.locator(".flash")


# --- the whole journey -------------------------------------------------------------------------


def test_new_learner_registers_enrols_and_completes_the_first_module_without_javascript(page, module_facts, shoot):
    facts = module_facts(FIRST_MODULE)

    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kommunales Nachhaltigkeitsmanagement lernen")
    expect(page.get_by_role("link", name=COURSE_TITLE)).to_be_visible()
    shoot(page, "01-katalog")

    page.get_by_role("link", name="Kostenfrei registrieren").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Registrieren")
    fill_registration(page, name="Lena Lernwillig")
    page.get_by_role("button", name="Konto anlegen").click()
    expect(flash(page)).to_contain_text("Willkommen, Lena Lernwillig! Ihr Konto ist angelegt.")
    expect(page.locator(".account-name")).to_contain_text("Lena Lernwillig")

    page.get_by_role("link", name=COURSE_TITLE).click()
    page.get_by_role("button", name="In diesen Kurs einschreiben").click()
    expect(flash(page)).to_contain_text(f"Sie sind jetzt in „{COURSE_TITLE}“ eingeschrieben.")
    expect(page.locator(".progress-label")).to_contain_text("0 von 6")
    shoot(page, "03-kurs")

    page.get_by_role("link", name=facts.title, exact=True).click()
    expect(page).to_have_url(re.compile(f"/modules/{FIRST_MODULE}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(facts.title)
    toc = page.get_by_role("navigation", name="Inhalt")
    for title in facts.toc_titles:
        expect(toc.get_by_role("link", name=title, exact=True)).to_be_visible()
    for link in toc.get_by_role("link").all():  # every entry jumps to a target on the page
        anchor = link.get_attribute("href").removeprefix("#")
        assert page.locator(f"[id='{anchor}']").count() == 1, f"TOC target #{anchor} is missing"
    shoot(page, "04-modul-desktop")

    page.get_by_role("button", name="Als erledigt markieren").click()
    expect(page).to_have_url(re.compile(r"#abschluss$"))  # lands at the next step, not at the top
    expect(page.locator("#abschluss .flash")).to_contain_text("Als erledigt markiert.")
    expect(page.locator(".checklist")).to_contain_text("Modul durchgearbeitet – am")
    expect(page.get_by_role("button", name="Als erledigt markieren")).to_have_count(0)

    answer_quiz(page, facts, correctly=False)
    expect(page).to_have_url(re.compile(r"versuch=\d+#ergebnis$"))  # the result, which takes the focus
    expect(page.locator("#ergebnis")).to_be_focused()
    expect(page.locator(".quiz-result.failed")).to_contain_text("0 %")
    expect(page.locator(".quiz-result.failed")).to_contain_text("Benötigt: 70 %")
    expect(page.locator("fieldset.question.incorrect")).to_have_count(len(facts.questions))
    first_explanation = page.locator(f"#frage-{facts.questions[0].id} .explanation")
    expect(first_explanation).to_contain_text("Leider falsch.")
    expect(first_explanation).to_contain_text(facts.questions[0].explanation)
    shoot(page, "05-selbstcheck-nicht-bestanden")

    page.get_by_role("link", name="Neuen Versuch starten").click()
    answer_quiz(page, facts, correctly=True)
    expect(page.locator(".quiz-result.passed")).to_contain_text("100 %")
    expect(page.locator(".quiz-result.passed")).to_contain_text("Bestanden")
    expect(page.locator("fieldset.question.correct")).to_have_count(len(facts.questions))
    expect(page.locator(".completion")).to_contain_text("Modul abgeschlossen")
    shoot(page, "06-selbstcheck-bestanden")

    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Mein Lernstand").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mein Lernstand")
    course_card = page.locator("li.card", has=page.get_by_role("link", name=COURSE_TITLE, exact=True))
    expect(course_card.locator(".progress-label")).to_contain_text("1 von 6")
    expect(course_card.locator("li", has_text=facts.title).locator(".badge")).to_have_text("Abgeschlossen")
    expect(page.get_by_text("Region: Rheinisches Revier")).to_be_visible()
    shoot(page, "07-dashboard")


# --- unhappy paths ------------------------------------------------------------------------------


REGISTRATION_MISTAKES = [
    pytest.param(dict(name="", email="", password="", repeat="", district=None, municipality="", privacy=False),
                 [REQUIRED, "Bitte bestätigen Sie die Datenschutzhinweise."], id="leeres-formular"),
    pytest.param(dict(repeat="Sonnenblume-Windrad-43"), ["Die beiden Passwörter stimmen nicht überein."],
                 id="passwoerter-verschieden"),
    pytest.param(dict(password="kurz-1", repeat="kurz-1"), ["Das Passwort muss mindestens 10 Zeichen lang sein."],
                 id="passwort-zu-kurz"),
    pytest.param(dict(district=None), [REQUIRED], id="kein-kreis"),
]


@pytest.mark.parametrize(("fields", "messages"), REGISTRATION_MISTAKES)
def test_registration_with_mistakes_explains_them_in_german_and_keeps_the_input(page, shoot, request, fields,
                                                                                messages):
    page.goto("/register")
    fill_registration(page, **fields)
    page.get_by_role("button", name="Konto anlegen").click()
    expect(page.get_by_role("alert")).to_contain_text("Bitte prüfen Sie Ihre Angaben:")
    for message in messages:
        expect(page.locator(".field-error", has_text=message).first).to_be_visible()
    expect(page.locator(".account-name")).to_have_count(0)
    expect(page.get_by_label("Vor- und Nachname")).to_have_value(fields.get("name", "Lena Lernwillig"))
    if request.node.callspec.id == "leeres-formular":
        shoot(page, "02-registrierung-fehler")


def test_registration_with_a_taken_address_asks_to_log_in(page, enrolled_learner):
    email = enrolled_learner(COURSE_ID)
    page.goto("/register")
    fill_registration(page, email=email.upper())
    page.get_by_role("button", name="Konto anlegen").click()
    expect(page.locator(".field-error")).to_have_text(
        "Mit dieser E-Mail-Adresse gibt es bereits ein Konto. Bitte melden Sie sich an.")


@pytest.mark.parametrize(("who", "password", "message"), [
    pytest.param("known", "Falsches-Passwort-123", BAD_LOGIN, id="falsches-passwort"),
    pytest.param("unknown", PASSWORD, BAD_LOGIN, id="unbekannte-adresse"),
    pytest.param("known", "", REQUIRED, id="leeres-passwort"),
])
def test_failed_login_says_so_in_german_without_revealing_the_account(page, enrolled_learner, who, password,
                                                                       message):
    email = enrolled_learner(COURSE_ID) if who == "known" else unique_email("niemand")
    log_in(page, email, password)
    expect(page.locator(".field-error")).to_have_text(message)
    expect(page.get_by_role("heading", level=1)).to_have_text("Anmelden")
    expect(page.locator(".account-name")).to_have_count(0)


def test_login_leads_a_learner_to_the_dashboard(page, enrolled_learner):
    log_in(page, enrolled_learner(COURSE_ID))
    expect(page).to_have_url(re.compile("/dashboard$"))
    expect(flash(page)).to_contain_text("Sie sind angemeldet. Willkommen zurück, Paula Prüfer!")
