"""The shipped curriculum must not silently shrink: sizes, quizzes, regions, rules."""
from collections import Counter
from pathlib import Path

import pytest
import yaml

from namalms.content.loader import load_tree

CONTENT = Path(__file__).resolve().parents[2] / "content"


@pytest.fixture(scope="module")
def tree():
    result = load_tree(CONTENT)
    assert not result.problems, "\n".join(map(str, result.problems))
    return result.tree


def words(text: str) -> int:
    return len(text.split())


def modules_of(tree, course_id):
    course = next(c for c in tree.courses if c.id == course_id)
    return [tree.modules[m] for m in course.module_ids]


def test_shipped_content_check_is_clean(tree):
    assert {c.id for c in tree.courses} == {"grundlagenkurs", "sonderkurs-strukturwandel", "regulaerer-lehrgang"}


@pytest.mark.parametrize("course_id", ["grundlagenkurs", "sonderkurs-strukturwandel"])
def test_full_courses_have_six_substantial_modules_with_quizzes(tree, course_id):
    modules = modules_of(tree, course_id)
    assert len(modules) >= 6
    for module in modules:
        assert words(module.body) >= 1200, f"{module.id}: only {words(module.body)} words"
        assert module.body.count("\n## ") >= 3, f"{module.id}: needs learning units as headings"
        assert module.objectives and module.minutes > 0 and module.sdgs
        assert module.quiz is not None and len(module.quiz.questions) >= 5, module.id
        kinds = {q.kind for q in module.quiz.questions}
        assert kinds == {"single", "multiple"}, f"{module.id}: mix single and multiple choice"
        assert all(q.explanation.strip() for q in module.quiz.questions)
        assert module.quiz.pass_mark == 70
        assert "Weiterführende Literatur" in module.body, module.id
        assert "Praxisbeispiel" in module.body, module.id
        assert "|---" in module.body.replace(" ", "") or module.images, f"{module.id}: needs a table or figure"


def test_every_full_course_has_figures(tree):
    for course_id in ("grundlagenkurs", "sonderkurs-strukturwandel"):
        assert sum(len(m.images) for m in modules_of(tree, course_id)) >= 3


def test_grundlagenkurs_ends_with_a_workshop(tree):
    modules = modules_of(tree, "grundlagenkurs")
    assert modules[-1].has_workshop
    assert not any(m.has_workshop for m in modules[:-1])


def test_sonderkurs_opens_with_seminar_and_ends_with_exchange_round(tree):
    modules = modules_of(tree, "sonderkurs-strukturwandel")
    assert modules[0].has_workshop and modules[-1].has_workshop
    assert sum(m.has_workshop for m in modules) == 2


def test_regular_course_has_base_module_and_eight_sector_modules_with_workshops(tree):
    modules = modules_of(tree, "regulaerer-lehrgang")
    assert modules[0].id == "rl-basismodul"
    assert len(modules) >= 9
    for module in modules:
        assert module.has_workshop, module.id
        assert words(module.body) >= 300, f"{module.id}: overview needs at least 300 words"


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
    assert "regulaerer-lehrgang" in raw["course_entry"]


def test_every_quiz_can_be_passed_and_failed(tree):
    from namalms.domain.quiz import grade_quiz

    for module in tree.modules.values():
        if module.quiz is None:
            continue
        right = {q.id: {i for i, o in enumerate(q.options) if o.is_correct} for q in module.quiz.questions}
        wrong = {q.id: {next(i for i, o in enumerate(q.options) if not o.is_correct)} for q in module.quiz.questions}
        assert grade_quiz(module.quiz, right).is_passed, module.id
        assert not grade_quiz(module.quiz, wrong).is_passed, module.id
