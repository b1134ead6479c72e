"""Eligibility rules: certificate and course-entry conditions as data, evaluated with reasons.

A rule is a small tree of plain data (read from ``content/programme.yml``)::

    all_of:
      - any_of:
          - module_completed: rl-basismodul
          - certificate_held: zertifikat-sonderkurs
      - modules_completed: {min: 7, course: regulaerer-lehrgang, exclude: [rl-basismodul]}

Every building block is one class in ``RULE_TYPES``, registered with ``@rule_type("name")``.
A class parses and validates its argument (``parse``) and evaluates itself against a learner's
``Facts`` (``evaluate``). Evaluation never answers only yes or no: it returns a ``Verdict`` tree
with a German label (what is required), an explanation (where the learner stands) and progress
numbers, so the learner can see "Was fehlt mir noch?" and the programme office can see why a
certificate was or was not issued. Adding a rule type is adding one class.

This module is pure Python: no Flask, no database. Callers gather the facts.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from namalms.formatting import format_date, format_percent, local_date

__all__ = [
    "RULE_TYPES",
    "Catalog",
    "CourseInfo",
    "Facts",
    "ParseContext",
    "Rule",
    "RuleError",
    "RuleProblem",
    "Verdict",
    "evaluate",
    "find_certificate_cycles",
    "parse_rule",
    "referenced_certificates",
    "rule_hash",
    "rule_type",
    "validate_rule",
]

# Conditions about who the learner is rather than what they did (see Verdict.is_precondition).
PRECONDITION_KINDS = frozenset({"region_in"})

# Deeper nesting than this is certainly a mistake (or a recursive YAML anchor); stopping here
# keeps a bad programme file from crashing the checker with a RecursionError.
MAX_DEPTH = 32


# --------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class CourseInfo:
    """What the rules need to know about a course: its title and module ids."""

    title: str
    module_ids: tuple[str, ...]
    required_ids: frozenset[str]

    @property
    def required_in_order(self) -> tuple[str, ...]:
        """The required module ids in course order (so explanations follow the course)."""
        ordered = [module_id for module_id in self.module_ids if module_id in self.required_ids]
        extra = sorted(self.required_ids.difference(self.module_ids))
        return tuple(ordered + extra)


@dataclass(frozen=True)
class Catalog:
    """The ids a rule may reference, each mapped to its German title or name."""

    courses: Mapping[str, CourseInfo]
    modules: Mapping[str, str]
    regions: Mapping[str, str]
    certificates: Mapping[str, str]

    def module_title(self, module_id: str) -> str:
        """Title of a module for labels; the id itself if the module is unknown."""
        return self.modules.get(module_id, module_id)

    def course_title(self, course_id: str) -> str:
        """Title of a course for labels; the id itself if the course is unknown."""
        course = self.courses.get(course_id)
        return course.title if course else course_id

    def region_name(self, region_id: str) -> str:
        """Name of a region for labels; the id itself if the region is unknown."""
        return self.regions.get(region_id, region_id)

    def certificate_title(self, certificate_id: str) -> str:
        """Title of a certificate for labels; the id itself if it is unknown."""
        return self.certificates.get(certificate_id, certificate_id)


@dataclass(frozen=True)
class Facts:
    """Everything known about one learner that a rule may look at, as of ``now``."""

    region_id: str | None
    completed_modules: Mapping[str, datetime]
    quiz_scores: Mapping[str, int]
    workshops_attended: Sequence[tuple[str, datetime]]
    enrolled_at: Mapping[str, datetime]
    certificates_held: Mapping[str, datetime]
    now: datetime


@dataclass(frozen=True)
class Verdict:
    """The outcome of evaluating a rule node, with a German explanation and progress."""

    ok: bool
    kind: str
    label: str
    explanation: str
    done: int | None
    total: int | None
    children: tuple[Verdict, ...] = ()

    @property
    def is_precondition(self) -> bool:
        """A condition about who the learner is (their region), not something to work on: it is
        never counted as progress and never listed as "still to do"."""
        return self.kind in PRECONDITION_KINDS

    def requirements(self) -> list[Verdict]:
        """The things to work on that this verdict consists of, met or not (preconditions left
        out); for ``any_of`` those of the alternative closest to done. Progress counts these."""
        if self.is_precondition:
            return []
        if self.kind == "any_of" and self.children:
            return _closest(self.children).requirements()
        if self.kind == "all_of":
            found: list[Verdict] = []
            for child in self.children:
                for leaf in child.requirements():
                    if leaf not in found:  # the same module may be required by two branches
                        found.append(leaf)
            return found
        return [self]

    def preconditions(self) -> list[Verdict]:
        """The preconditions (region) this verdict depends on, met or not."""
        if self.is_precondition:
            return [self]
        if self.kind == "any_of" and self.children:
            return _closest(self.children).preconditions()
        return [p for child in self.children if child.kind in ("all_of", "any_of") or child.is_precondition
                for p in child.preconditions()]

    @property
    def is_reachable(self) -> bool:
        """False when a precondition fails: no amount of learning earns this certificate."""
        return all(p.ok for p in self.preconditions())

    def missing(self) -> list[Verdict]:
        """The unmet requirements a learner still has to work on ("Was fehlt mir noch?").

        For an unmet ``any_of`` only the alternative closest to done is listed: showing every
        alternative would suggest the learner has to do all of them. Unmet preconditions are not
        listed here (see :meth:`preconditions`).
        """
        if self.ok:
            return []
        found: list[Verdict] = []
        for leaf in self.requirements():
            if leaf.ok:
                continue
            for open_part in (leaf.missing_parts() or [leaf]):
                if open_part not in found:
                    found.append(open_part)
        return found

    def missing_parts(self) -> list[Verdict]:
        """For a requirement made of parts (a course's modules): the unmet parts."""
        if self.kind == "course_completed":
            return [child for child in self.children if not child.ok]
        return []

    def progress_text(self) -> str | None:
        """Progress as "4 von 7", or None if this condition has no countable progress."""
        if self.done is None or self.total is None:
            return None
        return f"{self.done} von {self.total}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able copy of the whole tree, for snapshots and the API."""
        return {
            "ok": self.ok,
            "kind": self.kind,
            "label": self.label,
            "explanation": self.explanation,
            "done": self.done,
            "total": self.total,
            "children": [child.to_dict() for child in self.children],
        }


@dataclass(frozen=True)
class RuleProblem:
    """One problem found in a rule: the line (if known) and a German message."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return self.message if self.line is None else f"Zeile {self.line}: {self.message}"


class RuleError(ValueError):
    """A rule could not be parsed; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[RuleProblem] | str) -> None:
        if isinstance(problems, str):
            problems = [RuleProblem(None, problems)]
        self.problems: tuple[RuleProblem, ...] = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


# --------------------------------------------------------------------------------------------
# Registry and parsing


class Rule(ABC):
    """A parsed rule node. Subclasses are frozen dataclasses registered with ``rule_type``."""

    kind: ClassVar[str]

    @classmethod
    @abstractmethod
    def parse(cls, arg: Any, ctx: ParseContext) -> Rule | None:
        """Build the rule from its YAML argument, or report problems to ``ctx`` and return None.

        With a catalog in ``ctx`` this also checks that referenced ids exist, so one pass
        reports every problem with the line of the node it was found in.
        """

    @abstractmethod
    def evaluate(self, facts: Facts, catalog: Catalog) -> Verdict:
        """Decide whether the learner meets this condition and explain why (or why not)."""


RULE_TYPES: dict[str, type[Rule]] = {}

R = TypeVar("R", bound=type[Rule])


def rule_type(kind: str) -> Callable[[R], R]:
    """Register a rule class under the key it has in YAML, e.g. ``module_completed``."""

    def register(cls: R) -> R:
        if kind in RULE_TYPES:
            raise ValueError(f"rule type {kind!r} is registered twice")
        cls.kind = kind
        RULE_TYPES[kind] = cls
        return cls

    return register


@dataclass
class ParseContext:
    """Where parsing is (line, rule kind, depth) and the problems found so far.

    Child contexts made with ``at`` share the problem list, so a whole tree is checked in one
    pass and every problem carries the line of the closest node that knows its line.
    """

    catalog: Catalog | None
    problems: list[RuleProblem] = field(default_factory=list)
    line: int | None = None
    kind: str = ""
    depth: int = 0

    def at(self, node: Any) -> ParseContext:
        """A context for a nested node: its own line if it carries one, else ours."""
        line = getattr(node, "line", None)
        if not isinstance(line, int) or isinstance(line, bool):
            line = self.line
        return replace(self, line=line)

    def report(self, message: str) -> None:
        """Record a problem at the current line."""
        self.problems.append(RuleProblem(self.line, message))

    def mark(self) -> int:
        """A bookmark; ``failed_since(mark)`` tells whether problems were reported after it."""
        return len(self.problems)

    def failed_since(self, mark: int) -> bool:
        """Whether any problem was reported since ``mark`` was taken."""
        return len(self.problems) > mark

    def rule(self, raw: Any) -> Rule | None:
        """Parse one rule node: a mapping with exactly one building block."""
        ctx = self.at(raw)
        if ctx.depth >= MAX_DEPTH:
            ctx.report(f"Die Regel ist zu tief verschachtelt (mehr als {MAX_DEPTH} Ebenen).")
            return None
        if not isinstance(raw, Mapping):
            ctx.report(
                "Eine Regel muss eine Zuordnung mit genau einem Baustein sein, "
                f"z. B. „module_completed: ID“ – gefunden: {_describe(raw)}."
            )
            return None
        if not raw:
            ctx.report("Leere Regel – erwartet wird genau ein Baustein, z. B. „all_of: […]“.")
            return None
        if len(raw) > 1:
            names = ", ".join(f"„{key}“" for key in raw)
            ctx.report(
                f"Eine Regel enthält genau einen Baustein, gefunden: {names} – mehrere "
                "Bedingungen bitte mit „all_of“ oder „any_of“ verbinden."
            )
            for kind, arg in raw.items():  # still check each block, to report all problems
                ctx._block(kind, arg)
            return None
        ((kind, arg),) = raw.items()
        return ctx._block(kind, arg)

    def _block(self, kind: Any, arg: Any) -> Rule | None:
        cls = RULE_TYPES.get(kind) if isinstance(kind, str) else None
        if cls is None:
            self.report(f"Unbekannter Baustein „{kind}“.{_suggest(str(kind), RULE_TYPES)}")
            return None
        return cls.parse(arg, replace(self.at(arg), kind=kind, depth=self.depth + 1))

    # -- helpers for rule classes ------------------------------------------------------------

    def arguments(
        self, arg: Any, required: Sequence[str], optional: Sequence[str] = ()
    ) -> Mapping[str, Any] | None:
        """Check that ``arg`` is a mapping with the required keys and no unknown ones."""
        allowed = [*required, *optional]
        if not isinstance(arg, Mapping):
            keys = ", ".join(f"„{key}“" for key in allowed)
            self.report(
                f"„{self.kind}“ erwartet eine Zuordnung mit {keys}, gefunden: {_describe(arg)}."
            )
            return None
        for key in arg:
            if key not in allowed:
                hint = _suggest(str(key), allowed) or (
                    " Erlaubt: " + ", ".join(f"„{name}“" for name in allowed) + "."
                )
                self.report(f"„{self.kind}“: unbekannter Schlüssel „{key}“.{hint}")
        for key in required:
            if key not in arg:
                self.report(f"„{self.kind}“: „{key}“ fehlt.")
        return arg

    def identifier(self, value: Any, expected: str, key: str | None = None) -> str | None:
        """Check that ``value`` is a non-empty id string; ``expected`` names it in German."""
        if isinstance(value, str) and value.strip():
            return value
        where = f"„{self.kind}“" if key is None else f"„{self.kind}“ → „{key}“"
        self.report(f"{where} erwartet {expected}, gefunden: {_describe(value)}.")
        return None

    def identifiers(
        self, value: Any, expected: str, key: str | None = None, allow_empty: bool = False
    ) -> tuple[str, ...] | None:
        """Check that ``value`` is a list of id strings without duplicates."""
        where = f"„{self.kind}“" if key is None else f"„{self.kind}“ → „{key}“"
        ctx = self.at(value)
        if not isinstance(value, list | tuple):
            ctx.report(f"{where} erwartet eine Liste von {expected}, gefunden: {_describe(value)}.")
            return None
        if not value and not allow_empty:
            ctx.report(f"{where}: Die Liste ist leer.")
            return None
        mark = ctx.mark()
        seen: list[str] = []
        for item in value:
            if not (isinstance(item, str) and item.strip()):
                ctx.report(f"{where}: Listeneintrag ist keine ID, gefunden: {_describe(item)}.")
            elif item in seen:
                ctx.report(f"{where}: „{item}“ ist doppelt aufgeführt.")
            else:
                seen.append(item)
        return None if ctx.failed_since(mark) else tuple(seen)

    def whole_number(
        self, value: Any, key: str, minimum: int = 1, maximum: int | None = None
    ) -> int | None:
        """Check that ``value`` is a whole number within [minimum, maximum]."""
        if isinstance(value, bool) or not isinstance(value, int):
            self.report(
                f"„{self.kind}“ → „{key}“ muss eine ganze Zahl sein, gefunden: {_describe(value)}."
            )
            return None
        if maximum is not None and not minimum <= value <= maximum:
            self.report(
                f"„{self.kind}“ → „{key}“ muss zwischen {minimum} und {maximum} liegen, "
                f"gefunden: {value}."
            )
            return None
        if value < minimum:
            self.report(
                f"„{self.kind}“ → „{key}“ muss mindestens {minimum} sein, gefunden: {value}."
            )
            return None
        return value

    def known_module(self, module_id: str) -> bool:
        """Report (with catalog only) a module id the catalog does not know."""
        return self._known(module_id, None if self.catalog is None else self.catalog.modules,
                           "Unbekanntes Modul")

    def known_course(self, course_id: str) -> bool:
        """Report (with catalog only) a course id the catalog does not know."""
        return self._known(course_id, None if self.catalog is None else self.catalog.courses,
                           "Unbekannter Kurs")

    def known_region(self, region_id: str) -> bool:
        """Report (with catalog only) a region id the catalog does not know."""
        return self._known(region_id, None if self.catalog is None else self.catalog.regions,
                           "Unbekannte Region")

    def known_certificate(self, certificate_id: str) -> bool:
        """Report (with catalog only) a certificate id the catalog does not know."""
        return self._known(
            certificate_id,
            None if self.catalog is None else self.catalog.certificates,
            "Unbekanntes Zertifikat",
        )

    def completable_course(self, course_id: str) -> bool:
        """Report a known course without required modules: it could never count as completed."""
        course = None if self.catalog is None else self.catalog.courses.get(course_id)
        if course is not None and not course.required_ids:
            self.report(
                f"„{self.kind}“: Kurs „{course.title}“ hat keine Pflichtmodule und kann daher "
                "nicht abgeschlossen werden."
            )
            return False
        return True

    def _known(self, ident: str, table: Mapping[str, Any] | None, unknown: str) -> bool:
        if table is None or ident in table:
            return True
        self.report(f"„{self.kind}“: {unknown} „{ident}“.{_suggest(ident, table)}")
        return False


def parse_rule(raw: Any) -> Rule:
    """Parse raw rule data (from YAML) into a ``Rule``; raise ``RuleError`` if it is malformed.

    Only the structure is checked here; ``validate_rule`` also checks ids against a catalog.
    """
    ctx = ParseContext(catalog=None)
    rule = ctx.rule(raw)
    if ctx.problems or rule is None:
        raise RuleError(ctx.problems or [RuleProblem(None, "Ungültige Regel.")])
    return rule


def validate_rule(raw: Any, catalog: Catalog) -> list[RuleProblem]:
    """Every problem in a raw rule – structure, argument types, unknown ids, impossible numbers.

    Used by ``content check`` so authors see all mistakes at once, each with its line.
    """
    ctx = ParseContext(catalog=catalog)
    ctx.rule(raw)
    return list(ctx.problems)


def evaluate(rule_or_raw: Rule | Any, facts: Facts, catalog: Catalog) -> Verdict:
    """Evaluate a parsed rule or raw rule data for one learner; raw data is parsed first."""
    rule = rule_or_raw if isinstance(rule_or_raw, Rule) else parse_rule(rule_or_raw)
    return rule.evaluate(facts, catalog)


# --------------------------------------------------------------------------------------------
# Combinators


@dataclass(frozen=True)
class _Combinator(Rule):
    rules: tuple[Rule, ...]

    @classmethod
    def parse(cls, arg: Any, ctx: ParseContext) -> Rule | None:
        if not isinstance(arg, list | tuple):
            ctx.report(f"„{ctx.kind}“ erwartet eine Liste von Regeln, gefunden: {_describe(arg)}.")
            return None
        if not arg:
            ctx.report(f"„{ctx.kind}“: Die Liste der Regeln ist leer.")
            return None
        parsed = [ctx.rule(item) for item in arg]  # parse all, to report every problem
        if any(rule is None for rule in parsed):
            return None
        return cls(tuple(rule for rule in parsed if rule is not None))


@rule_type("all_of")
@dataclass(frozen=True)
class AllOf(_Combinator):
    """``all_of: [rules]`` – every rule must hold. Progress: rules met / rules."""

    def evaluate(self, facts: Facts, catalog: Catalog) -> Verdict:
        children = tuple(rule.evaluate(facts, catalog) for rule in self.rules)
        met = sum(1 for child in children if child.ok)
        shell = Verdict(ok=met == len(children), kind=self.kind, label="", explanation="", done=None,
                        total=None, children=children)
        done, total = units_of(shell.requirements())
        return Verdict(
            ok=met == len(children),
            kind=self.kind,
            label="Alle folgenden Bedingungen",
            explanation=f"{met} von {_counted(len(children), 'Bedingung', 'Bedingungen')} erfüllt",
            done=done,
            total=total,
            children=children,
        )


def units_of(requirements: Sequence[Verdict]) -> tuple[int, int]:
    """Progress in the units the "Was fehlt mir noch?" list shows: a module is one unit, "7 of a
    set" seven, "2 workshops" two; preconditions are not counted."""
    done = total = 0
    for leaf in requirements:
        if leaf.total:
            done += min(leaf.done or 0, leaf.total)
            total += leaf.total
        else:
            done += int(leaf.ok)
            total += 1
    return done, total


@rule_type("any_of")
@dataclass(frozen=True)
class AnyOf(_Combinator):
    """``any_of: [rules]`` – at least one rule must hold.

    Progress is that of the alternative closest to done: the learner only needs one of them.
    """

    def evaluate(self, facts: Facts, catalog: Catalog) -> Verdict:
        children = tuple(rule.evaluate(facts, catalog) for rule in self.rules)
        best = _closest(children)
        if best.ok:
            explanation = f"erfüllt durch: {best.label}"
        else:
            explanation = f"keine der {len(children)} Möglichkeiten erfüllt"
            if len(children) == 1:
                explanation = "die Bedingung ist nicht erfüllt"
        return Verdict(
            ok=best.ok,
            kind=self.kind,
            label="Mindestens eine der folgenden Bedingungen",
            explanation=explanation,
            done=best.done,
            total=best.total,
            children=children,
        )


def _closest(verdicts: Sequence[Verdict]) -> Verdict:
    """The verdict nearest to done: met first, then highest share, then fewest open items."""

    def key(verdict: Verdict) -> tuple[bool, float, int]:
        share = verdict.done / verdict.total if verdict.done is not None and verdict.total else 0.0
        return (verdict.ok, share, -len(verdict.missing()))

    return max(verdicts, key=key)  # max keeps the first of equals: the author's order wins


# --------------------------------------------------------------------------------------------
# Primitives


@rule_type("module_completed")
@dataclass(frozen=True)
class ModuleCompleted(Rule):
    """``module_completed: MODULE_ID`` – the module is completed (binary: 0/1 or 1/1)."""

    module_id: str

    @classmethod
    def parse(cls, arg: Any, ctx: ParseContext) -> Rule | None:
        module_id = ctx.identifier(arg, "eine Modul-ID")
        if module_id is None or not ctx.known_module(module_id):
            return None
        return cls(module_id)

    def evaluate(self, facts: Facts, catalog: Catalog) -> Verdict:
        completed_at = facts.completed_modules.get(self.module_id)
        return _binary(
            self.kind,
            f"Modul „{catalog.module_title(self.module_id)}“ abgeschlossen",
            completed_at,
            met="erfüllt am",
            unmet="noch nicht abgeschlossen",
        )


@rule_type("course_completed")
@dataclass(frozen=True)
class CourseCompleted(Rule):
    """``course_completed: COURSE_ID`` – every required module of the course is completed.

    Children are the required modules, so "Was fehlt mir noch?" names the open modules.
    Progress: required modules completed / required modules.
    """

    course_id: str

    @classmethod
    def parse(cls, arg: Any, ctx: ParseContext) -> Rule | None:
        course_id = ctx.identifier(arg, "eine Kurs-ID")
        if course_id is None or not ctx.known_course(course_id):
            return None
        if not ctx.completable_course(course_id):
            return None
        return cls(course_id)

    def evaluate(self, facts: Facts, catalog: Catalog) -> Verdict:
        label = f"Kurs „{catalog.course_title(self.course_id)}“ abgeschlossen"
        course = catalog.courses.get(self.course_id)
        if course is None or not course.required_ids:
            return _impossible(self.kind, label, _course_problem(self.course_id, course))
        children = tuple(
            ModuleCompleted(module_id).evaluate(facts, catalog)
            for module_id in course.required_in_order
        )
        done = sum(1 for child in children if child.ok)
        total = len(children)
        explanation = f"{done} von {_counted(total, 'Pflichtmodul', 'Pflichtmodulen')}"
        completed_at = _course_completed_at(course, facts)
        if completed_at is not None:
            explanation += f" – erfüllt am {format_date(completed_at)}"
        return Verdict(
            ok=completed_at is not None,
            kind=self.kind,
            label=label,
            explanation=explanation,
            done=done,
            total=total,
            children=children,
        )


@rule_type("modules_completed")
@dataclass(frozen=True)
class ModulesCompleted(Rule):
    """``modules_completed: {min: N, course: ID | modules: [IDs], exclude: [IDs]}``.

    At least N modules of the set (all modules of the course, or the listed ones, without the
    excluded ones) are completed. Progress: completed in the set, capped at N / N.
    """

    minimum: int
    course_id: str | None = None
    module_ids: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()

    @classmethod
    def parse(cls, arg: Any, ctx: ParseContext) -> Rule | None:
        mark = ctx.mark()
        args = ctx.arguments(arg, required=("min",), optional=("course", "modules", "exclude"))
        if args is None:
            return None
        minimum = ctx.whole_number(args["min"], "min") if "min" in args else None
        if ("course" in args) == ("modules" in args):
            ctx.report(f"„{ctx.kind}“ braucht genau eines von „course“ oder „modules“.")
        course_id = module_ids = None
        if "course" in args:
            course_id = ctx.identifier(args["course"], "eine Kurs-ID", key="course")
            if course_id is not None and not ctx.known_course(course_id):
                course_id = None
        if "modules" in args:
            module_ids = ctx.identifiers(args["modules"], "Modul-IDs", key="modules")
            _check_modules(ctx.at(args["modules"]), module_ids)
        exclude = ctx.identifiers(args.get("exclude", []), "Modul-IDs", "exclude", allow_empty=True)
        _check_modules(ctx.at(args.get("exclude")), exclude)
        rule = cls(minimum or 1, course_id, module_ids, exclude or ())
        if minimum is not None and exclude is not None:
            rule._check_reachable(ctx, minimum, args)
        if ctx.failed_since(mark):
            return None
        return rule

    def _check_reachable(self, ctx: ParseContext, minimum: int, args: Mapping[str, Any]) -> None:
        """Report excluded modules outside the set and an N larger than the set."""
        if self.module_ids is not None:
            pool, name = self.module_ids, "die Liste"
        elif self.course_id is not None and ctx.catalog is not None:
            course = ctx.catalog.courses[self.course_id]
            pool, name = course.module_ids, f"„{course.title}“"
        else:
            return  # without a catalog the size of a course is unknown
        exclude_ctx = ctx.at(args.get("exclude"))
        for module_id in self.exclude:
            if module_id not in pool and (ctx.catalog is None or module_id in ctx.catalog.modules):
                exclude_ctx.report(
                    f"„{ctx.kind}“: Ausgeschlossenes Modul „{module_id}“ gehört nicht zu {name}."
                )
        size = len([module_id for module_id in pool if module_id not in self.exclude])
        if minimum > size:
            after = " nach Abzug der Ausschlüsse" if self.exclude else ""
            subject = "enthält" if self.module_ids is not None else "hat"
            ctx.report(
                f"„{ctx.kind}“: min: {minimum}, aber {name} {subject}{after} nur "
                f"{_counted(size, 'Modul', 'Module')}."
            )

    def pool(self, catalog: Catalog) -> tuple[str, ...]:
        """The module ids that count, in course (or list) order."""
        if self.module_ids is not None:
            candidates: Sequence[str] = self.module_ids
        else:
            course = catalog.courses.get(self.course_id or "")
            candidates = course.module_ids if course else ()
        return tuple(module_id for module_id in candidates if module_id not in self.exclude)

    def label(self, catalog: Catalog) -> str:
        """German label, e.g. "Mindestens 7 Module aus „Regulärer Lehrgang“ (ohne „…“)"."""
        amount = f"Mindestens {_counted(self.minimum, 'Modul', 'Module')} aus "
        if self.module_ids is not None:
            source = _join([f"„{catalog.module_title(m)}“" for m in self.module_ids], "und")
        else:
            source = f"„{catalog.course_title(self.course_id or '')}“"
        if self.exclude:
            excluded = [f"„{catalog.module_title(module_id)}“" for module_id in self.exclude]
            source += f" (ohne {_join(excluded, 'und')})"
        return amount + source

    def evaluate(self, facts: Facts, catalog: Catalog) -> Verdict:
        label = self.label(catalog)
        if self.module_ids is None and self.course_id not in catalog.courses:
            return _impossible(self.kind, label, _course_problem(self.course_id or "", None))
        times = sorted(
            facts.completed_modules[module_id]
            for module_id in self.pool(catalog)
            if module_id in facts.completed_modules
        )
        return _counted_verdict(self.kind, label, times, self.minimum, "Modul", "Modulen")


@rule_type("quiz_score")
@dataclass(frozen=True)
class QuizScore(Rule):
    """``quiz_score: {module: ID, min: PERCENT}`` – best quiz score at least PERCENT (binary)."""

    module_id: str
    minimum: int

    @classmethod
    def parse(cls, arg: Any, ctx: ParseContext) -> Rule | None:
        mark = ctx.mark()
        args = ctx.arguments(arg, required=("module", "min"))
        if args is None:
            return None
        module_id = None
        if "module" in args:
            module_id = ctx.identifier(args["module"], "eine Modul-ID", key="module")
            if module_id is not None:
                ctx.known_module(module_id)
        minimum = ctx.whole_number(args["min"], "min", 1, 100) if "min" in args else None
        if ctx.failed_since(mark) or module_id is None or minimum is None:
            return None
        return cls(module_id, minimum)

    def evaluate(self, facts: Facts, catalog: Catalog) -> Verdict:
        title = catalog.module_title(self.module_id)
        score = facts.quiz_scores.get(self.module_id)
        needed = f"benötigt {format_percent(self.minimum)}"
        if score is None:
            state = f"Quiz „{title}“: noch nicht bearbeitet – {needed}"
        else:
            state = f"Quiz „{title}“: {format_percent(score)} – {needed}"
        ok = score is not None and score >= self.minimum
        return Verdict(
            ok=ok,
            kind=self.kind,
            label=f"Quiz „{title}“ mit mindestens {format_percent(self.minimum)} bestanden",
            explanation=state,
            done=int(ok),
            total=1,
        )


@rule_type("workshops_attended")
@dataclass(frozen=True)
class WorkshopsAttended(Rule):
    """``workshops_attended: {min: N, course: ID}`` – at least N workshops (of the course, or of
    any course without ``course``) attended. Progress: attended, capped at N / N.
    """

    minimum: int
    course_id: str | None = None

    @classmethod
    def parse(cls, arg: Any, ctx: ParseContext) -> Rule | None:
        mark = ctx.mark()
        args = ctx.arguments(arg, required=("min",), optional=("course",))
        if args is None:
            return None
        minimum = ctx.whole_number(args["min"], "min") if "min" in args else None
        course_id = None
        if "course" in args:
            course_id = ctx.identifier(args["course"], "eine Kurs-ID", key="course")
            if course_id is not None:
                ctx.known_course(course_id)
        if ctx.failed_since(mark) or minimum is None:
            return None
        return cls(minimum, course_id)

    def evaluate(self, facts: Facts, catalog: Catalog) -> Verdict:
        label = f"Mindestens {_counted(self.minimum, 'Workshop', 'Workshops')}"
        if self.course_id is not None:
            label += f" aus „{catalog.course_title(self.course_id)}“"
        label += " besucht"
        times = sorted(
            attended_at
            for course_id, attended_at in facts.workshops_attended
            if self.course_id is None or course_id == self.course_id
        )
        return _counted_verdict(self.kind, label, times, self.minimum, "Workshop", "Workshops")


@rule_type("region_in")
@dataclass(frozen=True)
class RegionIn(Rule):
    """``region_in: [REGION_IDS]`` – the learner's region (from their district) is one of them."""

    region_ids: tuple[str, ...]

    @classmethod
    def parse(cls, arg: Any, ctx: ParseContext) -> Rule | None:
        mark = ctx.mark()
        region_ids = ctx.identifiers(arg, "Regions-IDs")
        for region_id in region_ids or ():
            ctx.at(arg).known_region(region_id)
        if ctx.failed_since(mark) or region_ids is None:
            return None
        return cls(region_ids)

    def evaluate(self, facts: Facts, catalog: Catalog) -> Verdict:
        names = _join([f"„{catalog.region_name(r)}“" for r in self.region_ids], "oder")
        ok = facts.region_id is not None and facts.region_id in self.region_ids
        if facts.region_id is None:
            explanation = "keine Region angegeben"
        elif ok:
            explanation = f"Region „{catalog.region_name(facts.region_id)}“"
        else:
            explanation = f"Region „{catalog.region_name(facts.region_id)}“ gehört nicht dazu"
        return Verdict(
            ok=ok,
            kind=self.kind,
            label=f"Region {names}",
            explanation=explanation,
            done=int(ok),
            total=1,
        )


@rule_type("certificate_held")
@dataclass(frozen=True)
class CertificateHeld(Rule):
    """``certificate_held: CERTIFICATE_ID`` – a valid certificate is held (for credit, binary)."""

    certificate_id: str

    @classmethod
    def parse(cls, arg: Any, ctx: ParseContext) -> Rule | None:
        certificate_id = ctx.identifier(arg, "eine Zertifikats-ID")
        if certificate_id is None or not ctx.known_certificate(certificate_id):
            return None
        return cls(certificate_id)

    def evaluate(self, facts: Facts, catalog: Catalog) -> Verdict:
        return _binary(
            self.kind,
            f"„{catalog.certificate_title(self.certificate_id)}“ erhalten",
            facts.certificates_held.get(self.certificate_id),
            met="ausgestellt am",
            unmet="noch nicht erhalten",
        )


@rule_type("completed_within_days")
@dataclass(frozen=True)
class CompletedWithinDays(Rule):
    """``completed_within_days: {course: ID, days: D}`` – the course was completed at most D
    calendar days after enrolling in it (German dates, so "30 Tage" means what people expect).
    Binary. Not monotone: time passing can turn it false.
    """

    course_id: str
    days: int

    @classmethod
    def parse(cls, arg: Any, ctx: ParseContext) -> Rule | None:
        mark = ctx.mark()
        args = ctx.arguments(arg, required=("course", "days"))
        if args is None:
            return None
        course_id = None
        if "course" in args:
            course_id = ctx.identifier(args["course"], "eine Kurs-ID", key="course")
            if course_id is not None and ctx.known_course(course_id):
                ctx.completable_course(course_id)
        days = ctx.whole_number(args["days"], "days") if "days" in args else None
        if ctx.failed_since(mark) or course_id is None or days is None:
            return None
        return cls(course_id, days)

    def evaluate(self, facts: Facts, catalog: Catalog) -> Verdict:
        label = (
            f"Kurs „{catalog.course_title(self.course_id)}“ innerhalb von "
            f"{_counted(self.days, 'Tag', 'Tagen')} nach der Einschreibung abgeschlossen"
        )
        course = catalog.courses.get(self.course_id)
        if course is None or not course.required_ids:
            return _impossible(self.kind, label, _course_problem(self.course_id, course))
        enrolled_at = facts.enrolled_at.get(self.course_id)
        if enrolled_at is None:
            return _impossible(self.kind, label, "nicht in den Kurs eingeschrieben", total=1)
        deadline = local_date(enrolled_at) + timedelta(days=self.days)
        completed_at = _course_completed_at(course, facts)
        if completed_at is not None:
            ok = local_date(completed_at) <= deadline
            was = "" if ok else "war "
            explanation = (
                f"abgeschlossen am {format_date(completed_at)}, Frist {was}bis "
                f"{format_date(deadline)}"
            )
        else:
            ok = False
            done = len(course.required_ids.intersection(facts.completed_modules))
            required = _counted(len(course.required_ids), "Pflichtmodul", "Pflichtmodulen")
            state = f"{done} von {required}"
            if local_date(facts.now) <= deadline:
                explanation = f"{state}, Frist bis {format_date(deadline)}"
            else:
                explanation = f"Frist am {format_date(deadline)} abgelaufen ({state})"
        return Verdict(
            ok=ok, kind=self.kind, label=label, explanation=explanation, done=int(ok), total=1
        )


# --------------------------------------------------------------------------------------------
# Helpers for rule classes


def _check_modules(ctx: ParseContext, module_ids: Iterable[str] | None) -> None:
    for module_id in module_ids or ():
        ctx.known_module(module_id)


def _binary(kind: str, label: str, met_at: datetime | None, met: str, unmet: str) -> Verdict:
    """A yes/no verdict whose explanation is the date it was met, or what is still open."""
    return Verdict(
        ok=met_at is not None,
        kind=kind,
        label=label,
        explanation=unmet if met_at is None else f"{met} {format_date(met_at)}",
        done=0 if met_at is None else 1,
        total=1,
    )


def _counted_verdict(
    kind: str, label: str, times: Sequence[datetime], minimum: int, singular: str, plural: str
) -> Verdict:
    """An "at least N" verdict; ``times`` are the sorted times of the counted events."""
    done = min(len(times), minimum)
    explanation = f"{done} von {_counted(minimum, singular, plural)}"
    ok = len(times) >= minimum
    if ok:
        # the date the N-th event happened is when the condition became true
        explanation += f" – erfüllt am {format_date(times[minimum - 1])}"
    return Verdict(
        ok=ok, kind=kind, label=label, explanation=explanation, done=done, total=minimum
    )


def _impossible(kind: str, label: str, explanation: str, total: int | None = None) -> Verdict:
    """A verdict for a condition that cannot be met as configured (e.g. an unknown course)."""
    return Verdict(
        ok=False,
        kind=kind,
        label=label,
        explanation=explanation,
        done=None if total is None else 0,
        total=total,
    )


def _course_problem(course_id: str, course: CourseInfo | None) -> str:
    if course is None:
        return f"Kurs „{course_id}“ ist nicht bekannt"
    return f"Kurs „{course.title}“ hat keine Pflichtmodule"


def _course_completed_at(course: CourseInfo, facts: Facts) -> datetime | None:
    """When the last required module was completed; None while one is still open."""
    if not course.required_ids:
        return None
    times = [facts.completed_modules.get(module_id) for module_id in course.required_ids]
    if any(moment is None for moment in times):
        return None
    return max(moment for moment in times if moment is not None)


def _counted(count: int, singular: str, plural: str) -> str:
    """``7 Module`` / ``1 Modul``."""
    return f"{count} {singular if count == 1 else plural}"


def _join(items: Sequence[str], conjunction: str) -> str:
    """``„A“, „B“ und „C“``."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def _suggest(name: str, candidates: Iterable[str]) -> str:
    """A German "did you mean" sentence (with leading space) for a misspelt name, or ""."""
    matches = difflib.get_close_matches(name, [str(c) for c in candidates], n=3, cutoff=0.6)
    if not matches:
        return ""
    return " Meinten Sie " + _join([f"„{match}“" for match in matches], "oder") + "?"


def _describe(value: Any) -> str:
    """A German description of a wrong value for error messages."""
    if value is None:
        return "nichts"
    if isinstance(value, bool):
        return f"einen Wahrheitswert ({'true' if value else 'false'})"
    if isinstance(value, int | float):
        return f"eine Zahl ({value})"
    if isinstance(value, str):
        return f"einen Text („{value}“)" if value.strip() else "einen leeren Text"
    if isinstance(value, Mapping):
        return "eine Zuordnung"
    if isinstance(value, list | tuple):
        return "eine Liste"
    return f"einen Wert vom Typ {type(value).__name__}"


# --------------------------------------------------------------------------------------------
# Whole-programme checks and hashing


def referenced_certificates(raw: Any) -> set[str]:
    """The certificate ids a raw rule refers to with ``certificate_held`` (tolerates bad data).

    Used to order certificate evaluation and to find cycles between definitions.
    """
    found: set[str] = set()
    for node in _walk(raw):
        if isinstance(node, Mapping):
            value = node.get("certificate_held")
            if isinstance(value, str):
                found.add(value)
    return found


def find_certificate_cycles(definitions: Mapping[str, Any]) -> list[RuleProblem]:
    """Cycles of ``certificate_held`` references between certificate rules, one problem each.

    A certificate that (indirectly) requires itself can never be issued; this is a mistake the
    per-rule validation cannot see.
    """
    graph = {
        certificate_id: sorted(referenced_certificates(raw).intersection(definitions))
        for certificate_id, raw in definitions.items()
    }
    reach = {node: _reachable(node, graph) for node in graph}
    problems: list[RuleProblem] = []
    reported: set[str] = set()
    for start in graph:
        if start in reported or start not in reach[start]:
            continue
        reported.update(node for node in reach[start] if start in reach[node])
        path = _shortest_cycle(start, graph)
        line = _reference_line(definitions[start], path[1])
        if len(path) == 2:
            message = (
                f"Zertifikat „{start}“ setzt sich selbst voraus (certificate_held: {start}) "
                "und kann nie vergeben werden."
            )
        else:
            chain = " → ".join(f"„{node}“" for node in path)
            message = (
                f"Zirkelbezug zwischen Zertifikaten: {chain} – keines davon kann je "
                "vergeben werden."
            )
        problems.append(RuleProblem(line, message))
    return problems


def rule_hash(raw: Any) -> str:
    """A stable fingerprint of a rule's content, stored with each issued certificate.

    Line-carrying YAML nodes are converted to plain dicts and lists first, so the hash depends
    on the rule only, not on where it stands in the file.
    """
    text = json.dumps(
        _plain(raw), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {key: _plain(value) for key, value in node.items()}
    if isinstance(node, list | tuple):
        return [_plain(item) for item in node]
    return node


def _walk(raw: Any) -> Iterable[Any]:
    """Every dict and list node of raw data, once each (safe against recursive YAML anchors)."""
    seen: set[int] = set()
    stack = [raw]
    while stack:
        node = stack.pop()
        if not isinstance(node, Mapping | list | tuple) or id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(node.values() if isinstance(node, Mapping) else node)


def _reachable(start: str, graph: Mapping[str, Sequence[str]]) -> set[str]:
    """Nodes reachable from ``start`` over at least one edge."""
    found: set[str] = set()
    stack = list(graph[start])
    while stack:
        node = stack.pop()
        if node not in found:
            found.add(node)
            stack.extend(graph[node])
    return found


def _shortest_cycle(start: str, graph: Mapping[str, Sequence[str]]) -> list[str]:
    """The shortest path start → … → start (breadth first); start must be on a cycle."""
    previous: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for successor in graph[node]:
            if successor == start:
                backwards = [node]
                while backwards[-1] != start:
                    backwards.append(previous[backwards[-1]])
                return [*reversed(backwards), start]
            if successor not in previous:
                previous[successor] = node
                queue.append(successor)
    raise ValueError(f"{start!r} is not on a cycle")


def _reference_line(raw: Any, target: str) -> int | None:
    """Line of the ``certificate_held: target`` node in a raw rule, else the rule's own line."""
    fallback = getattr(raw, "line", None)

    def search(node: Any, line: int | None, depth: int) -> int | None:
        line = getattr(node, "line", None) or line
        if depth > MAX_DEPTH:
            return None
        if isinstance(node, Mapping):
            if node.get("certificate_held") == target:
                return line
            children: Iterable[Any] = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            return None
        for child in children:
            found = search(child, line, depth + 1)
            if found is not None:
                return found
        return None

    return search(raw, fallback, 0) or fallback
