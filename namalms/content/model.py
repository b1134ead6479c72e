"""Value objects for the content tree (`content/`).

Everything here is a frozen dataclass: the loader builds these once from the files and the rest
of the application only reads them. Paths are always relative to the content root and use
forward slashes, so they look the same on every operating system and in problem reports.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Mapping


@dataclass(frozen=True)
class Problem:
    """One finding of the content check, reported like a compiler: ``pfad:zeile: meldung``."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        """Format as ``path:line: message`` so editors and CI can jump to the spot."""
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class QuizOption:
    """One answer option of a quiz question."""

    text: str
    is_correct: bool


@dataclass(frozen=True)
class QuizQuestion:
    """A self-check question; ``kind`` is ``'single'`` (one right answer) or ``'multiple'``."""

    id: str
    kind: str
    question: str
    options: tuple[QuizOption, ...]
    explanation: str

    @property
    def correct_indices(self) -> frozenset[int]:
        """Positions of the correct options, for grading submitted answers."""
        return frozenset(i for i, option in enumerate(self.options) if option.is_correct)


@dataclass(frozen=True)
class Quiz:
    """The self-check of a module: questions and the pass mark in percent (1–100).

    ``draw`` (optional) is how many of the questions one attempt shows, drawn at random: a pool.
    """

    pass_mark: int
    questions: tuple[QuizQuestion, ...]
    draw: int | None = None

    @property
    def questions_per_attempt(self) -> int:
        return min(self.draw or len(self.questions), len(self.questions))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict, e.g. to store the quiz with a content revision."""
        return {
            "pass_mark": self.pass_mark,
            "draw": self.draw,
            "questions": [
                {
                    "id": question.id,
                    "kind": question.kind,
                    "question": question.question,
                    "options": [
                        {"text": option.text, "is_correct": option.is_correct}
                        for option in question.options
                    ],
                    "explanation": question.explanation,
                }
                for question in self.questions
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Quiz:
        """Rebuild a quiz from :meth:`to_dict` output (stored data is trusted, not validated)."""
        return cls(
            pass_mark=int(data["pass_mark"]),
            draw=data.get("draw"),
            questions=tuple(
                QuizQuestion(
                    id=question["id"],
                    kind=question["kind"],
                    question=question["question"],
                    options=tuple(
                        QuizOption(text=option["text"], is_correct=bool(option["is_correct"]))
                        for option in question["options"]
                    ),
                    explanation=question["explanation"],
                )
                for question in data["questions"]
            ),
        )


@dataclass(frozen=True)
class ImageReference:
    """Where a module body references an image: the src as written, its resolved path, its line."""

    src: str
    path: str
    line: int


# Fields of ModuleSource that only locate things in the source file; they are derived from
# `source` and therefore left out of `meta_dict()`.
_LOCATION_FIELDS = frozenset({"id_line", "order_line", "image_refs"})


@dataclass(frozen=True)
class ModuleSource:
    """One module file: front matter values, the Markdown body and the file text itself.

    ``images`` are content-root-relative paths (e.g. ``grundlagenkurs/img/x.png``) of the images
    the body references. ``id_line``, ``order_line`` and ``image_refs`` say where things are in
    the file so that cross-file checks can report precise lines.
    """

    id: str
    course_id: str
    path: str
    title: str
    order: int
    minutes: int
    summary: str
    objectives: tuple[str, ...]
    sdgs: tuple[int, ...]
    has_workshop: bool
    workshop_title: str | None
    quiz: Quiz | None
    body: str
    source: str
    source_hash: str
    images: tuple[str, ...]
    is_required: bool
    id_line: int = 1
    order_line: int = 1
    image_refs: tuple[ImageReference, ...] = ()

    def meta_dict(self) -> dict[str, Any]:
        """Return all fields except body, source and locations as a JSON-able dict.

        This is what a content revision stores next to the source; :meth:`from_meta` reverses it.
        """
        meta: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            if item.name in {"body", "source"} | _LOCATION_FIELDS:
                continue
            value = getattr(self, item.name)
            if isinstance(value, tuple):
                value = list(value)
            meta[item.name] = value
        meta["quiz"] = self.quiz.to_dict() if self.quiz is not None else None
        return meta

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any], *, body: str, source: str) -> ModuleSource:
        """Rebuild a module from :meth:`meta_dict` output plus its body and source text."""
        values = dict(meta)
        quiz = values.pop("quiz", None)
        return cls(
            **{
                **values,
                "objectives": tuple(values["objectives"]),
                "sdgs": tuple(values["sdgs"]),
                "images": tuple(values["images"]),
            },
            quiz=Quiz.from_dict(quiz) if quiz is not None else None,
            body=body,
            source=source,
        )


@dataclass(frozen=True)
class CourseSource:
    """One ``course.yml``: the course's texts and its module order (``module_ids``).

    ``retired_ids`` lists modules taken out of the course (``retired:``): their files stay in
    the folder, but they are not part of the tree's modules, so ``content sync`` keeps them retired.
    """

    id: str
    path: str
    title: str
    short_title: str
    order: int
    description: str
    audience: str
    module_ids: tuple[str, ...]
    required_ids: frozenset[str]
    source: str
    source_hash: str
    retired_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Region:
    """A region such as the Rheinisches Revier; learners belong to one via their district."""

    id: str
    name: str
    description: str


@dataclass(frozen=True)
class District:
    """A Kreis or kreisfreie Stadt (or 'outside NRW'), mapped to exactly one region."""

    id: str
    name: str
    kind: str
    region_id: str


@dataclass(frozen=True)
class CertificateDefinitionSource:
    """A certificate from ``programme.yml``; ``rule`` is plain data, ``line`` where it starts."""

    id: str
    title: str
    statement: str
    rule: Any
    rule_hash: str
    line: int
    short_title: str = ""  # for lists and table cells ("Zertifikat Sonderkurs")


@dataclass(frozen=True)
class ProgrammeSource:
    """``programme.yml``: issuer, certificate definitions and course entry rules."""

    path: str
    issuer: dict[str, str]
    certificates: tuple[CertificateDefinitionSource, ...]
    course_entry: dict[str, Any]
    source: str
    source_hash: str


@dataclass(frozen=True)
class GlossaryTerm:
    """One entry of the glossary: the term as written in the texts, its long form, an explanation."""

    term: str
    long: str
    text: str
    anchor: str  # /glossar#<anchor>


@dataclass(frozen=True)
class Glossary:
    """``glossar.yml``: abbreviations and technical terms, rendered as the page /glossar."""

    path: str
    terms: tuple[GlossaryTerm, ...]
    source: str
    source_hash: str

    def anchors(self) -> frozenset[str]:
        return frozenset(term.anchor for term in self.terms)

    def covers(self, abbreviation: str) -> bool:
        """True when the glossary explains ``abbreviation`` (plural "SDGs" counts as "SDG")."""
        known = {term.term for term in self.terms} | {part for term in self.terms for part in term.term.split()}
        return abbreviation in known or (abbreviation.endswith("s") and abbreviation[:-1] in known)


@dataclass(frozen=True)
class WorkAidSource:
    """A downloadable work aid (Vorlage) in ``vorlagen/``: Markdown with forms as tables.

    Served as a printable page ``/vorlagen/<id>`` and as Word and Excel files generated from it.
    """

    id: str
    path: str
    title: str
    summary: str
    module_ids: tuple[str, ...]
    body: str
    source: str
    source_hash: str


@dataclass(frozen=True)
class PageSource:
    """A page of the site itself (``seiten/<name>.md``): Datenschutzerklärung, Impressum, Barrierefreiheit."""

    id: str
    title: str
    stand: date  # the date the text was last revised, shown on the page ("Stand: …")
    path: str
    body: str
    source: str
    source_hash: str
    id_line: int = 1


@dataclass(frozen=True)
class ContentTree:
    """The whole validated content tree; only ever built when no problem was found."""

    root: Path
    programme: ProgrammeSource
    regions: tuple[Region, ...]
    districts: tuple[District, ...]
    regions_source: str
    regions_hash: str
    courses: tuple[CourseSource, ...]
    modules: dict[str, ModuleSource]
    assets: dict[str, bytes] = field(default_factory=dict)
    glossary: Glossary | None = None
    workaids: dict[str, WorkAidSource] = field(default_factory=dict)
    pages: dict[str, PageSource] = field(default_factory=dict)

    def course(self, course_id: str) -> CourseSource | None:
        """Return the course with this id, or None."""
        return next((course for course in self.courses if course.id == course_id), None)

    def modules_of(self, course_id: str) -> tuple[ModuleSource, ...]:
        """Return a course's modules in course order (skipping ids without a module)."""
        course = self.course(course_id)
        if course is None:
            return ()
        return tuple(self.modules[m] for m in course.module_ids if m in self.modules)
