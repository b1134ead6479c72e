"""The module page: prepared once per content state and process, the learner's part in one query.

A module page is read far more often than anything on it changes. Everything that depends only
on the published content – the text, its table of contents, learning objectives, SDGs, work
aids, position among its siblings, the self-check's questions – is rendered into ``Markup``
parts once per content stamp (see :mod:`namalms.content_cache`) and kept by the process. Per
request there are two statements: the login (the user loader) and :data:`STATE`, which reads
the content stamp, the enrolment, the learner's progress, their open self-check attempt and
the new certificates they have not opened yet. The Markdown source is never loaded.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import get_template_attribute, request
from markupsafe import Markup, escape
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import defer, joinedload, selectinload

from namalms import content_cache
from namalms.content.model import Quiz
from namalms.domain.quiz import AttemptLayout
from namalms.domain.sdgs import SDG_NAMES
from namalms.extensions import db
from namalms.learner.overview import active_modules
from namalms.models import (
    Certificate, ContentRevision, ContentState, Course, Enrollment, Module, ModuleProgress, QuizAttempt,
)
from namalms.services import reference
from namalms.services.certificates import load_catalog, programme_meta

PARTS_TEMPLATE = "learner/_module_parts.html"
UNSEEN_LIST = "namalms.unseen_certificate_list"  # request.environ: the new certificates, when already read


@dataclass(frozen=True)
class NewCertificate:
    """A certificate in the "new certificate" notice of the page header."""

    number: str
    title: str


@dataclass(frozen=True)
class ModuleLink:
    id: str
    title: str


KIND_TEXT = {"single": "Eine Antwort ist richtig.", "multiple": "Mehrere Antworten können richtig sein."}


@dataclass(frozen=True)
class PreparedQuestion:
    """A self-check question with its text and options escaped once, in the authored order."""

    id: str
    kind: str
    question: Markup
    options: tuple[Markup, ...]


@dataclass(frozen=True)
class PreparedModule:
    """What every view of one published module revision shares (plain data, no ORM objects)."""

    id: str
    course_id: str
    title: str
    minutes: int
    has_quiz: bool
    has_workshop: bool
    workshop_title: str | None
    pass_mark: int | None
    is_retired: bool
    revision_id: int | None  # None: the trainer's preview of an unpublished text
    position: int  # among the course's active modules, from 1
    count: int
    previous: ModuleLink | None
    following: ModuleLink | None
    has_entry_rule: bool  # the course opens only when a rule is met (programme.yml, course_entry)
    quiz: Quiz | None
    questions: dict[str, PreparedQuestion]
    breadcrumbs: Markup
    header: Markup  # title, time, SDGs
    aside: Markup  # contents and work aids
    main: Markup  # learning objectives and the text
    pager: Markup  # previous / next module


@dataclass(frozen=True)
class ProgressState:
    """The learner's progress in the module as the page shows it (None fields: not yet)."""

    first_viewed_at: datetime | None
    last_viewed_at: datetime | None
    done_at: datetime | None
    quiz_passed_at: datetime | None
    best_quiz_score: int | None
    workshop_attended_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True)
class OpenAttempt:
    id: int
    layout: list


@dataclass(frozen=True)
class LearnerState:
    stamp: int | None
    revision_id: int | None
    is_enrolled: bool
    progress: ProgressState | None
    attempt: OpenAttempt | None
    unseen_certificates: tuple[tuple[str, str], ...]  # (number, definition id), by number


_OPEN_ATTEMPT = (
    select(func.max(QuizAttempt.id))
    .where(QuizAttempt.user_id == bindparam("user_id"), QuizAttempt.module_id == Module.id,
           QuizAttempt.revision_id == Module.current_revision_id, QuizAttempt.submitted_at.is_(None))
    .correlate(Module).scalar_subquery()
)
# The new certificates as one text, "number<TAB>definition id" per line (string_agg on PostgreSQL,
# group_concat on SQLite): the header's notice needs no query of its own.
_UNSEEN_SEPARATOR, _UNSEEN_FIELDS = "\n", "\t"
_UNSEEN = (
    select(func.aggregate_strings(func.coalesce(Certificate.number, "") + _UNSEEN_FIELDS + Certificate.definition_id,
                                  _UNSEEN_SEPARATOR))
    .where(Certificate.user_id == bindparam("user_id"), Certificate.seen_at.is_(None), Certificate.status == "valid")
    .scalar_subquery()
)
_PROGRESS_COLUMNS = (ModuleProgress.first_viewed_at, ModuleProgress.last_viewed_at, ModuleProgress.done_at,
                     ModuleProgress.quiz_passed_at, ModuleProgress.best_quiz_score,
                     ModuleProgress.workshop_attended_at, ModuleProgress.completed_at)
# One statement per page view, built once: SQLAlchemy compiles it once and caches the SQL.
STATE = (
    select(ContentState.stamp, Module.current_revision_id, Enrollment.id, ModuleProgress.id, *_PROGRESS_COLUMNS,
           QuizAttempt.id, QuizAttempt.layout, _UNSEEN)
    .select_from(Module)
    .outerjoin(ContentState, ContentState.id == 1)
    .outerjoin(Enrollment, (Enrollment.user_id == bindparam("user_id")) & (Enrollment.course_id == Module.course_id))
    .outerjoin(ModuleProgress, (ModuleProgress.user_id == bindparam("user_id"))
               & (ModuleProgress.module_id == Module.id))
    .outerjoin(QuizAttempt, QuizAttempt.id == _OPEN_ATTEMPT)
    .where(Module.id == bindparam("module_id"))
)


def learner_state(user_id: int, module_id: str) -> LearnerState | None:
    """The content stamp and the learner's part of the page, in one statement; None: no such module."""
    row = db.session.execute(STATE, {"user_id": user_id, "module_id": module_id}).first()
    if row is None:
        return None
    stamp, revision_id, enrollment_id, progress_id, *rest = row
    progress_values, (attempt_id, layout, unseen) = rest[:len(_PROGRESS_COLUMNS)], rest[len(_PROGRESS_COLUMNS):]
    return LearnerState(
        stamp=stamp, revision_id=revision_id, is_enrolled=enrollment_id is not None,
        progress=ProgressState(*progress_values) if progress_id is not None else None,
        attempt=OpenAttempt(attempt_id, layout) if attempt_id is not None else None,
        unseen_certificates=tuple(sorted(tuple(line.split(_UNSEEN_FIELDS, 1))
                                         for line in unseen.split(_UNSEEN_SEPARATOR))) if unseen else (),
    )


def known_unseen_certificates(state: LearnerState) -> None:
    """This request already read the new certificates the learner has not opened (the module
    page's one query), so the notice in the page header need not look them up."""
    _note_unseen(state.unseen_certificates, stamp=state.stamp)


def known_unseen(data) -> None:
    """This request already read the learner's certificates (``certificates.LearnerData``), so
    the notice in the page header is taken from them instead of being looked up again."""
    _note_unseen([(c.number, c.definition_id) for c in data.unseen_certificates()])


def _note_unseen(unseen, *, stamp: int | None = None) -> None:
    """The header's notice (learner.new_certificates) for these (number, definition id) pairs."""
    titles = load_catalog(stamp=stamp).certificates if unseen else {}
    request.environ[UNSEEN_LIST] = [NewCertificate(number, titles.get(definition_id, ""))
                                    for number, definition_id in unseen]


def prepared_module(module_id: str, stamp: int | None) -> PreparedModule | None:
    """The prepared page of a published module (None when it has no published revision)."""
    return content_cache.cache().get(stamp, ("module_page", module_id), lambda: build(module_id))


def build(module_id: str) -> PreparedModule | None:
    """Load the module, its revision (without the Markdown source) and siblings; render the parts."""
    module = db.session.scalar(
        select(Module).where(Module.id == module_id, Module.current_revision_id.is_not(None))
        .options(joinedload(Module.current_revision).options(defer(ContentRevision.source)),
                 joinedload(Module.course).selectinload(Course.modules)))
    if module is None:
        return None
    siblings = active_modules(module.course)
    index = next((i for i, m in enumerate(siblings) if m.id == module.id), 0)
    return prepare(module, module.current_revision, position=index + 1, count=len(siblings),
                   previous=siblings[index - 1] if index > 0 else None,
                   following=siblings[index + 1] if index + 1 < len(siblings) else None)


def prepare(module, revision, *, position: int, count: int, previous, following) -> PreparedModule:
    """Render the content parts of ``module`` at ``revision`` – a published one, or the unsaved
    candidate of the trainer's preview (which shows exactly what learners will see)."""
    meta = revision.meta or {}
    quiz = Quiz.from_dict(meta["quiz"]) if meta.get("quiz") else None
    workaids = [ModuleLink(w.key, (w.meta or {}).get("title", w.key)) for w in reference.workaids(module.id)]
    context = {"module": module, "course": module.course, "revision": revision, "meta": meta, "quiz": quiz,
               "position": position, "count": count, "previous": previous, "following": following,
               "workaids": workaids, "sdg_names": SDG_NAMES}

    def part(name: str) -> Markup:
        return Markup(get_template_attribute(PARTS_TEMPLATE, name)(**context))

    return PreparedModule(
        id=module.id, course_id=module.course_id, title=module.title, minutes=module.minutes,
        has_quiz=module.has_quiz, has_workshop=module.has_workshop, workshop_title=module.workshop_title,
        pass_mark=module.pass_mark, is_retired=module.is_retired, revision_id=getattr(revision, "id", None),
        position=position, count=count,
        previous=ModuleLink(previous.id, previous.title) if previous else None,
        following=ModuleLink(following.id, following.title) if following else None,
        has_entry_rule=module.course_id in (programme_meta().get("course_entry") or {}),
        quiz=quiz, questions=_prepared_questions(quiz), breadcrumbs=part("breadcrumbs"), header=part("header"), aside=part("aside"), main=part("main"),
        pager=part("pager"),
    )


def _prepared_questions(quiz: Quiz | None) -> dict[str, PreparedQuestion]:
    if quiz is None:
        return {}
    return {q.id: PreparedQuestion(q.id, q.kind, escape(q.question), tuple(escape(o.text) for o in q.options))
            for q in quiz.questions}


def unanswered_questions(page: PreparedModule, layout: AttemptLayout) -> Markup:
    """The fieldsets of an attempt waiting for answers, in its order of questions and options.

    The markup matches the answered state's in ``learner/module.html`` (which also marks results);
    assembled here from the escaped texts because it is on every module view with a self-check
    and Jinja would spend most of the page's time on its ~300 small expressions.
    """
    parts = []
    number = 0
    for shown in layout.questions:
        question = page.questions.get(shown.question_id)
        if question is None:
            continue
        number += 1
        kind = "radio" if question.kind == "single" else "checkbox"
        qid = escape(question.id)
        parts.append(f'<fieldset class="question" id="frage-{qid}">\n'
                     f'<legend><span class="q-number">Frage {number}</span> {question.question}\n'
                     f'<span class="q-kind">{KIND_TEXT.get(question.kind, KIND_TEXT["multiple"])}</span></legend>\n')
        for position, index in enumerate(shown.order):
            parts.append(f'<div class="option">\n'
                         f'<input type="{kind}" id="q-{qid}-{position}" name="q-{qid}" value="{position}">\n'
                         f'<label for="q-{qid}-{position}">{question.options[index]}</label>\n</div>\n')
        parts.append("</fieldset>\n")
    return Markup("".join(parts))


def reload_module(module_id: str) -> Module:
    """The module as an ORM object, for the rare page view that writes (first visit, new attempt)."""
    return db.session.scalar(select(Module).where(Module.id == module_id)
                             .options(selectinload(Module.course)))
