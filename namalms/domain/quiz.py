"""Self-check grading. Pure Python: takes a quiz definition and the learner's choices."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from namalms.content.model import Quiz


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
