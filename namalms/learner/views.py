"""Thin learner views: look up, call a service, redirect or render (the unit of work commits)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from namalms.content.model import Quiz
from namalms.domain.sdgs import SDG_NAMES
from namalms.extensions import db, read_only
from namalms.learner.overview import active_modules, all_courses, completion_of, course_view, dashboard_views
from namalms.models import Course, Module, ModuleProgress
from namalms.services import ServiceError
from namalms.services import certificates as certificate_service
from namalms.services import reference
from namalms.services import progress as progress_service
from namalms.unit_of_work import refuse, write_transaction
from namalms.web import requested_id, role_required

bp = Blueprint("learner", __name__)


def get_module(module_id: str) -> Module:
    """The published module with its current revision, course and sibling modules, in two queries."""
    return db.first_or_404(select(Module).where(Module.id == module_id, Module.current_revision_id.is_not(None))
                           .options(joinedload(Module.current_revision),
                                    joinedload(Module.course).selectinload(Course.modules)))


@bp.route("/")
@read_only
def catalogue():
    views = [course_view(c, current_user if current_user.is_authenticated else None) for c in all_courses()]
    return render_template("learner/catalogue.html", views=views)


def entry_lock(course_id: str):
    """The unmet entry verdict of a course for the current user, or None when it is open.

    Trainers and admins are never locked out: they preview every course."""
    user = current_user if current_user.is_authenticated else None
    if user is not None and user.role != "learner":
        return None
    verdict = certificate_service.course_entry_verdict(user, course_id)
    return verdict if verdict is not None and not verdict.ok else None


@bp.route("/courses/<course_id>")
@read_only
def course(course_id: str):
    user = current_user if current_user.is_authenticated else None
    view = course_view(db.get_or_404(Course, course_id), user)
    return render_template("learner/course.html", view=view, lock=entry_lock(course_id),
                           notices=certificate_service.course_certificate_notices(user, course_id))


@bp.route("/courses/<course_id>/enrol", methods=["POST"])
@role_required("learner")
def enrol(course_id: str):
    course = db.get_or_404(Course, course_id)
    if entry_lock(course.id) is not None:
        flash("Dieser Kurs ist für Sie noch gesperrt. Auf der Kursseite sehen Sie, was noch fehlt.", "error")
        return redirect(url_for("learner.course", course_id=course.id))
    _, created = progress_service.enrol(current_user, course)
    if created:
        flash(f"Sie sind jetzt in „{course.title}“ eingeschrieben. Viel Erfolg!", "success")
    else:
        flash("Sie sind in diesem Kurs bereits eingeschrieben.", "info")
    return redirect(url_for("learner.course", course_id=course.id))


def _quiz_feedback(module: Module):
    """The graded attempt named in ?versuch=, if it is the current learner's own."""
    attempt_id = requested_id(request.args, "versuch")
    return progress_service.attempt_feedback(current_user, module, attempt_id) if attempt_id else None


@bp.route("/modules/<module_id>")
@read_only  # outside login_required: loading the user must not take the write lock either
@login_required
def module(module_id: str):
    module = get_module(module_id)
    is_learner = current_user.role == "learner"
    enrollment = progress_service.enrollment_for(current_user, module.course_id)
    if module.is_retired and not (enrollment and is_learner):
        abort(404)
    lock = entry_lock(module.course_id) if is_learner else None
    if lock is not None:
        return render_template("learner/locked.html", course=module.course, lock=lock), 403
    if is_learner and enrollment is None:
        flash("Bitte schreiben Sie sich zuerst in den Kurs ein, um das Modul zu bearbeiten.", "info")
        return redirect(url_for("learner.course", course_id=module.course_id))
    progress = None
    revision = module.current_revision
    quiz = Quiz.from_dict(revision.meta["quiz"]) if revision.meta.get("quiz") else None
    feedback = _quiz_feedback(module) if quiz and is_learner else None
    attempt = None
    if is_learner:
        progress = db.session.scalar(select(ModuleProgress).filter_by(user_id=current_user.id, module_id=module.id))
        attempt = progress_service.open_attempt(current_user, module) if quiz and feedback is None else None
        needs_attempt = quiz is not None and feedback is None and attempt is None
        if progress_service.visit_is_due(progress) or needs_attempt:
            # The page's only writes, in one short transaction: the visit and a fresh quiz attempt.
            with write_transaction():
                if progress_service.visit_is_due(progress):
                    progress, _ = progress_service.record_visit(current_user, module)
                if needs_attempt:
                    attempt = progress_service.start_attempt(current_user, module)
            module = get_module(module_id)
            revision = module.current_revision
    questions = feedback.questions if feedback else progress_service.attempt_questions(module, attempt) if quiz else []
    siblings = active_modules(module.course)
    index = next((i for i, m in enumerate(siblings) if m.id == module.id), 0)
    return render_template(
        "learner/module.html", module=module, revision=revision, quiz=quiz, progress=progress,
        completion=completion_of(module, progress), feedback=feedback, attempt=attempt, questions=questions,
        previous=siblings[index - 1] if index > 0 else None,
        following=siblings[index + 1] if index + 1 < len(siblings) else None,
        position=index + 1, count=len(siblings), sdg_names=SDG_NAMES, is_preview=not is_learner,
        workaids=reference.workaids(module.id), just_done=is_learner and request.args.get("erledigt") == "1",
    )


@bp.route("/modules/<module_id>/done", methods=["POST"])
@role_required("learner")
def mark_done(module_id: str):
    module = get_module(module_id)
    try:
        progress, changed = progress_service.mark_done(current_user, module)
    except ServiceError as error:
        return refuse(error, url_for("learner.course", course_id=module.course_id))
    if not changed:
        flash("Dieses Modul ist bereits als erledigt markiert.", "info")
        return redirect(url_for("learner.module", module_id=module.id, _anchor="abschluss"))
    # Land where the next step is – the completion section with "Weiter mit Modul n" or what is
    # still missing – and say it there, not at the top of a long page (see module.html).
    return redirect(url_for("learner.module", module_id=module.id, erledigt=1, _anchor="abschluss"))


def parse_answers(questions: list[dict], form) -> dict[str, set[int]]:
    """Read the ticked positions from the form; anything that is not a shown position is ignored."""
    answers: dict[str, set[int]] = {}
    for question in questions:
        chosen = set()
        for raw in form.getlist(f"q-{question['id']}"):
            if raw.isascii() and raw.isdigit() and len(raw) < 4 and int(raw) < len(question["options"]):
                chosen.add(int(raw))
        answers[question["id"]] = chosen
    return answers


@bp.route("/modules/<module_id>/quiz", methods=["POST"])
@role_required("learner")
def submit_quiz(module_id: str):
    module = get_module(module_id)
    progress_service.quiz_of(module) or abort(404)
    attempt_id = requested_id(request.form, "attempt")
    attempt = progress_service.attempt_of(current_user, module, attempt_id) if attempt_id else None
    if attempt is None:
        flash("Dieser Selbstcheck-Versuch ist nicht mehr gültig. Bitte beantworten Sie die Fragen noch einmal.",
              "error")
        return redirect(url_for("learner.module", module_id=module.id, _anchor="selbstcheck"))
    answers = parse_answers(progress_service.attempt_questions(module, attempt), request.form)
    if not any(answers.values()) and attempt.submitted_at is None:
        flash("Bitte beantworten Sie mindestens eine Frage, bevor Sie den Selbstcheck auswerten.", "error")
        return redirect(url_for("learner.module", module_id=module.id, _anchor="selbstcheck"))
    try:
        _, attempt = progress_service.submit_quiz(current_user, module, answers, attempt_id=attempt.id)
    except ServiceError as error:
        return refuse(error, url_for("learner.course", course_id=module.course_id))
    # The result is shown in the quiz section itself (the redirect jumps there), not as a
    # message at the top of the page the learner would not see.
    return redirect(url_for("learner.module", module_id=module.id, versuch=attempt.id, _anchor="ergebnis"))


@bp.route("/dashboard")
@read_only
@login_required
def dashboard():
    views = dashboard_views(current_user)
    standings = certificate_service.standings(current_user) if current_user.role == "learner" else []
    return render_template("learner/dashboard.html", views=views, standings=standings)
