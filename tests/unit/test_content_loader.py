"""Loading and validating the content tree: every problem with file, line and a clear message."""

from __future__ import annotations

import hashlib
import json
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from namalms.content.loader import (
    check_module_in_tree,
    load_tree,
    parse_module,
    resolve_image_path,
)
from namalms.content.model import ModuleSource, Problem, Quiz
from namalms.content.yamlnodes import LineDict, LineList, YamlError, load_yaml, to_plain

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTENT_ROOT = REPO_ROOT / "content"

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16

PROGRAMME = """\
issuer:
  name: LAG 21 NRW
  place: Dortmund
certificates:
  - id: zertifikat-a
    title: Zertifikat Kurs A
    statement: hat Kurs A abgeschlossen.
    rule:
      course_completed: kurs-a
  - id: zertifikat-b
    title: Zertifikat B
    statement: hat Kurs B abgeschlossen.
    rule:
      all_of:
        - certificate_held: zertifikat-a
        - region_in: [revier]
course_entry:
  kurs-b:
    certificate_held: zertifikat-a
"""

REGIONS = """\
regions:
  - id: revier
    name: Rheinisches Revier
  - id: rest
    name: Übriges NRW
    description: alle anderen Kreise und Städte
districts:
  - id: kreis-dueren
    name: Kreis Düren
    kind: kreis
    region: revier
  - id: stadt-koeln
    name: Köln
    kind: kreisfreie-stadt
    region: rest
"""

COURSE_A = """\
id: kurs-a
title: Kurs A
short_title: A
order: 1
description: |
  Beschreibung mit **Markdown**.
audience: Alle.
modules:
  - id: m-eins
  - id: m-zwei
    required: false
"""

COURSE_B = """\
id: kurs-b
title: Kurs B
order: 2
modules:
  - id: m-drei
"""

MODULE_EINS = """\
---
id: m-eins
title: Modul Eins
order: 1
minutes: 30
summary: Kurz.
objectives:
  - Sie können etwas.
sdgs: [11, 13]
workshop: true
workshop_title: Auftakt
quiz:
  pass_mark: 60
  questions:
    - id: q1
      type: single
      question: Wie viele Ziele?
      options:
        - text: "17"
          correct: true
        - text: "169"
      explanation: Es sind 17.
    - id: q2
      type: multiple
      question: Welche Themen?
      options:
        - text: Klima
          correct: true
        - text: Armut
          correct: true
        - text: Golf
      explanation: Klima und Armut.
---
# Einführung

## Lerneinheit 1

![Ein Diagramm](img/bild.png)

Text.
"""

MODULE_ZWEI = """\
---
id: m-zwei
title: Modul Zwei
order: 2
minutes: 45
objectives:
  - Sie wissen mehr.
sdgs: []
---
Text ohne Bild.
"""

MODULE_DREI = """\
---
id: m-drei
title: Modul Drei
order: 1
minutes: 20
objectives: [Sie verstehen.]
sdgs: [4]
---
Text.
"""

# Module files deliberately have names unrelated to their ids: ids come from the front matter.
BASE_FILES: dict[str, str | bytes] = {
    "programme.yml": PROGRAMME,
    "regions.yml": REGIONS,
    "README.md": "# Inhalte\n",
    "kurs-a/course.yml": COURSE_A,
    "kurs-a/01-eins.md": MODULE_EINS,
    "kurs-a/zz-anders.md": MODULE_ZWEI,
    "kurs-a/img/bild.png": PNG,
    "b-ordner/course.yml": COURSE_B,
    "b-ordner/01.md": MODULE_DREI,
}


@dataclass(frozen=True)
class Edit:
    """Replace ``old`` by ``new`` in one file of the base tree (``old`` must occur)."""

    path: str
    old: str
    new: str


def write_tree(root: Path, changes: list[Any] | None = None) -> dict[str, str | bytes]:
    """Write the base tree, applied changes (Edit, or {path: content/None to delete})."""
    files = dict(BASE_FILES)
    for change in changes or ():
        if isinstance(change, Edit):
            text = files[change.path]
            assert isinstance(text, str) and change.old in text, change
            files[change.path] = text.replace(change.old, change.new, 1)
        else:
            files.update(change)
    for relative, content in files.items():
        if content is None:
            continue
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return {k: v for k, v in files.items() if v is not None}


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the n-th line containing ``needle``."""
    hits = [number for number, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} not in text"
    return hits[occurrence - 1]


def assert_reported(problems: list[Problem], path: str, line: int, keyword: str) -> None:
    """Assert one problem at path:line mentions the keyword (other problems may exist)."""
    found = [p for p in problems if p.path == path and p.line == line and keyword in p.message]
    assert found, f"no {path}:{line} with {keyword!r} in:\n" + "\n".join(map(str, problems))


# --- happy path ------------------------------------------------------------------------------


def test_valid_tree_loads_without_problems(tmp_path: Path) -> None:
    write_tree(tmp_path)

    result = load_tree(tmp_path)

    assert result.problems == []
    assert result.tree is not None
    assert result.is_ok


def test_valid_tree_has_courses_in_catalogue_order_and_modules_in_course_order(
    tmp_path: Path,
) -> None:
    write_tree(tmp_path)

    tree = load_tree(tmp_path).tree

    assert [course.id for course in tree.courses] == ["kurs-a", "kurs-b"]
    assert list(tree.modules) == ["m-eins", "m-zwei", "m-drei"]
    course = tree.courses[0]
    assert course.path == "kurs-a/course.yml"
    assert course.short_title == "A"
    assert course.description == "Beschreibung mit **Markdown**."
    assert course.module_ids == ("m-eins", "m-zwei")
    assert course.required_ids == frozenset({"m-eins"})
    assert course.source == COURSE_A
    assert course.source_hash == hashlib.sha256(COURSE_A.encode("utf-8")).hexdigest()
    assert tree.courses[1].short_title == "Kurs B"  # defaults to the title


def test_valid_module_carries_front_matter_body_and_images(tmp_path: Path) -> None:
    write_tree(tmp_path)

    module = load_tree(tmp_path).tree.modules["m-eins"]

    assert (module.id, module.course_id, module.path) == ("m-eins", "kurs-a", "kurs-a/01-eins.md")
    assert (module.title, module.order, module.minutes, module.summary) == (
        "Modul Eins", 1, 30, "Kurz."
    )
    assert module.objectives == ("Sie können etwas.",)
    assert module.sdgs == (11, 13)
    assert module.has_workshop and module.workshop_title == "Auftakt"
    assert module.is_required
    assert module.body.startswith("# Einführung\n")
    assert module.source == MODULE_EINS
    assert module.source_hash == hashlib.sha256(MODULE_EINS.encode("utf-8")).hexdigest()
    assert module.images == ("kurs-a/img/bild.png",)
    assert module.image_refs[0].line == line_of(MODULE_EINS, "![Ein Diagramm]")


def test_valid_module_quiz_is_parsed(tmp_path: Path) -> None:
    write_tree(tmp_path)

    quiz = load_tree(tmp_path).tree.modules["m-eins"].quiz

    assert quiz.pass_mark == 60
    assert [q.id for q in quiz.questions] == ["q1", "q2"]
    single, multiple = quiz.questions
    assert single.kind == "single"
    assert [(o.text, o.is_correct) for o in single.options] == [("17", True), ("169", False)]
    assert single.explanation == "Es sind 17."
    assert multiple.kind == "multiple"
    assert multiple.correct_indices == frozenset({0, 1})


def test_optional_module_fields_get_defaults(tmp_path: Path) -> None:
    write_tree(tmp_path)

    module = load_tree(tmp_path).tree.modules["m-zwei"]

    assert module.summary == ""
    assert module.sdgs == ()
    assert not module.has_workshop and module.workshop_title is None
    assert module.quiz is None
    assert module.images == ()
    assert not module.is_required  # `required: false` in course.yml


def test_valid_tree_has_programme_regions_and_assets(tmp_path: Path) -> None:
    write_tree(tmp_path)

    tree = load_tree(tmp_path).tree

    programme = tree.programme
    assert programme.path == "programme.yml"
    assert programme.issuer == {"name": "LAG 21 NRW", "place": "Dortmund"}
    assert programme.source_hash == hashlib.sha256(PROGRAMME.encode("utf-8")).hexdigest()
    first, second = programme.certificates
    assert (first.id, first.title, first.line) == ("zertifikat-a", "Zertifikat Kurs A", 5)
    assert first.rule == {"course_completed": "kurs-a"}
    assert type(first.rule) is dict  # line information stripped
    canonical = json.dumps(first.rule, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert first.rule_hash == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert type(second.rule["all_of"]) is list
    assert programme.course_entry == {"kurs-b": {"certificate_held": "zertifikat-a"}}
    assert [region.id for region in tree.regions] == ["revier", "rest"]
    assert tree.regions[1].description == "alle anderen Kreise und Städte"
    assert [(d.id, d.kind, d.region_id) for d in tree.districts] == [
        ("kreis-dueren", "kreis", "revier"), ("stadt-koeln", "kreisfreie-stadt", "rest")
    ]
    assert tree.regions_source == REGIONS
    assert tree.regions_hash == hashlib.sha256(REGIONS.encode("utf-8")).hexdigest()
    assert tree.assets == {"kurs-a/img/bild.png": PNG}


def test_file_names_do_not_matter_for_ids(tmp_path: Path) -> None:
    write_tree(tmp_path / "a")
    renamed = {"kurs-a/01-eins.md": None, "kurs-a/zz-anders.md": None,
               "kurs-a/neu-benannt.md": MODULE_EINS, "kurs-a/000.md": MODULE_ZWEI}
    write_tree(tmp_path / "b", [renamed])

    first, second = load_tree(tmp_path / "a").tree, load_tree(tmp_path / "b").tree

    assert list(first.modules) == list(second.modules) == ["m-eins", "m-zwei", "m-drei"]
    assert second.modules["m-eins"].path == "kurs-a/neu-benannt.md"
    assert second.modules["m-eins"].source_hash == first.modules["m-eins"].source_hash


def test_hidden_files_are_ignored(tmp_path: Path) -> None:
    write_tree(tmp_path, [{".gitignore": "*.tmp\n", "kurs-a/img/.gitkeep": ""}])

    assert load_tree(tmp_path).problems == []


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_line_numbers_hold_for_windows_line_endings(tmp_path: Path, newline: str) -> None:
    module = MODULE_ZWEI.replace("minutes: 45", "minutes: viel").replace("\n", newline)
    write_tree(tmp_path, [{"kurs-a/zz-anders.md": module}])

    problems = load_tree(tmp_path).problems

    assert_reported(problems, "kurs-a/zz-anders.md", 5, "ganze Zahl")


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    write_tree(tmp_path, [{"kurs-a/zz-anders.md": "\ufeff" + MODULE_ZWEI}])

    assert load_tree(tmp_path).problems == []


# --- one validation error at a time -----------------------------------------------------------

M1, M2, M3 = "kurs-a/01-eins.md", "kurs-a/zz-anders.md", "b-ordner/01.md"
CA, CB, PR, RE = "kurs-a/course.yml", "b-ordner/course.yml", "programme.yml", "regions.yml"

OPTIONS_Q1 = '        - text: "17"\n          correct: true\n        - text: "169"\n'

CASES = [
    # YAML syntax, with the line PyYAML reports
    pytest.param([Edit(M1, "title: Modul Eins", "title: Modul: Eins")], M1,
                 "title: Modul: Eins", "YAML-Syntaxfehler", id="yaml-colon-in-module"),
    pytest.param([Edit(CA, "  - id: m-zwei", " - id: m-zwei")], CA, " - id: m-zwei",
                 "Einrückung", id="yaml-indentation-in-course"),
    pytest.param([Edit(RE, "    name: Köln", "\tname: Köln")], RE, "name: Köln",
                 "Tabulatoren", id="yaml-tab-in-regions"),
    pytest.param([Edit(PR, "region_in: [revier]", "region_in: [revier")], PR, "course_entry:",
                 "eckigen Klammern", id="yaml-unclosed-list-in-programme"),
    pytest.param([Edit(M2, "minutes: 45", "minutes: 45\nminutes: 50")], M2, "minutes: 50",
                 "doppelt", id="yaml-duplicate-key"),
    pytest.param([Edit(M2, "title: Modul Zwei", "title: &t Modul Zwei\nsummary: *t")], M2,
                 "summary: *t", "Anker", id="yaml-alias-refused"),
    # an unclosed quote is named where it is, not where the parser gives up lines later
    pytest.param([Edit(M2, "title: Modul Zwei", 'title: "Modul Zwei'), Edit(M2, "  - Sie wissen mehr.",
                                                                            '  - "Sie wissen mehr."')],
                 M2, 'title: "Modul Zwei', "Anführungszeichen \" wird in dieser Zeile nicht geschlossen",
                 id="yaml-unclosed-quote-closed-later"),
    pytest.param([Edit(M2, "title: Modul Zwei", "title: 'Modul Zwei")], M2, "title: 'Modul Zwei",
                 "Anführungszeichen ' wird in dieser Zeile nicht geschlossen", id="yaml-unclosed-quote-at-end"),
    # raw HTML that the renderer drops with its content (and, left open, everything after it)
    pytest.param([Edit(M2, "Text ohne Bild.", "Text ohne Bild.\n\n<textarea>\n\nNoch mehr Text.")], M2,
                 "<textarea>", "HTML-Element <textarea> ist in Modulen nicht erlaubt", id="html-unclosed-textarea"),
    pytest.param([Edit(M2, "Text ohne Bild.", "Text mit <button type=button>Knopf</button>.")], M2,
                 "<button", "<button>", id="html-button"),
    pytest.param([Edit(M2, "Text ohne Bild.", "Text.\n\n<IFRAME src=x></iframe>")], M2, "<IFRAME", "<iframe>",
                 id="html-iframe-upper-case"),
    pytest.param([Edit(M2, "Text ohne Bild.", "Text.\n\n- Punkt\n\n    <svg><circle/></svg>")], M2, "<svg>",
                 "<svg>", id="html-svg-in-a-list"),
    # front matter
    pytest.param([{M2: "id: m-zwei\n\nText.\n"}], M2, "id: m-zwei", "Front Matter fehlt",
                 id="front-matter-missing"),
    pytest.param([{M2: MODULE_ZWEI.replace("---\nText", "Text")}], M2, "---",
                 "nicht mit einer Zeile „---“ abgeschlossen", id="front-matter-unclosed"),
    pytest.param([{M2: "---\n- m-zwei\n---\nText.\n"}], M2, "- m-zwei", "Zuordnung",
                 id="front-matter-not-a-mapping"),
    # keys and types in modules
    pytest.param([Edit(M2, "minutes: 45\n", "")], M2, "id: m-zwei", "Pflichtfeld „minutes“",
                 id="module-missing-minutes"),
    pytest.param([Edit(M2, "title: Modul Zwei\n", "")], M2, "id: m-zwei", "„title“",
                 id="module-missing-title"),
    pytest.param([Edit(M1, "summary: Kurz.", "sumary: Kurz.")], M1, "sumary",
                 "meinten Sie „summary“", id="module-unknown-key-with-hint"),
    pytest.param([Edit(M1, "summary: Kurz.", "autor: Kurz.")], M1, "autor",
                 "Erlaubt sind: id, title", id="module-unknown-key-lists-allowed"),
    pytest.param([Edit(M2, "minutes: 45", "minutes: viel")], M2, "minutes: viel",
                 "„minutes“ muss eine ganze Zahl sein, gefunden: Text „viel“",
                 id="module-minutes-not-a-number"),
    pytest.param([Edit(M2, "minutes: 45", "minutes: 0")], M2, "minutes: 0", "mindestens 1",
                 id="module-minutes-zero"),
    pytest.param([Edit(M2, "order: 2", "order: zwei")], M2, "order: zwei", "ganze Zahl",
                 id="module-order-not-a-number"),
    pytest.param([Edit(M2, "title: Modul Zwei", "title:")], M2, "title:", "leer",
                 id="module-title-empty"),
    pytest.param([Edit(M2, "title: Modul Zwei", "title: [Modul, Zwei]")], M2, "title:",
                 "Text", id="module-title-not-text"),
    pytest.param([Edit(M1, "workshop: true", "workshop: vielleicht")], M1, "workshop:",
                 "true oder false", id="module-workshop-not-bool"),
    pytest.param([Edit(M1, "workshop: true", "workshop: false")], M1, "workshop_title",
                 "workshop: true", id="module-workshop-title-without-workshop"),
    pytest.param([Edit(M1, "objectives:\n  - Sie können etwas.", "objectives: Etwas.")], M1,
                 "objectives:", "Liste", id="module-objectives-not-a-list"),
    pytest.param([Edit(M1, "objectives:\n  - Sie können etwas.", "objectives: []")], M1,
                 "objectives:", "mindestens ein Lernziel", id="module-objectives-empty"),
    pytest.param([Edit(M2, "sdgs: []", "sdgs: elf")], M2, "sdgs:", "Liste",
                 id="module-sdgs-not-a-list"),
    pytest.param([Edit(M1, "sdgs: [11, 13]", "sdgs:\n  - 11\n  - 18")], M1, "- 18", "1 bis 17",
                 id="module-sdg-above-17"),
    pytest.param([Edit(M1, "sdgs: [11, 13]", "sdgs: [0]")], M1, "sdgs:", "1 bis 17",
                 id="module-sdg-zero"),
    pytest.param([Edit(M1, "sdgs: [11, 13]", "sdgs: [11, 11]")], M1, "sdgs:", "doppelt",
                 id="module-sdg-twice"),
    # ids
    pytest.param([Edit(M2, "id: m-zwei", "id: M_Zwei")], M2, "id: M_Zwei",
                 "Kleinbuchstaben, Ziffern", id="module-id-syntax"),
    pytest.param([Edit(CA, "  - id: m-zwei", "  - id: m zwei")], CA, "m zwei",
                 "ungültig", id="course-entry-id-syntax"),
    pytest.param([Edit(RE, "id: rest", "id: Rest")], RE, "id: Rest", "ungültig",
                 id="region-id-syntax"),
    # duplicate module ids across files: both places are reported
    pytest.param([Edit(M2, "id: m-zwei", "id: m-eins")], M1, "id: m-eins",
                 "auch in kurs-a/zz-anders.md (Zeile 2)", id="duplicate-id-first-file"),
    pytest.param([Edit(M2, "id: m-zwei", "id: m-eins")], M2, "id: m-eins",
                 "auch in kurs-a/01-eins.md (Zeile 2)", id="duplicate-id-second-file"),
    pytest.param([Edit(M3, "id: m-drei", "id: m-eins")], M3, "id: m-eins", "doppelt",
                 id="duplicate-id-across-courses"),
    # course.yml and module listing
    pytest.param([Edit(CA, "    required: false", "    required: false\n  - id: m-fehlt")], CA,
                 "m-fehlt", "keine Moduldatei", id="course-lists-missing-module"),
    pytest.param([{"kurs-a/neu.md": MODULE_ZWEI.replace("m-zwei", "m-neu")}], "kurs-a/neu.md",
                 "id: m-neu", "in keiner course.yml", id="module-not-listed"),
    pytest.param([Edit(M2, "order: 2", "order: 5")], M2, "order: 5", "Position 2",
                 id="module-order-differs-from-course-position"),
    pytest.param([Edit(CA, "  - id: m-eins\n", "  - id: m-eins\n  - id: m-eins\n")], CA,
                 ("- id: m-eins", 2), "doppelt", id="course-lists-module-twice"),
    pytest.param([Edit(CB, "  - id: m-drei", "  - id: m-drei\n  - id: m-eins")], CA,
                 "- id: m-eins", "bereits in b-ordner/course.yml", id="module-in-two-courses"),
    pytest.param([Edit(CA, "    required: false", "    required: false\n  - id: m-vier"),
                  {"b-ordner/02.md": MODULE_DREI.replace("m-drei", "m-vier")}],
                 "b-ordner/02.md", "id: m-vier", "wird aber in kurs-a/course.yml",
                 id="module-listed-by-other-folders-course"),
    pytest.param([Edit(CA, "title: Kurs A\n", "")], CA, "id: kurs-a", "Pflichtfeld „title“",
                 id="course-missing-title"),
    pytest.param([Edit(CA, "audience: Alle.", "zielgruppe: Alle.")], CA, "zielgruppe",
                 "unbekannter Schlüssel", id="course-unknown-key"),
    pytest.param([Edit(CA, "order: 1", "order: erster")], CA, "order: erster", "ganze Zahl",
                 id="course-order-not-a-number"),
    pytest.param([Edit(CA, "  - id: m-eins", "  - m-eins")], CA, "- m-eins", "„- id: …“",
                 id="course-entry-not-a-mapping"),
    pytest.param([Edit(CA, "    required: false", "    required: nein")], CA,
                 "required: nein", "true oder false", id="course-required-not-bool"),
    pytest.param([Edit(CB, "id: kurs-b", "id: kurs-a")], CB, "id: kurs-a", "auch kurs-a",
                 id="course-id-twice"),
    pytest.param([Edit(CB, "order: 2", "order: 1")], CB, "order: 1", "auch kurs-a",
                 id="course-order-twice"),
    # quizzes
    pytest.param([Edit(M1, OPTIONS_Q1, '        - text: "17"\n          correct: true\n')], M1,
                 "options:", "mindestens zwei Antwortoptionen", id="quiz-one-option"),
    pytest.param([Edit(M1, '- text: "169"', '- text: "169"\n          correct: true')], M1,
                 "options:", "genau eine richtige", id="quiz-single-two-correct"),
    pytest.param([Edit(M1, '          correct: true\n        - text: "169"',
                       '        - text: "169"')], M1, "options:", "genau eine richtige",
                 id="quiz-single-none-correct"),
    pytest.param([Edit(M1, "        - text: Klima\n          correct: true\n"
                           "        - text: Armut\n          correct: true\n",
                       "        - text: Klima\n        - text: Armut\n")], M1,
                 ("options:", 2), "mindestens eine richtige", id="quiz-multiple-none-correct"),
    pytest.param([Edit(M1, "- id: q2", "- id: q1")], M1, ("- id: q1", 2),
                 "Frage-id „q1“ ist doppelt", id="quiz-duplicate-question-id"),
    pytest.param([Edit(M1, "- text: Golf", "- text: Klima")], M1, ("- text: Klima", 2),
                 "„Klima“ ist doppelt", id="quiz-duplicate-option-text"),
    pytest.param([Edit(M1, "      explanation: Es sind 17.\n", "")], M1, "- id: q1",
                 "Pflichtfeld „explanation“", id="quiz-missing-explanation"),
    pytest.param([Edit(M1, "      explanation: Es sind 17.", "      explanation:")], M1,
                 "explanation:", "leer", id="quiz-empty-explanation"),
    pytest.param([Edit(M1, "pass_mark: 60", "pass_mark: 0")], M1, "pass_mark", "1 und 100",
                 id="quiz-pass-mark-zero"),
    pytest.param([Edit(M1, "pass_mark: 60", "pass_mark: 101")], M1, "pass_mark", "1 und 100",
                 id="quiz-pass-mark-above-100"),
    pytest.param([Edit(M1, "type: single", "type: einzeln")], M1, "type: einzeln",
                 "„single“ oder „multiple“", id="quiz-unknown-type"),
    pytest.param([Edit(M1, '- text: "169"', "- text: 169")], M1, "- text: 169",
                 "Anführungszeichen", id="quiz-option-text-is-a-number"),
    pytest.param([Edit(M2, "sdgs: []", "sdgs: []\nquiz:\n  questions: []")], M2,
                 "questions: []", "mindestens eine Frage", id="quiz-without-questions"),
    pytest.param([Edit(M1, "      question: Wie viele Ziele?\n", "")], M1, "- id: q1",
                 "Pflichtfeld „question“", id="quiz-missing-question-text"),
    # images
    pytest.param([Edit(M1, "img/bild.png", "img/fehlt.png")], M1, "img/fehlt.png",
                 "nicht gefunden (erwartet: kurs-a/img/fehlt.png)", id="image-missing"),
    pytest.param([Edit(M1, "![Ein Diagramm]", "![]")], M1, "![](img/bild.png)",
                 "Alternativtext", id="image-without-alt"),
    pytest.param([Edit(M1, "![Ein Diagramm](img/bild.png)", '<img src="img/bild.png">')], M1,
                 "<img", "Alternativtext", id="raw-image-without-alt"),
    pytest.param([Edit(M1, "(img/bild.png)", "(https://example.org/x.png)")], M1,
                 "example.org", "externes Bild", id="image-external"),
    pytest.param([Edit(M1, "(img/bild.png)", "(//cdn.example.org/x.png)")], M1,
                 "cdn.example.org", "externes Bild", id="image-protocol-relative"),
    pytest.param([Edit(M1, "(img/bild.png)", "(data:image/png;base64,AAAA)")], M1,
                 "data:", "data:", id="image-data-url"),
    pytest.param([Edit(M1, "(img/bild.png)", "(/static/x.png)")], M1, "/static/x.png",
                 "absoluter Bildpfad", id="image-absolute-path"),
    pytest.param([Edit(M1, "(img/bild.png)", "(../../geheim.png)")], M1, "geheim.png",
                 "aus dem Inhaltsordner heraus", id="image-escapes-root"),
    pytest.param([Edit(M1, "(img/bild.png)", "(bild.png)")], M1, "(bild.png)",
                 "im Ordner img/", id="image-outside-img-folder"),
    pytest.param([Edit(M1, "Text.\n", "Text.\n\n![Zweites](img/anderes.png)\n")], M1,
                 "Zweites", "nicht gefunden", id="image-missing-reported-at-its-own-line"),
    # regions.yml
    pytest.param([Edit(RE, "region: rest", "region: nirgendwo")], RE, "region: nirgendwo",
                 "unbekannte Region „nirgendwo“", id="district-unknown-region"),
    pytest.param([Edit(RE, "id: rest", "id: revier")], RE, ("id: revier", 2),
                 "doppelt", id="region-duplicate-id"),
    pytest.param([Edit(RE, "id: stadt-koeln", "id: kreis-dueren")], RE, ("id: kreis-dueren", 2),
                 "doppelt", id="district-duplicate-id"),
    pytest.param([Edit(RE, "kind: kreisfreie-stadt", "kind: grossstadt")], RE,
                 "kind: grossstadt", "kreis | kreisfreie-stadt | ausserhalb",
                 id="district-bad-kind"),
    pytest.param([Edit(RE, "    name: Köln\n", "")], RE, "- id: stadt-koeln",
                 "Pflichtfeld „name“", id="district-missing-name"),
    pytest.param([{RE: REGIONS.split("districts:")[0]}], RE, "regions:",
                 "Pflichtfeld „districts“", id="regions-without-districts"),
    pytest.param([{RE: "- revier\n"}], RE, "- revier", "Zuordnung", id="regions-not-a-mapping"),
    # programme.yml
    pytest.param([Edit(PR, "issuer:\n  name: LAG 21 NRW\n  place: Dortmund",
                       "issuer: LAG 21 NRW")], PR, "issuer:", "Zuordnung",
                 id="issuer-not-a-mapping"),
    pytest.param([Edit(PR, "  name: LAG 21 NRW\n", "")], PR, "place: Dortmund",
                 "Pflichtfeld „name“", id="issuer-without-name"),
    pytest.param([Edit(PR, "  place: Dortmund", "  plaec: Dortmund")], PR, "plaec: Dortmund",
                 "meinten Sie „place“", id="issuer-unknown-key"),
    pytest.param([{PR: "issuer:\n  name: LAG 21 NRW\ncertificates: keine\n"}], PR,
                 "certificates:", "Liste", id="certificates-not-a-list"),
    pytest.param([{PR: "issuer:\n  name: LAG 21 NRW\n"}], PR, "issuer:",
                 "Pflichtfeld „certificates“", id="certificates-missing"),
    pytest.param([Edit(PR, "    statement: hat Kurs A abgeschlossen.\n", "")], PR,
                 "- id: zertifikat-a", "Pflichtfeld „statement“", id="certificate-no-statement"),
    pytest.param([Edit(PR, "    rule:\n      course_completed: kurs-a\n", "")], PR,
                 "- id: zertifikat-a", "Pflichtfeld „rule“", id="certificate-no-rule"),
    pytest.param([Edit(PR, "    rule:\n      course_completed: kurs-a\n", "    rule:\n")], PR,
                 "rule:", "leer", id="certificate-empty-rule"),
    pytest.param([Edit(PR, "id: zertifikat-b", "id: zertifikat-a")], PR,
                 ("id: zertifikat-a", 2), "Zertifikat mit der id „zertifikat-a“ ist doppelt",
                 id="certificate-duplicate-id"),
    pytest.param([Edit(PR, "    title: Zertifikat B\n", "    titel: Zertifikat B\n")], PR,
                 "titel:", "unbekannter Schlüssel", id="certificate-unknown-key"),
    pytest.param([Edit(PR, "  kurs-b:", "  kurs-x:")], PR, "kurs-x:", "unbekannter Kurs „kurs-x“",
                 id="course-entry-unknown-course"),
    pytest.param([Edit(PR, "course_completed: kurs-a", "course_completed: !!binary AAAA")], PR,
                 "rule:", "Regel enthält Werte", id="rule-not-json"),
    pytest.param([Edit(PR, "course_entry:", "zugang:")], PR, "zugang:", "unbekannter Schlüssel",
                 id="programme-unknown-key"),
    # files in unexpected places, missing files, encodings
    pytest.param([{"notizen.txt": "x"}], "notizen.txt", 1, "unerwartete Datei",
                 id="unexpected-file-at-root"),
    pytest.param([{"kurs-a/notizen.txt": "x"}], "kurs-a/notizen.txt", 1, "unerwartete Datei",
                 id="unexpected-file-in-course"),
    pytest.param([{"kurs-a/extra/x.md": "x"}], "kurs-a/extra", 1, "unerwarteter Ordner",
                 id="unexpected-folder-in-course"),
    pytest.param([{"kurs-a/img/animation.gif": b"GIF89a"}], "kurs-a/img/animation.gif", 1,
                 "PNG, JPEG oder WebP", id="unexpected-image-format"),
    pytest.param([{"kurs-a/img/sub/x.png": PNG}], "kurs-a/img/sub", 1, "unerwarteter Eintrag",
                 id="folder-inside-img"),
    pytest.param([{"kurs-a/img/kaputt.png": b"<html>"}], "kurs-a/img/kaputt.png", 1,
                 "kein gültiges PNG-Bild", id="image-bytes-do-not-match-extension"),
    pytest.param([{"ohne-kurs/01.md": MODULE_ZWEI.replace("m-zwei", "m-x")}],
                 "ohne-kurs/course.yml", 1, "Datei fehlt", id="course-folder-without-course-yml"),
    pytest.param([{PR: None}], PR, 1, "Datei fehlt", id="programme-missing"),
    pytest.param([{RE: None}], RE, 1, "Datei fehlt", id="regions-missing"),
    pytest.param([{M2: MODULE_ZWEI.replace("Modul Zwei", "Modul Zwö").encode("latin-1")}], M2,
                 "title:", "nicht UTF-8", id="module-not-utf8"),
    pytest.param([{CB: COURSE_B.replace("Kurs B", "Kürs B").encode("cp1252")}], CB, "title:",
                 "nicht UTF-8", id="course-not-utf8"),
]


@pytest.mark.parametrize(("changes", "path", "where", "keyword"), CASES)
def test_problem_is_reported_with_path_line_and_message(
    tmp_path: Path, changes: list[Any], path: str, where: Any, keyword: str
) -> None:
    files = write_tree(tmp_path, changes)
    if isinstance(where, int):
        line = where
    else:
        needle, occurrence = where if isinstance(where, tuple) else (where, 1)
        text = files[path]
        text = text.decode("latin-1") if isinstance(text, bytes) else text
        line = line_of(text, needle, occurrence)

    result = load_tree(tmp_path)

    assert result.tree is None
    assert_reported(result.problems, path, line, keyword)


def test_all_problems_are_collected_not_just_the_first(tmp_path: Path) -> None:
    write_tree(tmp_path, [
        Edit(M1, "minutes: 30", "minutes: viel"),
        Edit(M1, "sdgs: [11, 13]", "sdgs: [99]"),
        Edit(M2, "order: 2", "order: 7"),
        Edit(RE, "kind: kreis\n", "kind: land\n"),
        Edit(PR, "  kurs-b:", "  kurs-x:"),
        {"kurs-a/notizen.txt": "x"},
    ])

    problems = load_tree(tmp_path).problems

    assert {(p.path, p.line) for p in problems} >= {
        (M1, 5), (M1, 9), (M2, 4), (RE, 10), (PR, 18), ("kurs-a/notizen.txt", 1)
    }
    assert problems == sorted(problems, key=lambda p: (p.path, p.line))


def test_missing_content_root_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    result = load_tree(tmp_path / "gibt-es-nicht")

    assert result.tree is None
    assert result.problems[0].path == "."
    assert "nicht gefunden" in result.problems[0].message


def test_problem_formats_like_a_compiler_message() -> None:
    problem = Problem("kurs-a/01.md", 7, "„minutes“ muss eine ganze Zahl sein")

    assert str(problem) == "kurs-a/01.md:7: „minutes“ muss eine ganze Zahl sein"


# --- rule validation through namalms.domain.rules ---------------------------------------------


@dataclass(frozen=True)
class FakeRuleProblem:
    line: int | None
    message: str


@dataclass(frozen=True)
class FakeCourseInfo:
    title: str
    module_ids: tuple[str, ...]
    required_ids: frozenset[str]


@dataclass(frozen=True)
class FakeCatalog:
    courses: Any
    modules: Any
    regions: Any
    certificates: Any


@pytest.fixture
def fake_rules(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """Replace the rule engine by a recorder that complains about the id „kaputt“."""
    calls = types.SimpleNamespace(catalogs=[], rules=[], cycles=[])

    def validate_rule(raw: Any, catalog: Any) -> list[FakeRuleProblem]:
        calls.catalogs.append(catalog)
        calls.rules.append(raw)
        problems = []
        for key, value in raw.items():
            if value == "kaputt":
                problems.append(FakeRuleProblem(raw.line_of(key), f"„{key}“ kennt „kaputt“ nicht"))
            if value == "ohne-zeile":
                problems.append(FakeRuleProblem(None, "Problem ohne Zeile"))
        return problems

    def find_certificate_cycles(definitions: Any) -> list[FakeRuleProblem]:
        calls.cycles.append(dict(definitions))
        return [FakeRuleProblem(None, "Zirkelbezug")] if "zirkel" in str(definitions) else []

    from namalms.content import loader

    monkeypatch.setattr(loader, "Catalog", FakeCatalog)
    monkeypatch.setattr(loader, "CourseInfo", FakeCourseInfo)
    monkeypatch.setattr(loader, "validate_rule", validate_rule)
    monkeypatch.setattr(loader, "find_certificate_cycles", find_certificate_cycles)
    return calls


def test_rules_are_validated_against_a_catalog_of_the_tree(
    tmp_path: Path, fake_rules: types.SimpleNamespace
) -> None:
    write_tree(tmp_path)

    assert load_tree(tmp_path).problems == []

    catalog = fake_rules.catalogs[0]
    assert catalog.courses["kurs-a"] == FakeCourseInfo(
        "Kurs A", ("m-eins", "m-zwei"), frozenset({"m-eins"})
    )
    assert catalog.modules == {"m-eins": "Modul Eins", "m-zwei": "Modul Zwei",
                               "m-drei": "Modul Drei"}
    assert catalog.regions == {"revier": "Rheinisches Revier", "rest": "Übriges NRW"}
    assert catalog.certificates == {"zertifikat-a": "Zertifikat Kurs A",
                                    "zertifikat-b": "Zertifikat B"}
    assert len(fake_rules.rules) == 3  # two certificates and one course entry rule
    assert isinstance(fake_rules.rules[0], LineDict)  # raw nodes keep their lines
    assert set(fake_rules.cycles[0]) == {"zertifikat-a", "zertifikat-b"}


@pytest.mark.parametrize(
    ("edit", "needle", "keyword"),
    [
        (Edit(PR, "course_completed: kurs-a", "course_completed: kaputt"),
         "course_completed: kaputt", "Regel von „zertifikat-a“: „course_completed“ kennt"),
        (Edit(PR, "course_completed: kurs-a", "course_completed: ohne-zeile"),
         "- id: zertifikat-a", "Problem ohne Zeile"),
        (Edit(PR, "  kurs-b:\n    certificate_held: zertifikat-a",
              "  kurs-b:\n    certificate_held: kaputt"),
         "certificate_held: kaputt", "Zugangsregel für „kurs-b“"),
        (Edit(PR, "course_completed: kurs-a", "course_completed: zirkel"), "certificates:",
         "Zirkelbezug"),
    ],
    ids=["rule-line", "fallback-to-certificate-line", "course-entry-rule", "cycle"],
)
def test_rule_problems_become_problems_of_the_programme_file(
    tmp_path: Path, fake_rules: types.SimpleNamespace, edit: Edit, needle: str, keyword: str
) -> None:
    files = write_tree(tmp_path, [edit])

    problems = load_tree(tmp_path).problems

    assert_reported(problems, PR, line_of(files[PR], needle), keyword)


def test_rules_are_not_checked_while_the_programme_structure_is_broken(
    tmp_path: Path, fake_rules: types.SimpleNamespace
) -> None:
    write_tree(tmp_path, [Edit(PR, "  kurs-b:", "  kurs-x:")])

    load_tree(tmp_path)

    assert fake_rules.rules == []


def test_real_rule_engine_reports_unknown_course_in_a_rule(tmp_path: Path) -> None:
    pytest.importorskip("namalms.domain.rules")
    files = write_tree(tmp_path, [Edit(PR, "course_completed: kurs-a",
                                       "course_completed: kurs-z")])

    problems = load_tree(tmp_path).problems

    assert_reported(problems, PR, line_of(files[PR], "kurs-z"), "kurs-z")


def test_real_rule_engine_reports_a_certificate_that_requires_itself(tmp_path: Path) -> None:
    pytest.importorskip("namalms.domain.rules")
    write_tree(tmp_path, [Edit(PR, "course_completed: kurs-a",
                               "certificate_held: zertifikat-a")])

    problems = load_tree(tmp_path).problems

    assert any(p.path == PR and "zertifikat-a" in p.message for p in problems), problems


# --- a single module: parse_module and check_module_in_tree ----------------------------------


def test_parse_module_returns_a_required_module_without_problems() -> None:
    module, problems = parse_module(MODULE_EINS, "kurs-a/hochgeladen.md", "kurs-a")

    assert problems == []
    assert module.id == "m-eins"
    assert module.course_id == "kurs-a"
    assert module.path == "kurs-a/hochgeladen.md"
    assert module.is_required
    assert module.images == ("kurs-a/img/bild.png",)


def test_parse_module_reports_problems_and_returns_no_module() -> None:
    text = MODULE_EINS.replace("minutes: 30", "minutes: viel")
    text = text.replace("sdgs: [11, 13]", "sdgs: [0]")

    module, problems = parse_module(text, "kurs-a/x.md", "kurs-a")

    assert module is None
    assert [(p.path, p.line) for p in problems] == [("kurs-a/x.md", 5), ("kurs-a/x.md", 9)]


def test_module_meta_dict_is_json_and_round_trips() -> None:
    module, _ = parse_module(MODULE_EINS, "kurs-a/01.md", "kurs-a")

    meta = json.loads(json.dumps(module.meta_dict()))

    assert "body" not in meta and "source" not in meta
    assert meta["quiz"]["questions"][0]["options"][0] == {"text": "17", "is_correct": True}
    rebuilt = ModuleSource.from_meta(meta, body=module.body, source=module.source)
    assert rebuilt.meta_dict() == module.meta_dict()
    assert Quiz.from_dict(module.quiz.to_dict()) == module.quiz


@pytest.fixture
def tree(tmp_path: Path) -> Any:
    write_tree(tmp_path)
    return load_tree(tmp_path).tree


def test_uploaded_module_that_replaces_its_own_file_passes(tree: Any) -> None:
    module, _ = parse_module(MODULE_EINS.replace("Modul Eins", "Neu"), M1, "kurs-a")

    assert check_module_in_tree(module, tree) == []


@pytest.mark.parametrize(
    ("text", "path", "needle", "keyword"),
    [
        (MODULE_ZWEI.replace("m-zwei", "m-eins").replace("order: 2", "order: 1"),
         "kurs-a/kopie.md", "id: m-eins", "auch in kurs-a/01-eins.md"),
        (MODULE_EINS.replace("img/bild.png", "img/neu.png"), M1, "img/neu.png",
         "nicht gefunden"),
        (MODULE_EINS.replace("order: 1", "order: 2"), M1, "order: 2", "Position 1"),
        (MODULE_ZWEI.replace("m-zwei", "m-neu").replace("order: 2", "order: 3"),
         "kurs-a/neu.md", "id: m-neu", "in keiner course.yml"),
        (MODULE_DREI.replace("order: 1", "order: 1"), "kurs-a/verirrt.md", "id: m-drei",
         "b-ordner/course.yml"),
    ],
    ids=["duplicate-id", "missing-image", "order", "not-listed", "listed-in-other-course"],
)
def test_uploaded_module_is_checked_against_the_tree(
    tree: Any, text: str, path: str, needle: str, keyword: str
) -> None:
    module, problems = parse_module(text, path, "kurs-a")
    assert problems == []

    problems = check_module_in_tree(module, tree)

    assert_reported(problems, path, line_of(text, needle), keyword)


@pytest.mark.parametrize(
    ("module_path", "src", "expected"),
    [
        ("kurs-a/01.md", "img/x.png", "kurs-a/img/x.png"),
        ("kurs-a/01.md", "./img/x.png", "kurs-a/img/x.png"),
        ("kurs-a/01.md", "img/mit%20leerzeichen.png", "kurs-a/img/mit leerzeichen.png"),
        ("kurs-a/01.md", "../kurs-b/img/x.png", "kurs-b/img/x.png"),
        ("kurs-a/01.md", "../../x.png", None),
        ("kurs-a/01.md", "https://example.org/x.png", None),
        ("kurs-a/01.md", "/img/x.png", None),
        ("kurs-a/01.md", "", None),
    ],
)
def test_image_src_resolves_relative_to_the_module_file(
    module_path: str, src: str, expected: str | None
) -> None:
    assert resolve_image_path(module_path, src) == expected


# --- YAML with line numbers ----------------------------------------------------------------


def test_yaml_nodes_know_their_lines_and_the_lines_of_their_keys() -> None:
    node = load_yaml("a: 1\nb:\n  - x\n  - c: 2\n    d: [1, 2]\n", line_offset=3)

    assert isinstance(node, LineDict) and node.line == 4
    assert node.key_lines == {"a": 4, "b": 5}
    assert isinstance(node["b"], LineList) and node["b"].item_lines == [6, 7]
    assert node["b"][1].line_of("d") == 8
    assert to_plain(node) == {"a": 1, "b": ["x", {"c": 2, "d": [1, 2]}]}
    assert type(to_plain(node)["b"]) is list


def _line_maps(node):
    """The data together with every line a node carries, for comparing two loaders."""
    if isinstance(node, dict):
        return ("map", node.line, node.key_lines, {key: _line_maps(value) for key, value in node.items()})
    if isinstance(node, list):
        return ("seq", node.line, node.item_lines, [_line_maps(item) for item in node])
    return node


@pytest.mark.parametrize("path", sorted(p for p in CONTENT_ROOT.rglob("*") if p.suffix in (".yml", ".md")),
                         ids=lambda p: str(p.relative_to(CONTENT_ROOT)))
def test_the_fast_yaml_loader_reads_every_shipped_file_like_the_careful_one(path) -> None:
    """load_yaml takes libyaml's parser and falls back to the pure-Python one only for errors:
    on valid files both must give the same data and the same lines."""
    from namalms.content.yamlnodes import _load_slowly

    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        if not text.startswith("---\n"):
            return
        text = text[4:text.index("\n---", 4) + 1]
    assert _line_maps(load_yaml(text, line_offset=1)) == _line_maps(_load_slowly(text, 1))


def test_an_alias_bomb_is_refused_without_expanding_it() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 12)]
    with pytest.raises(YamlError, match="Anker"):
        load_yaml("\n".join(lines) + "\n")


def test_yaml_dates_stay_text() -> None:
    assert load_yaml("a: 2024-01-01\n") == {"a": "2024-01-01"}


@pytest.mark.parametrize(
    ("text", "line", "keyword"),
    [
        ("a: 1\nb: c: d\n", 2, "Doppelpunkt"),
        ("a: 1\na: 2\n", 2, "doppelt"),
        ("a: &x 1\nb: *x\n", 2, "Anker"),
        ("a:\n\t- 1\n", 2, "Tabulatoren"),
        ("a: 1\nb: 'offen\n", 2, "Anführungszeichen"),
        ("a: 1\nb: \x00\n", 2, "Steuerzeichen"),
    ],
)
def test_yaml_errors_carry_line_and_german_message(text: str, line: int, keyword: str) -> None:
    with pytest.raises(YamlError) as caught:
        load_yaml(text)

    assert caught.value.line == line
    assert keyword in caught.value.message


# --- the shipped content ---------------------------------------------------------------------


def test_shipped_content_is_clean() -> None:
    result = load_tree(REPO_ROOT / "content")

    assert [str(problem) for problem in result.problems] == []
    assert result.tree is not None
