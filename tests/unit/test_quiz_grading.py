"""Self-check grading: exactly the correct options, no partial credit, robust to bad input."""
import pytest

from namalms.content.model import Quiz, QuizOption, QuizQuestion
from namalms.domain.quiz import grade_quiz


def question(qid, kind, correct, n=4):
    return QuizQuestion(id=qid, kind=kind, question=f"Frage {qid}?",
                        options=tuple(QuizOption(text=f"Option {i}", is_correct=i in correct) for i in range(n)),
                        explanation=f"Erklärung {qid}")


QUIZ = Quiz(pass_mark=70, questions=(
    question("q1", "single", {0}), question("q2", "single", {2}), question("q3", "multiple", {0, 1}),
    question("q4", "multiple", {3}), question("q5", "single", {1}),
))
ALL_RIGHT = {"q1": {0}, "q2": {2}, "q3": {0, 1}, "q4": {3}, "q5": {1}}


@pytest.mark.parametrize(
    "answers, score, passed",
    [
        (ALL_RIGHT, 100, True),
        ({**ALL_RIGHT, "q5": {0}}, 80, True),
        ({**ALL_RIGHT, "q4": {0}, "q5": {0}}, 60, False),  # 60 % < 70 %
        ({}, 0, False),
        ({**ALL_RIGHT, "q3": {0}}, 80, True),  # multiple choice: half right is wrong
        ({**ALL_RIGHT, "q3": {0, 1, 2, 3}}, 80, True),  # ticking everything does not pass a question
        ({**ALL_RIGHT, "q1": {0, 1}}, 80, True),  # two answers to a single-choice question
        ({**ALL_RIGHT, "q2": {2, 99}}, 100, True),  # impossible option indexes are ignored
    ],
)
def test_quiz_score_counts_only_fully_correct_questions(answers, score, passed):
    result = grade_quiz(QUIZ, answers)
    assert result.score == score
    assert result.is_passed is passed


def test_feedback_per_question_names_the_correct_options_and_explanation():
    result = grade_quiz(QUIZ, {"q1": {1}})
    q1 = result.result_for("q1")
    assert not q1.is_correct and q1.is_answered
    assert q1.correct == {0} and q1.chosen == {1}
    assert q1.explanation == "Erklärung q1"
    assert not result.result_for("q2").is_answered


def test_pass_mark_is_inclusive():
    quiz = Quiz(pass_mark=80, questions=QUIZ.questions)
    assert grade_quiz(quiz, {**ALL_RIGHT, "q5": set()}).is_passed
