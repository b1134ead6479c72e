"""Properties of the rules engine that must hold for every rule and every learner."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from namalms.domain.rules import (
    Catalog,
    CourseInfo,
    Facts,
    Verdict,
    evaluate,
    parse_rule,
    rule_hash,
    validate_rule,
)

COURSES = {
    "kurs-a": CourseInfo("Kurs A", ("a1", "a2", "a3"), frozenset({"a1", "a2"})),
    "kurs-b": CourseInfo("Kurs B", ("b1", "b2"), frozenset({"b1", "b2"})),
}
MODULES = ["a1", "a2", "a3", "b1", "b2"]
REGIONS = ["revier", "ruhr", "uebrige"]
CERTIFICATES = ["zert-a", "zert-b"]
CATALOG = Catalog(
    courses=COURSES,
    modules={module_id: f"Modul {module_id.upper()}" for module_id in MODULES},
    regions={region_id: region_id.title() for region_id in REGIONS},
    certificates={cert_id: f"Zertifikat {cert_id}" for cert_id in CERTIFICATES},
)

moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31))
course_ids = st.sampled_from(sorted(COURSES))
module_ids = st.sampled_from(MODULES)


@st.composite
def modules_completed_rules(draw: st.DrawFn) -> dict[str, Any]:
    """A valid ``modules_completed`` over a course or a list, with an optional exclusion."""
    if draw(st.booleans()):
        course_id = draw(course_ids)
        pool = list(COURSES[course_id].module_ids)
        args: dict[str, Any] = {"course": course_id}
    else:
        pool = draw(st.lists(module_ids, min_size=1, max_size=4, unique=True))
        args = {"modules": pool}
    exclude = draw(st.lists(st.sampled_from(pool), max_size=len(pool) - 1, unique=True))
    if exclude:
        args["exclude"] = exclude
    args["min"] = draw(st.integers(1, len(pool) - len(exclude)))
    return {"modules_completed": args}


def workshops_rule(minimum: int, course_id: str | None) -> dict[str, Any]:
    args: dict[str, Any] = {"min": minimum}
    if course_id is not None:
        args["course"] = course_id
    return {"workshops_attended": args}


monotone_primitives = st.one_of(
    st.builds(lambda m: {"module_completed": m}, module_ids),
    st.builds(lambda c: {"course_completed": c}, course_ids),
    modules_completed_rules(),
    st.builds(lambda m, p: {"quiz_score": {"module": m, "min": p}},
              module_ids, st.integers(1, 100)),
    st.builds(workshops_rule, st.integers(1, 4), st.none() | course_ids),
    st.builds(lambda c: {"certificate_held": c}, st.sampled_from(CERTIFICATES)),
)
# region_in and completed_within_days are not monotone: moving away or time passing can
# turn them false, so they only take part in the properties that do not rely on monotony.
other_primitives = st.one_of(
    st.builds(lambda r: {"region_in": r},
              st.lists(st.sampled_from(REGIONS), min_size=1, max_size=3, unique=True)),
    st.builds(lambda c, d: {"completed_within_days": {"course": c, "days": d}},
              course_ids, st.integers(1, 400)),
)


def trees(leaves: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Rules nested with all_of / any_of, a few levels deep."""
    return st.recursive(
        leaves,
        lambda children: st.builds(
            lambda kind, items: {kind: items},
            st.sampled_from(["all_of", "any_of"]),
            st.lists(children, min_size=1, max_size=4),
        ),
        max_leaves=12,
    )


monotone_rules = trees(monotone_primitives)
any_rules = trees(st.one_of(monotone_primitives, other_primitives))

facts_strategy = st.builds(
    Facts,
    region_id=st.none() | st.sampled_from(REGIONS),
    completed_modules=st.dictionaries(module_ids, moments),
    quiz_scores=st.dictionaries(module_ids, st.integers(0, 100)),
    workshops_attended=st.lists(st.tuples(course_ids, moments), max_size=6),
    enrolled_at=st.dictionaries(course_ids, moments),
    certificates_held=st.dictionaries(st.sampled_from(CERTIFICATES), moments),
    now=moments,
)


@st.composite
def more_progress(draw: st.DrawFn, facts: Facts) -> Facts:
    """The same learner later: more modules, better quiz scores, more workshops, more
    certificates. What was there stays as it was (progress is append-only)."""
    new_modules = draw(st.dictionaries(module_ids, moments))
    better_scores = {
        module_id: max(score, facts.quiz_scores.get(module_id, 0))
        for module_id, score in draw(st.dictionaries(module_ids, st.integers(0, 100))).items()
    }
    new_workshops = draw(st.lists(st.tuples(course_ids, moments), max_size=4))
    new_certificates = draw(st.dictionaries(st.sampled_from(CERTIFICATES), moments))
    return replace(
        facts,
        completed_modules={**new_modules, **facts.completed_modules},
        quiz_scores={**facts.quiz_scores, **better_scores},
        workshops_attended=[*facts.workshops_attended, *new_workshops],
        certificates_held={**new_certificates, **facts.certificates_held},
    )


def nodes(verdict: Verdict) -> list[Verdict]:
    return [verdict, *(node for child in verdict.children for node in nodes(child))]


@given(any_rules)
def test_generated_rules_are_valid(raw: dict[str, Any]) -> None:
    assert validate_rule(raw, CATALOG) == []


@given(any_rules, facts_strategy, st.randoms(use_true_random=False))
def test_evaluation_is_deterministic(raw: dict[str, Any], facts: Facts, random: Any) -> None:
    verdict = evaluate(raw, facts, CATALOG)
    assert evaluate(raw, facts, CATALOG) == verdict
    assert evaluate(parse_rule(raw), facts, CATALOG) == verdict
    # the order in which facts were gathered does not matter
    modules = list(facts.completed_modules.items())
    workshops = list(facts.workshops_attended)
    random.shuffle(modules)
    random.shuffle(workshops)
    shuffled = replace(facts, completed_modules=dict(modules), workshops_attended=workshops)
    assert evaluate(raw, shuffled, CATALOG) == verdict


@settings(max_examples=200)
@given(monotone_rules, facts_strategy.flatmap(lambda f: st.tuples(st.just(f), more_progress(f))))
def test_more_progress_never_takes_eligibility_away(
    raw: dict[str, Any], before_after: tuple[Facts, Facts]
) -> None:
    before, after = before_after
    if evaluate(raw, before, CATALOG).ok:
        assert evaluate(raw, after, CATALOG).ok


@given(st.lists(any_rules, min_size=1, max_size=4), facts_strategy)
def test_all_of_is_met_exactly_when_every_child_is(children: list[Any], facts: Facts) -> None:
    verdict = evaluate({"all_of": children}, facts, CATALOG)
    separate = [evaluate(child, facts, CATALOG) for child in children]
    assert verdict.children == tuple(separate)
    assert verdict.ok == all(child.ok for child in separate)
    # Progress is counted in the units of the requirements, never more than there are.
    assert 0 <= verdict.done <= verdict.total


@given(st.lists(any_rules, min_size=1, max_size=4), facts_strategy)
def test_any_of_is_met_exactly_when_some_child_is(children: list[Any], facts: Facts) -> None:
    verdict = evaluate({"any_of": children}, facts, CATALOG)
    separate = [evaluate(child, facts, CATALOG) for child in children]
    assert verdict.children == tuple(separate)
    assert verdict.ok == any(child.ok for child in separate)


@given(any_rules, facts_strategy)
def test_missing_is_empty_exactly_when_met_and_lists_only_unmet_leaves(
    raw: dict[str, Any], facts: Facts
) -> None:
    verdict = evaluate(raw, facts, CATALOG)
    missing = verdict.missing()
    unmet_preconditions = [p for p in verdict.preconditions() if not p.ok]
    # Not met means: something to learn is missing, or a precondition (region) fails.
    if verdict.ok:
        assert missing == []
    else:
        assert missing or unmet_preconditions
    assert all(not leaf.ok and not leaf.is_precondition for leaf in missing)
    assert len(missing) == len(set(missing))


@given(any_rules, facts_strategy)
def test_progress_is_within_bounds_and_the_tree_is_json(raw: dict[str, Any],
                                                        facts: Facts) -> None:
    verdict = evaluate(raw, facts, CATALOG)
    for node in nodes(verdict):
        if node.total is not None:
            assert node.done is not None and 0 <= node.done <= node.total
            assert node.ok <= (node.done == node.total)
        assert node.label and node.explanation
    assert json.loads(json.dumps(verdict.to_dict())) == verdict.to_dict()


@given(any_rules)
def test_rule_hash_depends_on_content_not_key_order(raw: dict[str, Any]) -> None:
    def reordered(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: reordered(node[key]) for key in reversed(list(node))}
        if isinstance(node, list):
            return [reordered(item) for item in node]
        return node

    assert rule_hash(reordered(raw)) == rule_hash(raw)
    assert len(rule_hash(raw)) == 64
