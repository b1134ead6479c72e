"""Self-checks: drawing an attempt, grading it, and spotting quizzes that give answers away.

Pure Python: takes a quiz definition, a random source and the learner's choices.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Mapping

from namalms.content.model import Quiz, QuizQuestion


@dataclass(frozen=True)
class QuestionResult:
    question_id: str
    is_correct: bool
    is_answered: bool
    chosen: frozenset[int]
    correct: frozenset[int]
    explanation: str


@dataclass(frozen=True)
class QuizResult:
    score: int  # whole percent
    pass_mark: int
    results: tuple[QuestionResult, ...]

    @property
    def is_passed(self) -> bool:
        return self.score >= self.pass_mark

    @property
    def correct_count(self) -> int:
        return sum(r.is_correct for r in self.results)

    def result_for(self, question_id: str) -> QuestionResult | None:
        return next((r for r in self.results if r.question_id == question_id), None)


def grade_quiz(quiz: Quiz, answers: Mapping[str, set[int] | frozenset[int]]) -> QuizResult:
    """Grade all questions: a question counts only when exactly the correct options are chosen.

    Partial credit on multiple choice would let "tick everything" pass, so there is none.
    Option indexes outside the question are ignored; unanswered questions count as wrong.
    """
    results = []
    for question in quiz.questions:
        valid = range(len(question.options))
        chosen = frozenset(i for i in answers.get(question.id, ()) if i in valid)
        correct = frozenset(i for i, option in enumerate(question.options) if option.is_correct)
        if question.kind == "single" and len(chosen) > 1:
            chosen_ok = False
        else:
            chosen_ok = chosen == correct
        results.append(QuestionResult(question.id, chosen_ok, bool(chosen), chosen, correct, question.explanation))
    total = len(results)
    score = round(100 * sum(r.is_correct for r in results) / total) if total else 0
    return QuizResult(score, quiz.pass_mark, tuple(results))


# --- attempts: what a learner is shown -------------------------------------------------------------

@dataclass(frozen=True)
class ShownQuestion:
    """One question as shown in an attempt: its id and its options in the shown order.

    ``order[i]`` is the authored index of the option shown at position ``i``.
    """

    question_id: str
    order: tuple[int, ...]

    def to_authored(self, shown: set[int] | frozenset[int]) -> frozenset[int]:
        """Map positions as shown (what the form sends) back to authored option indices."""
        return frozenset(self.order[i] for i in shown if 0 <= i < len(self.order))

    def to_shown(self, authored: set[int] | frozenset[int]) -> frozenset[int]:
        return frozenset(position for position, index in enumerate(self.order) if index in authored)


@dataclass(frozen=True)
class AttemptLayout:
    """The questions of one attempt and their option orders; stored with the attempt so that
    grading, feedback and review map back to the authored options."""

    questions: tuple[ShownQuestion, ...]

    def to_list(self) -> list[dict]:
        return [{"question": q.question_id, "order": list(q.order)} for q in self.questions]

    @classmethod
    def from_list(cls, data: list[dict]) -> AttemptLayout:
        return cls(tuple(ShownQuestion(item["question"], tuple(item["order"])) for item in data))

    def question_ids(self) -> tuple[str, ...]:
        return tuple(q.question_id for q in self.questions)

    def for_question(self, question_id: str) -> ShownQuestion | None:
        return next((q for q in self.questions if q.question_id == question_id), None)


def draw_attempt(quiz: Quiz, rng: random.Random) -> AttemptLayout:
    """A fresh attempt: ``quiz.draw`` questions (all when not set) in random order, each with
    its options shuffled. Shown positions say nothing about which option is correct."""
    questions = list(quiz.questions)
    count = quiz.draw or len(questions)
    chosen = rng.sample(questions, k=min(count, len(questions)))
    shown = []
    for question in chosen:
        order = list(range(len(question.options)))
        rng.shuffle(order)
        shown.append(ShownQuestion(question.id, tuple(order)))
    return AttemptLayout(tuple(shown))


def grade_attempt(quiz: Quiz, layout: AttemptLayout, shown_answers: Mapping[str, set[int]]) -> tuple[QuizResult, dict[str, list[int]]]:
    """Grade the questions of an attempt from the positions the learner ticked as shown.

    Returns the result and the answers as authored option indices (for the record). Questions of
    the quiz that were not drawn for this attempt do not count.
    """
    authored = {}
    for shown in layout.questions:
        authored[shown.question_id] = shown.to_authored(shown_answers.get(shown.question_id, set()))
    drawn = Quiz(quiz.pass_mark, tuple(q for q in quiz.questions if q.id in authored), quiz.draw)
    order = {question_id: position for position, question_id in enumerate(layout.question_ids())}
    drawn = Quiz(drawn.pass_mark, tuple(sorted(drawn.questions, key=lambda q: order[q.id])), drawn.draw)
    return grade_quiz(drawn, authored), {qid: sorted(choices) for qid, choices in authored.items()}


# --- authored quizzes that give the answer away -------------------------------------------------------

MIN_QUESTIONS_FOR_PATTERN = 3


def answer_leaks(quiz: Quiz) -> list[str]:
    """German warnings when the authored order or lengths give the answers away.

    Options are shuffled per attempt, but an authored pattern still tells whoever reads the file
    (and betrays careless authoring): the correct option in the same position in more than half
    of the single-choice questions, the correct options first (or in the same positions) in more
    than half of the multiple-choice questions, or the correct option the longest in more than
    half of the single-choice questions.
    """
    warnings = []
    singles = [q for q in quiz.questions if q.kind == "single"]
    multiples = [q for q in quiz.questions if q.kind == "multiple"]
    if len(singles) >= MIN_QUESTIONS_FOR_PATTERN:
        positions = Counter(min(q.correct_indices) for q in singles if q.correct_indices)
        position, count = positions.most_common(1)[0] if positions else (0, 0)
        if count * 2 > len(singles):
            warnings.append(f"In {count} von {len(singles)} Einfachauswahl-Fragen ist Option {position + 1} "
                            f"die richtige – verteilen Sie die richtigen Antworten über die Positionen.")
        longest = sum(1 for q in singles if _correct_is_longest(q))
        if longest * 2 > len(singles):
            warnings.append(f"In {longest} von {len(singles)} Einfachauswahl-Fragen ist die richtige Antwort "
                            f"die längste – formulieren Sie die falschen Antworten ebenso genau.")
    if len(multiples) >= MIN_QUESTIONS_FOR_PATTERN:
        first = sum(1 for q in multiples if q.correct_indices == frozenset(range(len(q.correct_indices))))
        patterns = Counter(q.correct_indices for q in multiples)
        same = patterns.most_common(1)[0][1] if patterns else 0
        if first * 2 > len(multiples):
            warnings.append(f"In {first} von {len(multiples)} Mehrfachauswahl-Fragen stehen die richtigen "
                            f"Antworten vorn – mischen Sie richtige und falsche Antworten.")
        elif same * 2 > len(multiples):
            warnings.append(f"In {same} von {len(multiples)} Mehrfachauswahl-Fragen stehen die richtigen "
                            f"Antworten an denselben Positionen – variieren Sie das Muster.")
    return warnings


def _correct_is_longest(question: QuizQuestion) -> bool:
    lengths = [len(option.text) for option in question.options]
    longest = max(lengths)
    return lengths.count(longest) == 1 and question.options[lengths.index(longest)].is_correct


# --- what the page shows ---------------------------------------------------------------------------

def identity_layout(quiz: Quiz) -> AttemptLayout:
    """Every question in authored order with its options as written (for previews and scripts)."""
    return AttemptLayout(tuple(ShownQuestion(q.id, tuple(range(len(q.options)))) for q in quiz.questions))


def attempt_view(quiz: Quiz, layout: AttemptLayout, result: QuizResult | None = None) -> list[dict]:
    """The questions of an attempt as the page renders them: in the attempt's order, options in the
    attempt's order, and – once graded – which shown positions were chosen and are correct."""
    by_id = {q.id: q for q in quiz.questions}
    views = []
    for shown in layout.questions:
        question = by_id.get(shown.question_id)
        if question is None:
            continue
        graded = result.result_for(question.id) if result else None
        options = [{"position": position, "text": question.options[index].text,
                    "is_correct": question.options[index].is_correct,
                    "is_chosen": bool(graded and index in graded.chosen)}
                   for position, index in enumerate(shown.order)]
        views.append({"id": question.id, "kind": question.kind, "question": question.question,
                      "explanation": question.explanation, "options": options, "result": graded})
    return views
