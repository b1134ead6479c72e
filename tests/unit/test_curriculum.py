"""The shipped curriculum is something LAG 21 NRW can put in front of a real cohort – and must
not silently shrink: sizes, learning units, sources, glossary, quizzes, regions, rules."""
from collections import Counter
from pathlib import Path
import re

import pytest
import yaml

from namalms.content.loader import load_tree
from namalms.domain.quiz import answer_leaks, grade_quiz

CONTENT = Path(__file__).resolve().parents[2] / "content"
UNIT = re.compile(r"^## Lerneinheit \d+: ", re.MULTILINE)
SOURCES_HEADING = "## Quellen und weiterführende Literatur"
LINK = re.compile(r"\]\((https?://[^)\s]+)\)")
STAND = re.compile(r"^Stand: \S.+$", re.MULTILINE)
# An abbreviation: at least two capitals (digits allowed), optionally a plural s ("SDGs").
ABBREVIATION = re.compile(r"(?<![\w/.-])([A-ZÄÖÜ][A-ZÄÖÜ0-9]+)s?(?![\w])")
NON_OPERATIONAL_VERBS = ("einordnen", "verstehen", "kennen ", "kennenlernen", "wissen,")
MC_INSTRUCTION = "Wählen Sie alle zutreffenden Antworten aus."


@pytest.fixture(scope="module")
def result():
    return load_tree(CONTENT)


@pytest.fixture(scope="module")
def tree(result):
    assert not result.problems, "\n".join(map(str, result.problems))
    return result.tree


def words(text: str) -> int:
    return len(text.split())


def modules_of(tree, course_id):
    course = next(c for c in tree.courses if c.id == course_id)
    return [tree.modules[m] for m in course.module_ids]


def all_modules(tree):
    return [m for c in tree.courses for m in modules_of(tree, c.id)]


def test_shipped_content_check_is_clean_without_warnings(result, tree):
    assert {c.id for c in tree.courses} == {"grundlagenkurs", "sonderkurs-strukturwandel", "regulaerer-lehrgang"}
    assert result.warnings == [], "\n".join(map(str, result.warnings))


# --- every module ---------------------------------------------------------------------------------

def test_every_module_has_learning_units_exercises_and_honest_minutes(tree):
    for module in all_modules(tree):
        assert len(UNIT.findall(module.body)) >= 3, f"{module.id}: at least three Lerneinheiten"
        assert "### Übung" in module.body, f"{module.id}: needs an exercise"
        assert words(module.body) >= 1500, f"{module.id}: only {words(module.body)} words"
        # Reading at 100–200 words a minute plus exercises: no 10 hours for a page of text.
        assert words(module.body) / 200 <= module.minutes <= words(module.body) / 25 + 60, module.id


def test_every_module_names_its_sources_with_links_and_a_date(tree):
    for module in all_modules(tree):
        assert SOURCES_HEADING in module.body, f"{module.id}: needs '{SOURCES_HEADING}'"
        sources = module.body.split(SOURCES_HEADING, 1)[1]
        assert len(LINK.findall(sources)) >= 3, f"{module.id}: at least three linked sources"
        assert STAND.search(sources), f"{module.id}: needs a 'Stand: …' line"


def test_examples_are_real_named_cases_or_labelled_fictional(tree):
    for module in all_modules(tree):
        examples = re.findall(r"^### (Praxisbeispiel|Fiktives Beispiel)\b", module.body, re.MULTILINE)
        assert examples, f"{module.id}: needs a Praxisbeispiel or a labelled Fiktives Beispiel"
        assert not re.search(r"^### Beispiel\b", module.body, re.MULTILINE), f"{module.id}: unlabelled example"


def test_objectives_use_operational_verbs(tree):
    for module in all_modules(tree):
        assert module.objectives, module.id
        for objective in module.objectives:
            assert not any(verb in objective for verb in NON_OPERATIONAL_VERBS), f"{module.id}: {objective}"


def test_every_abbreviation_used_in_a_module_is_in_the_glossary(tree):
    assert tree.glossary is not None
    missing = {}
    for module in all_modules(tree):
        text = re.sub(r"\]\([^)]*\)", "]", module.source)  # link targets are not prose
        for token in ABBREVIATION.findall(text):
            parts = token.split(".")
            if not all(tree.glossary.covers(part) for part in parts):
                missing.setdefault(token, set()).add(module.id)
    assert missing == {}


def test_the_gender_star_is_the_one_inclusive_form(tree):
    for module in all_modules(tree):
        assert not re.search(r"\w/innen\b|\w+Innen\b", module.body), module.id


# --- quizzes ----------------------------------------------------------------------------------------

def test_every_quiz_tests_understanding_not_patterns(tree):
    for module in all_modules(tree):
        quiz = module.quiz
        assert quiz is not None and len(quiz.questions) >= 5, f"{module.id}: at least five questions"
        assert {q.kind for q in quiz.questions} == {"single", "multiple"}, f"{module.id}: mix both kinds"
        assert quiz.pass_mark == 70
        assert answer_leaks(quiz) == [], module.id
        for question in quiz.questions:
            assert len(question.explanation) >= 80, f"{module.id}/{question.id}: explain why"
            if question.kind == "multiple":
                assert question.question.rstrip().endswith(MC_INSTRUCTION), f"{module.id}/{question.id}"


def test_correct_answers_are_spread_over_positions_in_every_course(tree):
    for course in tree.courses:
        positions = Counter(min(q.correct_indices) for m in modules_of(tree, course.id)
                            for q in m.quiz.questions if q.kind == "single")
        total = sum(positions.values())
        assert max(positions.values()) <= 0.4 * total, (course.id, positions)


def test_every_quiz_can_be_passed_and_failed(tree):
    for module in tree.modules.values():
        if module.quiz is None:
            continue
        right = {q.id: {i for i, o in enumerate(q.options) if o.is_correct} for q in module.quiz.questions}
        wrong = {q.id: {next(i for i, o in enumerate(q.options) if not o.is_correct)} for q in module.quiz.questions}
        assert grade_quiz(module.quiz, right).is_passed, module.id
        assert not grade_quiz(module.quiz, wrong).is_passed, module.id


# --- the courses -------------------------------------------------------------------------------------

def test_every_course_has_figures_with_alt_texts(tree):
    for course in tree.courses:
        modules = modules_of(tree, course.id)
        assert sum(len(m.images) for m in modules) >= len(modules) // 2, course.id
        for module in modules:
            for alt in re.findall(r"!\[([^\]]*)\]\(", module.body):
                assert len(alt) >= 40, f"{module.id}: a real alt text, not '{alt}'"


def test_grundlagenkurs_ends_with_a_workshop(tree):
    modules = modules_of(tree, "grundlagenkurs")
    assert len(modules) >= 6
    assert modules[-1].has_workshop
    assert not any(m.has_workshop for m in modules[:-1])


def test_sonderkurs_opens_with_seminar_and_ends_with_exchange_round(tree):
    modules = modules_of(tree, "sonderkurs-strukturwandel")
    assert len(modules) >= 6
    assert modules[0].has_workshop and modules[-1].has_workshop
    assert sum(m.has_workshop for m in modules) == 2


def test_regular_course_has_base_module_and_eight_sector_modules_with_workshops(tree):
    modules = modules_of(tree, "regulaerer-lehrgang")
    assert modules[0].id == "rl-basismodul"
    assert len(modules) == 9
    for module in modules:
        assert module.has_workshop, module.id
        assert "## Der Workshop" in module.body, f"{module.id}: describe the workshop"
        assert not re.search(r"\b\d{1,2}\.\d{1,2}\.20\d\d\b|\bEUR\b|€", module.body.split("## Der Workshop")[1]
                             .split("\n## ")[0]), f"{module.id}: no invented dates or fees for the workshop"


def test_work_aids_are_linked_from_the_modules_that_use_them(tree):
    assert len(tree.workaids) >= 6
    for workaid in tree.workaids.values():
        assert workaid.module_ids, workaid.id
        for module_id in workaid.module_ids:
            assert f"/vorlagen/{workaid.id}" in tree.modules[module_id].body, (workaid.id, module_id)


def test_regions_list_all_districts_of_nrw(tree):
    kinds = Counter(d.kind for d in tree.districts)
    assert kinds["kreis"] == 31
    assert kinds["kreisfreie-stadt"] == 22
    assert kinds["ausserhalb"] == 1
    names = {d.name: d.region_id for d in tree.districts}
    revier = {n for n, r in names.items() if r == "rheinisches-revier"}
    ruhr = {n for n, r in names.items() if r == "ruhr-kraftwerksstandorte"}
    assert revier == {"Städteregion Aachen", "Kreis Düren", "Kreis Euskirchen", "Kreis Heinsberg",
                      "Rhein-Erft-Kreis", "Rhein-Kreis Neuss", "Mönchengladbach"}
    assert ruhr == {"Duisburg", "Gelsenkirchen", "Hamm", "Herne", "Kreis Unna"}
    assert {r.id for r in tree.regions} == {"rheinisches-revier", "ruhr-kraftwerksstandorte", "uebriges-nrw", "ausserhalb-nrw"}


def test_programme_defines_the_three_certificates(tree):
    ids = [c.id for c in tree.programme.certificates]
    assert ids == ["zertifikat-grundlagenkurs", "zertifikat-sonderkurs", "pro-zertifikat"]
    raw = yaml.safe_load((CONTENT / "programme.yml").read_text(encoding="utf-8"))
    assert "certificates" in raw
