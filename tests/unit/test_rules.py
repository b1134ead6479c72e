"""Behaviour of the eligibility rules engine: primitives, combinators, shipped certificates,
validation with line numbers, cycles between certificates, hashing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from namalms.domain import rules
from namalms.domain.rules import (
    RULE_TYPES,
    Catalog,
    CourseInfo,
    Facts,
    Rule,
    RuleError,
    RuleProblem,
    Verdict,
    evaluate,
    find_certificate_cycles,
    parse_rule,
    referenced_certificates,
    rule_hash,
    rule_type,
    validate_rule,
)

NBSP = "\u00a0"
NOW = datetime(2026, 6, 1, 12, 0)
CONTENT = Path(__file__).resolve().parents[2] / "content"


def at(day: int, month: int = 5, year: int = 2026, hour: int = 10) -> datetime:
    """A naive timestamp; most cases only care about the day."""
    return datetime(year, month, day, hour)


# --------------------------------------------------------------------------------------------
# A small catalog with German titles, independent of the shipped content

GK = ("gk-agenda-2030", "gk-sdgs-lokalisieren", "gk-strategie", "gk-wahlmodul")
RL = ("rl-basismodul", *(f"rl-fach-{n}" for n in range(1, 9)))

CATALOG = Catalog(
    courses={
        "grundlagenkurs": CourseInfo(
            title="Grundlagenkurs", module_ids=GK, required_ids=frozenset(GK[:3])
        ),
        "regulaerer-lehrgang": CourseInfo(
            title="Regulärer Lehrgang NaMa NRW", module_ids=RL, required_ids=frozenset(RL)
        ),
        "leerkurs": CourseInfo(title="Leerkurs", module_ids=(), required_ids=frozenset()),
    },
    modules={
        "gk-agenda-2030": "Agenda 2030",
        "gk-sdgs-lokalisieren": "SDGs lokalisieren",
        "gk-strategie": "Nachhaltigkeitsstrategie",
        "gk-wahlmodul": "Wahlmodul",
        "rl-basismodul": "Basismodul Kommunales Nachhaltigkeitsmanagement",
        **{f"rl-fach-{n}": f"Fachmodul {n}" for n in range(1, 9)},
    },
    regions={
        "rheinisches-revier": "Rheinisches Revier",
        "ruhr-kraftwerksstandorte": "Ruhr-Kraftwerksstandorte",
        "uebriges-nrw": "Übriges NRW",
    },
    certificates={
        "zertifikat-grundlagenkurs": "Zertifikat Grundlagenkurs",
        "zertifikat-sonderkurs": "Zertifikat Sonderkurs",
    },
)


def make_facts(**overrides: Any) -> Facts:
    """Facts of a learner who has done nothing yet, with ``overrides``."""
    values: dict[str, Any] = {
        "region_id": None,
        "completed_modules": {},
        "quiz_scores": {},
        "workshops_attended": (),
        "enrolled_at": {},
        "certificates_held": {},
        "now": NOW,
    }
    values.update(overrides)
    return Facts(**values)


def completed(*module_ids: str, day: int = 1) -> dict[str, datetime]:
    """Modules completed on consecutive days from ``day`` of May 2026."""
    return {module_id: at(day + offset) for offset, module_id in enumerate(module_ids)}


# --------------------------------------------------------------------------------------------
# YAML with line numbers, as the content loader provides it


class LineDict(dict):
    line: int


class LineList(list):
    line: int


class LineLoader(yaml.SafeLoader):
    """Safe YAML loader whose mappings and sequences remember their 1-based line."""


def _construct_mapping(loader: LineLoader, node: yaml.MappingNode) -> LineDict:
    mapping = LineDict(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    return mapping


def _construct_sequence(loader: LineLoader, node: yaml.SequenceNode) -> LineList:
    sequence = LineList(loader.construct_sequence(node, deep=True))
    sequence.line = node.start_mark.line + 1
    return sequence


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load(text: str) -> Any:
    return yaml.load(text, Loader=LineLoader)  # noqa: S506 - LineLoader is a SafeLoader


# --------------------------------------------------------------------------------------------
# Primitives: ok, explanation, progress

PRIMITIVE_CASES = [
    # module_completed
    ("module_completed: gk-agenda-2030", {"completed_modules": {"gk-agenda-2030": at(3)}},
     True, "erfüllt am 03.05.2026", 1, 1),
    ("module_completed: gk-agenda-2030", {}, False, "noch nicht abgeschlossen", 0, 1),
    ("module_completed: gk-agenda-2030", {"completed_modules": completed("gk-strategie")},
     False, "noch nicht abgeschlossen", 0, 1),
    # course_completed: required modules only, the optional Wahlmodul does not count
    ("course_completed: grundlagenkurs",
     {"completed_modules": completed("gk-agenda-2030", "gk-sdgs-lokalisieren", "gk-strategie")},
     True, "3 von 3 Pflichtmodulen – erfüllt am 03.05.2026", 3, 3),
    ("course_completed: grundlagenkurs",
     {"completed_modules": completed("gk-agenda-2030", "gk-wahlmodul", "gk-strategie")},
     False, "2 von 3 Pflichtmodulen", 2, 3),
    ("course_completed: grundlagenkurs", {}, False, "0 von 3 Pflichtmodulen", 0, 3),
    ("course_completed: gibt-es-nicht", {}, False, "Kurs „gibt-es-nicht“ ist nicht bekannt",
     None, None),
    ("course_completed: leerkurs", {}, False, "Kurs „Leerkurs“ hat keine Pflichtmodule",
     None, None),
    # modules_completed over a course, without the base module
    ("modules_completed: {min: 7, course: regulaerer-lehrgang, exclude: [rl-basismodul]}",
     {"completed_modules": completed(*RL[1:5])}, False, "4 von 7 Modulen", 4, 7),
    ("modules_completed: {min: 7, course: regulaerer-lehrgang, exclude: [rl-basismodul]}",
     {"completed_modules": completed(*RL[:7])}, False, "6 von 7 Modulen", 6, 7),
    ("modules_completed: {min: 7, course: regulaerer-lehrgang, exclude: [rl-basismodul]}",
     {"completed_modules": completed(*RL[1:])}, True, "7 von 7 Modulen – erfüllt am 07.05.2026",
     7, 7),
    ("modules_completed: {min: 2, modules: [gk-agenda-2030, gk-strategie, gk-wahlmodul]}",
     {"completed_modules": completed("gk-strategie", "gk-sdgs-lokalisieren")},
     False, "1 von 2 Modulen", 1, 2),
    ("modules_completed: {min: 1, modules: [gk-wahlmodul]}", {}, False, "0 von 1 Modul", 0, 1),
    ("modules_completed: {min: 2, course: grundlagenkurs, exclude: [gk-agenda-2030]}",
     {"completed_modules": completed("gk-agenda-2030", "gk-wahlmodul", "gk-strategie", day=10)},
     True, "2 von 2 Modulen – erfüllt am 12.05.2026", 2, 2),
    ("modules_completed: {min: 1, course: gibt-es-nicht}", {}, False,
     "Kurs „gibt-es-nicht“ ist nicht bekannt", None, None),
    # quiz_score: the best score counts, the boundary is inclusive
    ("quiz_score: {module: gk-agenda-2030, min: 70}", {"quiz_scores": {"gk-agenda-2030": 60}},
     False, f"Quiz „Agenda 2030“: 60{NBSP}% – benötigt 70{NBSP}%", 0, 1),
    ("quiz_score: {module: gk-agenda-2030, min: 70}", {"quiz_scores": {"gk-agenda-2030": 70}},
     True, f"Quiz „Agenda 2030“: 70{NBSP}% – benötigt 70{NBSP}%", 1, 1),
    ("quiz_score: {module: gk-agenda-2030, min: 70}", {"quiz_scores": {"gk-strategie": 100}},
     False, f"Quiz „Agenda 2030“: noch nicht bearbeitet – benötigt 70{NBSP}%", 0, 1),
    # workshops_attended, of one course or of any course
    ("workshops_attended: {min: 2, course: grundlagenkurs}",
     {"workshops_attended": [("grundlagenkurs", at(4)), ("regulaerer-lehrgang", at(5))]},
     False, "1 von 2 Workshops", 1, 2),
    ("workshops_attended: {min: 2, course: grundlagenkurs}",
     {"workshops_attended": [("grundlagenkurs", at(9)), ("grundlagenkurs", at(4)),
                             ("grundlagenkurs", at(20))]},
     True, "2 von 2 Workshops – erfüllt am 09.05.2026", 2, 2),
    ("workshops_attended: {min: 2}",
     {"workshops_attended": [("grundlagenkurs", at(4)), ("regulaerer-lehrgang", at(5))]},
     True, "2 von 2 Workshops – erfüllt am 05.05.2026", 2, 2),
    ("workshops_attended: {min: 1}", {}, False, "0 von 1 Workshop", 0, 1),
    # region_in
    ("region_in: [rheinisches-revier, ruhr-kraftwerksstandorte]",
     {"region_id": "ruhr-kraftwerksstandorte"}, True, "Region „Ruhr-Kraftwerksstandorte“", 1, 1),
    ("region_in: [rheinisches-revier, ruhr-kraftwerksstandorte]", {"region_id": "uebriges-nrw"},
     False, "Region „Übriges NRW“ gehört nicht dazu", 0, 1),
    ("region_in: [rheinisches-revier]", {}, False, "keine Region angegeben", 0, 1),
    # certificate_held
    ("certificate_held: zertifikat-sonderkurs",
     {"certificates_held": {"zertifikat-sonderkurs": at(3, 4)}},
     True, "ausgestellt am 03.04.2026", 1, 1),
    ("certificate_held: zertifikat-sonderkurs",
     {"certificates_held": {"zertifikat-grundlagenkurs": at(3, 4)}},
     False, "noch nicht erhalten", 0, 1),
]


@pytest.mark.parametrize(("rule", "facts", "ok", "explanation", "done", "total"),
                         PRIMITIVE_CASES)
def test_primitive_verdicts(
    rule: str, facts: dict[str, Any], ok: bool, explanation: str, done: int | None,
    total: int | None,
) -> None:
    verdict = evaluate(load(rule), make_facts(**facts), CATALOG)
    assert (verdict.ok, verdict.explanation, verdict.done, verdict.total) == (
        ok, explanation, done, total
    )
    assert verdict.kind == next(iter(load(rule)))


LABEL_CASES = [
    ("module_completed: gk-sdgs-lokalisieren", "Modul „SDGs lokalisieren“ abgeschlossen"),
    ("course_completed: grundlagenkurs", "Kurs „Grundlagenkurs“ abgeschlossen"),
    ("modules_completed: {min: 7, course: regulaerer-lehrgang, exclude: [rl-basismodul]}",
     "Mindestens 7 Module aus „Regulärer Lehrgang NaMa NRW“ "
     "(ohne „Basismodul Kommunales Nachhaltigkeitsmanagement“)"),
    ("modules_completed: {min: 1, modules: [gk-agenda-2030, gk-strategie, gk-wahlmodul]}",
     "Mindestens 1 Modul aus „Agenda 2030“, „Nachhaltigkeitsstrategie“ und „Wahlmodul“"),
    ("quiz_score: {module: gk-agenda-2030, min: 80}",
     f"Quiz „Agenda 2030“ mit mindestens 80{NBSP}% bestanden"),
    ("workshops_attended: {min: 2, course: grundlagenkurs}",
     "Mindestens 2 Workshops aus „Grundlagenkurs“ besucht"),
    ("workshops_attended: {min: 1}", "Mindestens 1 Workshop besucht"),
    ("region_in: [rheinisches-revier, ruhr-kraftwerksstandorte, uebriges-nrw]",
     "Region „Rheinisches Revier“, „Ruhr-Kraftwerksstandorte“ oder „Übriges NRW“"),
    ("certificate_held: zertifikat-grundlagenkurs",
     "„Zertifikat Grundlagenkurs“ erhalten"),
    ("completed_within_days: {course: grundlagenkurs, days: 30}",
     "Kurs „Grundlagenkurs“ innerhalb von 30 Tagen nach der Einschreibung abgeschlossen"),
    ("completed_within_days: {course: grundlagenkurs, days: 1}",
     "Kurs „Grundlagenkurs“ innerhalb von 1 Tag nach der Einschreibung abgeschlossen"),
    ("all_of: [{module_completed: gk-agenda-2030}]", "Alle folgenden Bedingungen"),
    ("any_of: [{module_completed: gk-agenda-2030}]", "Mindestens eine der folgenden Bedingungen"),
]


@pytest.mark.parametrize(("rule", "label"), LABEL_CASES)
def test_labels_say_in_german_what_is_required(rule: str, label: str) -> None:
    assert evaluate(load(rule), make_facts(), CATALOG).label == label


def test_unknown_ids_are_labelled_with_the_id_itself() -> None:
    verdict = evaluate({"module_completed": "neues-modul"}, make_facts(), CATALOG)
    assert verdict.label == "Modul „neues-modul“ abgeschlossen"
    assert not verdict.ok


def test_course_completed_lists_the_required_modules_as_children() -> None:
    verdict = evaluate(
        {"course_completed": "grundlagenkurs"},
        make_facts(completed_modules=completed("gk-agenda-2030")),
        CATALOG,
    )
    assert [child.label for child in verdict.children] == [
        "Modul „Agenda 2030“ abgeschlossen",
        "Modul „SDGs lokalisieren“ abgeschlossen",
        "Modul „Nachhaltigkeitsstrategie“ abgeschlossen",
    ]
    assert [child.ok for child in verdict.children] == [True, False, False]


# --------------------------------------------------------------------------------------------
# completed_within_days: German calendar days after enrolment

WITHIN_30_DAYS = {"completed_within_days": {"course": "grundlagenkurs", "days": 30}}
GK_REQUIRED = GK[:3]


def finished_on(moment: datetime) -> dict[str, datetime]:
    return {module_id: moment - timedelta(days=2 - i) for i, module_id in enumerate(GK_REQUIRED)}


WITHIN_CASES = [
    ("completed on the last day",
     {"enrolled_at": {"grundlagenkurs": at(1, 3)},
      "completed_modules": finished_on(at(31, 3, hour=20))},
     True, "abgeschlossen am 31.03.2026, Frist bis 31.03.2026"),
    ("completed a day late",
     {"enrolled_at": {"grundlagenkurs": at(1, 3)},
      "completed_modules": finished_on(at(1, 4, hour=0))},
     False, "abgeschlossen am 01.04.2026, Frist war bis 31.03.2026"),
    ("not enrolled", {"completed_modules": finished_on(at(10, 3))},
     False, "nicht in den Kurs eingeschrieben"),
    ("still running",
     {"enrolled_at": {"grundlagenkurs": at(1, 3)},
      "completed_modules": completed("gk-agenda-2030"), "now": at(15, 3)},
     False, "1 von 3 Pflichtmodulen, Frist bis 31.03.2026"),
    ("deadline passed",
     {"enrolled_at": {"grundlagenkurs": at(1, 3)},
      "completed_modules": completed("gk-agenda-2030"), "now": at(1, 4)},
     False, "Frist am 31.03.2026 abgelaufen (1 von 3 Pflichtmodulen)"),
]


@pytest.mark.parametrize(("case", "facts", "ok", "explanation"), WITHIN_CASES,
                         ids=[case[0] for case in WITHIN_CASES])
def test_completed_within_days(case: str, facts: dict[str, Any], ok: bool,
                               explanation: str) -> None:
    verdict = evaluate(WITHIN_30_DAYS, make_facts(**facts), CATALOG)
    assert (verdict.ok, verdict.explanation, verdict.done, verdict.total) == (
        ok, explanation, int(ok), 1
    )


def test_completed_within_days_counts_german_calendar_days_for_utc_times() -> None:
    # 31.03. 22:30 UTC is already 01.04. 00:30 in Dortmund: one day too late
    utc = timezone.utc
    facts = make_facts(
        enrolled_at={"grundlagenkurs": datetime(2026, 3, 1, 8, tzinfo=utc)},
        completed_modules=finished_on(datetime(2026, 3, 31, 22, 30, tzinfo=utc)),
        now=datetime(2026, 4, 2, tzinfo=utc),
    )
    verdict = evaluate(WITHIN_30_DAYS, facts, CATALOG)
    assert not verdict.ok
    assert verdict.explanation == "abgeschlossen am 01.04.2026, Frist war bis 31.03.2026"


def test_dates_in_explanations_are_german_local_dates() -> None:
    late_evening_utc = datetime(2026, 5, 2, 23, 15, tzinfo=timezone.utc)
    verdict = evaluate(
        {"module_completed": "gk-agenda-2030"},
        make_facts(completed_modules={"gk-agenda-2030": late_evening_utc}),
        CATALOG,
    )
    assert verdict.explanation == "erfüllt am 03.05.2026"


# --------------------------------------------------------------------------------------------
# Combinators, missing(), progress


def test_all_of_counts_progress_in_units_and_leaves_the_region_out() -> None:
    rule = load("""
all_of:
  - module_completed: gk-agenda-2030
  - region_in: [rheinisches-revier]
""")
    verdict = evaluate(rule, make_facts(completed_modules=completed("gk-agenda-2030")), CATALOG)
    # The region is a precondition, not "1 of 2" progress for someone who did the work.
    assert (verdict.ok, verdict.done, verdict.total) == (False, 1, 1)
    assert verdict.explanation == "1 von 2 Bedingungen erfüllt"
    assert [child.kind for child in verdict.children] == ["module_completed", "region_in"]
    assert not verdict.is_reachable and verdict.missing() == []
    assert [p.kind for p in verdict.preconditions()] == ["region_in"]


def test_progress_counts_the_units_the_missing_list_shows() -> None:
    rule = {"all_of": [{"course_completed": "grundlagenkurs"},
                       {"workshops_attended": {"min": 2, "course": "grundlagenkurs"}}]}
    facts = make_facts(completed_modules=completed("gk-agenda-2030"))
    verdict = evaluate(rule, facts, CATALOG)
    modules = len(CATALOG.courses["grundlagenkurs"].required_ids)
    assert (verdict.done, verdict.total) == (1, modules + 2)
    missing = verdict.missing()
    assert len(missing) == (modules - 1) + 1  # each open module, and the workshops "0 von 2"
    assert sum((m.total or 1) - (m.done or 0) for m in missing) == verdict.total - verdict.done


def test_all_of_is_met_when_every_condition_is_met() -> None:
    rule = {"all_of": [{"module_completed": "gk-agenda-2030"},
                       {"region_in": ["rheinisches-revier"]}]}
    facts = make_facts(completed_modules=completed("gk-agenda-2030"),
                       region_id="rheinisches-revier")
    verdict = evaluate(rule, facts, CATALOG)
    assert (verdict.ok, verdict.explanation, verdict.missing()) == (
        True, "2 von 2 Bedingungen erfüllt", []
    )


ANY_OF_TWO_MODULES = {"any_of": [{"module_completed": "gk-agenda-2030"},
                                 {"module_completed": "gk-strategie"}]}


@pytest.mark.parametrize(("done_modules", "ok", "explanation"), [
    ((), False, "keine der 2 Möglichkeiten erfüllt"),
    (("gk-strategie",), True, "erfüllt durch: Modul „Nachhaltigkeitsstrategie“ abgeschlossen"),
    (("gk-agenda-2030", "gk-strategie"), True,
     "erfüllt durch: Modul „Agenda 2030“ abgeschlossen"),
])
def test_any_of_is_met_by_one_alternative(done_modules: tuple[str, ...], ok: bool,
                                          explanation: str) -> None:
    verdict = evaluate(ANY_OF_TWO_MODULES, make_facts(completed_modules=completed(*done_modules)),
                       CATALOG)
    assert (verdict.ok, verdict.explanation) == (ok, explanation)


def test_missing_lists_the_open_leaves_of_all_branches() -> None:
    rule = {"all_of": [{"course_completed": "grundlagenkurs"},
                       {"region_in": ["rheinisches-revier"]},
                       {"quiz_score": {"module": "gk-agenda-2030", "min": 70}}]}
    facts = make_facts(completed_modules=completed("gk-agenda-2030", "gk-strategie"),
                       quiz_scores={"gk-agenda-2030": 90})
    verdict = evaluate(rule, facts, CATALOG)
    assert [leaf.label for leaf in verdict.missing()] == ["Modul „SDGs lokalisieren“ abgeschlossen"]
    assert [p.label for p in verdict.preconditions() if not p.ok] == ["Region „Rheinisches Revier“"]


def test_missing_names_a_module_required_twice_only_once() -> None:
    rule = {"all_of": [{"course_completed": "grundlagenkurs"},
                       {"module_completed": "gk-agenda-2030"}]}
    facts = make_facts(completed_modules=completed("gk-sdgs-lokalisieren", "gk-strategie"))
    assert [leaf.label for leaf in evaluate(rule, facts, CATALOG).missing()] == [
        "Modul „Agenda 2030“ abgeschlossen"
    ]


def test_missing_of_an_unmet_any_of_shows_only_the_closest_alternative() -> None:
    rule = {"any_of": [
        {"modules_completed": {"min": 5, "course": "regulaerer-lehrgang"}},   # 1 of 5
        {"course_completed": "grundlagenkurs"},                                 # 2 of 3
    ]}
    facts = make_facts(completed_modules=completed("gk-agenda-2030", "gk-strategie", "rl-fach-1"))
    verdict = evaluate(rule, facts, CATALOG)
    assert [leaf.label for leaf in verdict.missing()] == ["Modul „SDGs lokalisieren“ abgeschlossen"]
    assert (verdict.done, verdict.total) == (2, 3)


def test_missing_of_equally_close_alternatives_follows_the_authors_order() -> None:
    missing = evaluate(ANY_OF_TWO_MODULES, make_facts(), CATALOG).missing()
    assert [leaf.label for leaf in missing] == ["Modul „Agenda 2030“ abgeschlossen"]


def test_a_counting_condition_is_itself_the_missing_leaf() -> None:
    rule = {"modules_completed": {"min": 3, "course": "regulaerer-lehrgang"}}
    verdict = evaluate(rule, make_facts(completed_modules=completed("rl-fach-1")), CATALOG)
    assert verdict.missing() == [verdict]


@pytest.mark.parametrize(("verdict", "text"), [
    (Verdict(False, "modules_completed", "…", "4 von 7 Modulen", 4, 7), "4 von 7"),
    (Verdict(True, "module_completed", "…", "erfüllt am 03.05.2026", 1, 1), "1 von 1"),
    (Verdict(False, "course_completed", "…", "Kurs „x“ ist nicht bekannt", None, None), None),
])
def test_progress_text(verdict: Verdict, text: str | None) -> None:
    assert verdict.progress_text() == text


def test_verdict_to_dict_is_json_and_keeps_the_tree() -> None:
    rule = {"all_of": [{"course_completed": "grundlagenkurs"}, {"region_in": ["uebriges-nrw"]}]}
    data = evaluate(rule, make_facts(region_id="uebriges-nrw"), CATALOG).to_dict()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert data["kind"] == "all_of"
    assert data["children"][0]["explanation"] == "0 von 3 Pflichtmodulen"
    assert data["children"][0]["children"][0] == {
        "ok": False, "kind": "module_completed", "label": "Modul „Agenda 2030“ abgeschlossen",
        "explanation": "noch nicht abgeschlossen", "done": 0, "total": 1, "children": [],
    }
    assert data["children"][1]["ok"] is True


def test_evaluate_accepts_a_parsed_rule_or_raw_data() -> None:
    raw = {"all_of": [{"module_completed": "gk-agenda-2030"}]}
    facts = make_facts(completed_modules=completed("gk-agenda-2030"))
    assert evaluate(parse_rule(raw), facts, CATALOG) == evaluate(raw, facts, CATALOG)


def test_evaluate_rejects_malformed_raw_data() -> None:
    with pytest.raises(RuleError, match="Unbekannter Baustein „modul_completed“"):
        evaluate({"modul_completed": "gk-agenda-2030"}, make_facts(), CATALOG)


# --------------------------------------------------------------------------------------------
# The shipped certificates in content/programme.yml


def _module_titles(course_dir: Path) -> dict[str, str]:
    """Titles from module front matter where the module files exist (they may be in progress)."""
    titles: dict[str, str] = {}
    for path in sorted(course_dir.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        parts = text.split("---", 2)
        if not text.startswith("---") or len(parts) < 3:
            continue
        try:
            front = yaml.safe_load(parts[1])
        except yaml.YAMLError:
            continue
        if isinstance(front, dict) and isinstance(front.get("id"), str):
            titles[front["id"]] = str(front.get("title") or front["id"])
    return titles


def _shipped() -> tuple[dict[str, Any], Catalog]:
    programme = yaml.safe_load((CONTENT / "programme.yml").read_text(encoding="utf-8"))
    courses: dict[str, CourseInfo] = {}
    modules: dict[str, str] = {}
    for course_file in sorted(CONTENT.glob("*/course.yml")):
        course = yaml.safe_load(course_file.read_text(encoding="utf-8"))
        module_ids = tuple(module["id"] for module in course["modules"])
        courses[course["id"]] = CourseInfo(
            title=course["title"],
            module_ids=module_ids,
            required_ids=frozenset(
                module["id"] for module in course["modules"] if module.get("required", True)
            ),
        )
        titles = _module_titles(course_file.parent)
        modules.update({module_id: titles.get(module_id, module_id) for module_id in module_ids})
    regions = yaml.safe_load((CONTENT / "regions.yml").read_text(encoding="utf-8"))["regions"]
    catalog = Catalog(
        courses=courses,
        modules=modules,
        regions={region["id"]: region["name"] for region in regions},
        certificates={cert["id"]: cert["title"] for cert in programme["certificates"]},
    )
    return programme, catalog


PROGRAMME, SHIPPED = _shipped()
SHIPPED_RULES = {cert["id"]: cert["rule"] for cert in PROGRAMME["certificates"]}
GRUNDLAGEN = SHIPPED_RULES["zertifikat-grundlagenkurs"]
SONDERKURS = SHIPPED_RULES["zertifikat-sonderkurs"]
PRO = SHIPPED_RULES["pro-zertifikat"]


def course_modules(course_id: str) -> tuple[str, ...]:
    return SHIPPED.courses[course_id].module_ids


def module_label(module_id: str) -> str:
    return f"Modul „{SHIPPED.modules[module_id]}“ abgeschlossen"


REGULAR = course_modules("regulaerer-lehrgang")
BASE, FURTHER = REGULAR[0], REGULAR[1:]
SONDER = course_modules("sonderkurs-strukturwandel")
SONDER_WORKSHOPS = [("sonderkurs-strukturwandel", at(2)), ("sonderkurs-strukturwandel", at(20))]


def test_shipped_content_has_the_expected_shape() -> None:
    assert set(SHIPPED_RULES) == {"zertifikat-grundlagenkurs", "zertifikat-sonderkurs",
                                  "pro-zertifikat"}
    assert BASE == "rl-basismodul"
    assert len(FURTHER) >= 7


@pytest.mark.parametrize("certificate_id", sorted(SHIPPED_RULES))
def test_shipped_certificate_rules_are_valid(certificate_id: str) -> None:
    assert validate_rule(SHIPPED_RULES[certificate_id], SHIPPED) == []


def test_the_regular_course_is_open_by_default_and_the_certificates_are_acyclic() -> None:
    assert PROGRAMME["course_entry"] in ({}, None), "no course is locked unless the programme says so"
    assert find_certificate_cycles(SHIPPED_RULES) == []


def test_grundlagen_certificate_needs_every_required_module() -> None:
    modules = course_modules("grundlagenkurs")
    assert evaluate(GRUNDLAGEN, make_facts(completed_modules=completed(*modules)), SHIPPED).ok
    verdict = evaluate(GRUNDLAGEN, make_facts(completed_modules=completed(*modules[1:])), SHIPPED)
    assert not verdict.ok
    assert verdict.explanation == f"{len(modules) - 1} von {len(modules)} Pflichtmodulen"


def test_a_learner_one_module_short_sees_exactly_that_module() -> None:
    modules = course_modules("grundlagenkurs")
    short = modules[:3] + modules[4:]
    verdict = evaluate(GRUNDLAGEN, make_facts(completed_modules=completed(*short)), SHIPPED)
    missing = verdict.missing()
    assert [leaf.label for leaf in missing] == [module_label(modules[3])]
    assert missing[0].explanation == "noch nicht abgeschlossen"


def test_pro_certificate_needs_seven_modules_beyond_base() -> None:
    six = make_facts(completed_modules=completed(BASE, *FURTHER[:6]))
    verdict = evaluate(PRO, six, SHIPPED)
    assert not verdict.ok
    [leaf] = verdict.missing()
    assert leaf.kind == "modules_completed"
    assert leaf.explanation == "6 von 7 Modulen"
    assert leaf.label == (
        "Mindestens 7 Module aus „Regulärer Lehrgang NaMa NRW“ "
        f"(ohne „{SHIPPED.modules[BASE]}“)"
    )
    seven = make_facts(completed_modules=completed(BASE, *FURTHER[:7]))
    assert evaluate(PRO, seven, SHIPPED).ok


def test_pro_certificate_does_not_count_the_base_module_twice() -> None:
    verdict = evaluate(PRO, make_facts(completed_modules=completed(*REGULAR[:7])), SHIPPED)
    assert not verdict.ok
    assert verdict.children[1].explanation == "6 von 7 Modulen"


def test_pro_certificate_without_base_module_asks_for_the_base_module() -> None:
    verdict = evaluate(PRO, make_facts(completed_modules=completed(*FURTHER)), SHIPPED)
    assert not verdict.ok
    assert [leaf.label for leaf in verdict.missing()] == [module_label(BASE)]


def test_sonderkurs_certificate_credits_base_module_for_pro() -> None:
    facts = make_facts(
        completed_modules=completed(*FURTHER[:7]),
        certificates_held={"zertifikat-sonderkurs": at(1, 4)},
    )
    verdict = evaluate(PRO, facts, SHIPPED)
    assert verdict.ok
    assert verdict.children[0].explanation == (
        f"erfüllt durch: „{SHIPPED.certificates['zertifikat-sonderkurs']}“ erhalten"
    )


def test_another_certificate_does_not_credit_the_base_module() -> None:
    facts = make_facts(
        completed_modules=completed(*FURTHER[:7]),
        certificates_held={"zertifikat-grundlagenkurs": at(1, 4)},
    )
    assert not evaluate(PRO, facts, SHIPPED).ok


@pytest.mark.parametrize(("region_id", "ok"), [
    ("rheinisches-revier", True),
    ("ruhr-kraftwerksstandorte", True),
    ("uebriges-nrw", False),
    ("ausserhalb-nrw", False),
    (None, False),
])
def test_sonderkurs_certificate_requires_region(region_id: str | None, ok: bool) -> None:
    facts = make_facts(region_id=region_id, completed_modules=completed(*SONDER),
                       workshops_attended=SONDER_WORKSHOPS)
    verdict = evaluate(SONDERKURS, facts, SHIPPED)
    assert verdict.ok is ok
    assert verdict.is_reachable is ok
    if not ok:
        assert verdict.missing() == [], "nothing to learn: the region decides"
        assert [p.kind for p in verdict.preconditions()] == ["region_in"]


def test_sonderkurs_certificate_needs_both_workshops_of_the_sonderkurs() -> None:
    facts = make_facts(
        region_id="rheinisches-revier",
        completed_modules=completed(*SONDER),
        workshops_attended=[("sonderkurs-strukturwandel", at(2)), ("grundlagenkurs", at(3))],
    )
    verdict = evaluate(SONDERKURS, facts, SHIPPED)
    assert not verdict.ok
    [leaf] = verdict.missing()
    assert (leaf.kind, leaf.explanation) == ("workshops_attended", "1 von 2 Workshops")


def test_sonderkurs_learner_one_module_short_sees_that_module() -> None:
    facts = make_facts(region_id="rheinisches-revier", completed_modules=completed(*SONDER[1:]),
                       workshops_attended=SONDER_WORKSHOPS)
    assert [leaf.label for leaf in evaluate(SONDERKURS, facts, SHIPPED).missing()] == [
        module_label(SONDER[0])
    ]


@pytest.mark.parametrize(("held", "ok"), [
    ({}, False),
    ({"zertifikat-grundlagenkurs": at(1)}, True),
    ({"zertifikat-sonderkurs": at(1)}, True),
    ({"pro-zertifikat": at(1)}, False),
])
def test_an_optional_entry_rule_can_bind_a_course_to_a_foundation_certificate(
        held: dict[str, datetime], ok: bool) -> None:
    rule = {"any_of": [{"certificate_held": "zertifikat-grundlagenkurs"},
                       {"certificate_held": "zertifikat-sonderkurs"}]}
    assert validate_rule(rule, SHIPPED) == []
    assert evaluate(rule, make_facts(certificates_held=held), SHIPPED).ok is ok


# --------------------------------------------------------------------------------------------
# Validation: every problem, with its line

VALIDATION_CASES = [
    ("not a mapping", "- module_completed: gk-agenda-2030\n",
     [(1, "Eine Regel muss eine Zuordnung mit genau einem Baustein sein")]),
    ("nothing", "", [(None, "gefunden: nichts")]),
    ("empty mapping", "{}\n", [(1, "Leere Regel")]),
    ("two blocks in one mapping",
     "module_completed: gk-agenda-2030\nregion_in: [rheinisches-revier]\n",
     [(1, "genau einen Baustein, gefunden: „module_completed“, „region_in“")]),
    ("unknown block with suggestion", "all_of:\n  - module_complete: gk-agenda-2030\n",
     [(2, "Unbekannter Baustein „module_complete“. Meinten Sie „module_completed“")]),
    ("unknown block without suggestion", "all_of:\n  - xyz: 1\n",
     [(2, "Unbekannter Baustein „xyz“.")]),
    ("unknown module with suggestion", "module_completed: gk-agenda2030\n",
     [(1, "Unbekanntes Modul „gk-agenda2030“. Meinten Sie „gk-agenda-2030“?")]),
    ("unknown course", "course_completed: sonderkurs\n", [(1, "Unbekannter Kurs „sonderkurs“")]),
    ("course without required modules", "course_completed: leerkurs\n",
     [(1, "Kurs „Leerkurs“ hat keine Pflichtmodule")]),
    ("unknown region", "all_of:\n  - region_in:\n      - rheinisches-revier\n      - revier\n",
     [(3, "Unbekannte Region „revier“")]),
    ("unknown certificate", "certificate_held: zertifikat-pro\n",
     [(1, "Unbekanntes Zertifikat „zertifikat-pro“")]),
    ("module id is a number", "module_completed: 5\n",
     [(1, "„module_completed“ erwartet eine Modul-ID, gefunden: eine Zahl (5)")]),
    ("min is text", "modules_completed:\n  min: sieben\n  course: regulaerer-lehrgang\n",
     [(2, "„modules_completed“ → „min“ muss eine ganze Zahl sein, "
          "gefunden: einen Text („sieben“)")]),
    ("min is a boolean", "workshops_attended: {min: true}\n",
     [(1, "„min“ muss eine ganze Zahl sein, gefunden: einen Wahrheitswert (true)")]),
    ("region_in is not a list", "region_in: rheinisches-revier\n",
     [(1, "„region_in“ erwartet eine Liste von Regions-IDs, gefunden: einen Text")]),
    ("arguments are not a mapping", "quiz_score: [gk-agenda-2030, 70]\n",
     [(1, "„quiz_score“ erwartet eine Zuordnung mit „module“, „min“, gefunden: eine Liste")]),
    ("min below one", "modules_completed: {min: 0, course: regulaerer-lehrgang}\n",
     [(1, "„min“ muss mindestens 1 sein, gefunden: 0")]),
    ("min larger than the course after exclusions",
     "modules_completed:\n  min: 9\n  course: regulaerer-lehrgang\n  exclude: [rl-basismodul]\n",
     [(2, "min: 9, aber „Regulärer Lehrgang NaMa NRW“ hat nach Abzug der Ausschlüsse "
          "nur 8 Module")]),
    ("min larger than the course", "modules_completed: {min: 10, course: regulaerer-lehrgang}\n",
     [(1, "min: 10, aber „Regulärer Lehrgang NaMa NRW“ hat nur 9 Module.")]),
    ("min larger than the list",
     "modules_completed: {min: 3, modules: [gk-agenda-2030, gk-strategie]}\n",
     [(1, "min: 3, aber die Liste enthält nur 2 Module.")]),
    ("excluded module outside the course",
     "modules_completed: {min: 1, course: grundlagenkurs, exclude: [rl-basismodul]}\n",
     [(1, "Ausgeschlossenes Modul „rl-basismodul“ gehört nicht zu „Grundlagenkurs“")]),
    ("course and modules",
     "modules_completed: {min: 1, course: grundlagenkurs, modules: [gk-strategie]}\n",
     [(1, "braucht genau eines von „course“ oder „modules“")]),
    ("neither course nor modules", "modules_completed: {min: 1}\n",
     [(1, "braucht genau eines von „course“ oder „modules“")]),
    ("empty module list", "modules_completed: {min: 1, modules: []}\n",
     [(1, "„modules_completed“ → „modules“: Die Liste ist leer.")]),
    ("duplicate module", "modules_completed: {min: 1, modules: [gk-strategie, gk-strategie]}\n",
     [(1, "„gk-strategie“ ist doppelt aufgeführt")]),
    ("unknown argument with suggestion",
     "modules_completed: {minimum: 7, course: grundlagenkurs}\n",
     [(1, "unbekannter Schlüssel „minimum“. Meinten Sie „min“?"), (1, "„min“ fehlt")]),
    ("unknown argument without suggestion", "workshops_attended: {min: 1, of: grundlagenkurs}\n",
     [(1, "unbekannter Schlüssel „of“. Erlaubt: „min“, „course“.")]),
    ("empty all_of", "all_of: []\n", [(1, "„all_of“: Die Liste der Regeln ist leer.")]),
    ("empty any_of", "any_of:\n",
     [(1, "„any_of“ erwartet eine Liste von Regeln, gefunden: nichts")]),
    ("quiz min zero", "quiz_score: {module: gk-agenda-2030, min: 0}\n",
     [(1, "„min“ muss zwischen 1 und 100 liegen, gefunden: 0")]),
    ("quiz min above 100", "quiz_score: {module: gk-agenda-2030, min: 101}\n",
     [(1, "„min“ muss zwischen 1 und 100 liegen, gefunden: 101")]),
    ("quiz without module", "quiz_score: {min: 70}\n", [(1, "„quiz_score“: „module“ fehlt.")]),
    ("days zero", "completed_within_days: {course: grundlagenkurs, days: 0}\n",
     [(1, "„days“ muss mindestens 1 sein, gefunden: 0")]),
    ("several problems in one tree", """\
all_of:
  - module_completed: gk-agenda-2030
  - any_of:
      - certificate_held: zertifikat-unbekannt
      - quiz_score: {module: gk-strategie, min: 170}
  - region_in: []
""", [(4, "Unbekanntes Zertifikat „zertifikat-unbekannt“"),
      (5, "zwischen 1 und 100"),
      (6, "„region_in“: Die Liste ist leer.")]),
]


@pytest.mark.parametrize(("case", "text", "expected"), VALIDATION_CASES,
                         ids=[case[0] for case in VALIDATION_CASES])
def test_validation_reports_each_problem_with_its_line(
    case: str, text: str, expected: list[tuple[int | None, str]]
) -> None:
    problems = validate_rule(load(text), CATALOG)
    assert len(problems) == len(expected), problems
    for problem, (line, fragment) in zip(problems, expected, strict=True):
        assert problem.line == line
        assert fragment in problem.message


def test_parse_rule_checks_structure_but_not_ids() -> None:
    rule = parse_rule({"module_completed": "noch-nicht-im-katalog"})
    assert isinstance(rule, Rule)
    with pytest.raises(RuleError) as raised:
        parse_rule(load("all_of:\n  - region_in: []\n  - quiz_score: {module: x, min: 0}\n"))
    assert [problem.line for problem in raised.value.problems] == [2, 3]
    assert "Zeile 2: „region_in“: Die Liste ist leer." in str(raised.value)


def test_plain_dicts_without_lines_report_no_line() -> None:
    [problem] = validate_rule({"module_completed": "unbekannt"}, CATALOG)
    assert problem == RuleProblem(None, "„module_completed“: Unbekanntes Modul „unbekannt“.")


def test_recursive_rule_data_is_reported_not_crashed_on() -> None:
    raw: dict[str, Any] = {"all_of": []}
    raw["all_of"].append(raw)
    [problem] = validate_rule(raw, CATALOG)
    assert "zu tief verschachtelt" in problem.message


def test_rule_error_carries_problems_and_accepts_plain_text() -> None:
    error = RuleError("kaputt")
    assert isinstance(error, ValueError)
    assert error.problems == (RuleProblem(None, "kaputt"),)


# --------------------------------------------------------------------------------------------
# Cycles between certificates and referenced certificates


def test_a_certificate_requiring_itself_is_a_cycle() -> None:
    definitions = load("""\
a:
  any_of:
    - module_completed: gk-agenda-2030
    - certificate_held: a
""")
    [problem] = find_certificate_cycles(definitions)
    assert problem.line == 4
    assert "Zertifikat „a“ setzt sich selbst voraus" in problem.message


def test_two_certificates_requiring_each_other_are_one_cycle() -> None:
    definitions = load("""\
a:
  certificate_held: b
b:
  all_of:
    - module_completed: gk-agenda-2030
    - certificate_held: a
c:
  certificate_held: a
""")
    [problem] = find_certificate_cycles(definitions)
    assert problem.line == 2
    assert "Zirkelbezug zwischen Zertifikaten: „a“ → „b“ → „a“" in problem.message


def test_each_separate_cycle_is_reported() -> None:
    definitions = {
        "a": {"certificate_held": "b"}, "b": {"certificate_held": "c"},
        "c": {"certificate_held": "a"}, "d": {"certificate_held": "d"},
        "e": {"all_of": [{"certificate_held": "a"}, {"certificate_held": "undefiniert"}]},
    }
    messages = [problem.message for problem in find_certificate_cycles(definitions)]
    assert len(messages) == 2
    assert "„a“ → „b“ → „c“ → „a“" in messages[0]
    assert "„d“ setzt sich selbst voraus" in messages[1]


def test_chains_without_cycles_are_fine() -> None:
    definitions = {"a": {"module_completed": "x"}, "b": {"certificate_held": "a"},
                   "c": {"any_of": [{"certificate_held": "a"}, {"certificate_held": "b"}]}}
    assert find_certificate_cycles(definitions) == []


@pytest.mark.parametrize(("raw", "expected"), [
    ({"certificate_held": "a"}, {"a"}),
    ({"all_of": [{"any_of": [{"certificate_held": "a"}, {"module_completed": "m"}]},
                 {"certificate_held": "b"}]}, {"a", "b"}),
    ({"module_completed": "a"}, set()),
    ({"certificate_held": ["kaputt"]}, set()),
    ("kein Regelbaum", set()),
    (None, set()),
])
def test_referenced_certificates(raw: Any, expected: set[str]) -> None:
    assert referenced_certificates(raw) == expected


# --------------------------------------------------------------------------------------------
# Hashing


def test_rule_hash_is_sha256_of_canonical_json() -> None:
    raw = {"modules_completed": {"min": 7, "course": "regulärer"}}
    text = '{"modules_completed":{"course":"regulärer","min":7}}'
    assert rule_hash(raw) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_rule_hash_ignores_lines_and_key_order_but_not_content() -> None:
    text = "all_of:\n  - module_completed: a\n  - region_in: [x, y]\n"
    with_lines = load(text)
    plain = {"all_of": [{"module_completed": "a"}, {"region_in": ["x", "y"]}]}
    moved = load("\n\n" + text)
    assert rule_hash(with_lines) == rule_hash(plain) == rule_hash(moved)
    assert rule_hash({"b": 1, "a": 2}) == rule_hash({"a": 2, "b": 1})
    assert rule_hash(plain) != rule_hash({"all_of": [{"region_in": ["x", "y"]},
                                                     {"module_completed": "a"}]})


# --------------------------------------------------------------------------------------------
# The registry


def test_every_building_block_is_documented_in_the_content_readme() -> None:
    readme = (CONTENT / "README.md").read_text(encoding="utf-8")
    for kind in RULE_TYPES:
        assert f"`{kind}" in readme, kind


def test_adding_a_rule_type_is_adding_one_class(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules, "RULE_TYPES", dict(RULE_TYPES))

    @rule_type("always")
    class Always(Rule):
        @classmethod
        def parse(cls, arg: Any, ctx: rules.ParseContext) -> Rule | None:
            return cls()

        def evaluate(self, facts: Facts, catalog: Catalog) -> Verdict:
            return Verdict(True, self.kind, "immer", "erfüllt", 1, 1)

    verdict = evaluate({"all_of": [{"always": None}]}, make_facts(), CATALOG)
    assert verdict.ok and verdict.children[0].kind == "always"
    with pytest.raises(ValueError, match="registered twice"):
        rule_type("always")(Always)


def test_facts_are_values() -> None:
    facts = make_facts()
    assert replace(facts, region_id="uebriges-nrw").region_id == "uebriges-nrw"
    with pytest.raises(AttributeError):
        facts.region_id = "x"  # type: ignore[misc]
