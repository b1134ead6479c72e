"""Thin learner views: look up, call a service, redirect or render (the unit of work commits)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from namalms.domain.quiz import AttemptLayout, identity_layout
from namalms.extensions import db, read_only
from namalms.learner import module_page
from namalms.learner.module_page import known_unseen
from namalms.learner.overview import catalogue_views, completion_of, course_view, dashboard_views
from namalms.models import Course, Module
from namalms.page_memo import kept_page
from namalms.services import ServiceError
from namalms.services import certificates as certificate_service
from namalms.services import course_structure
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
    views = catalogue_views(current_user if current_user.is_authenticated else None)
    return render_template("learner/catalogue.html", views=views)


def entry_lock(course_id: str, facts=None):
    """The unmet entry verdict of a course for the current user, or None when it is open.

    Trainers and admins are never locked out: they preview every course. ``facts``: the
    learner's, when the view already read them."""
    user = current_user if current_user.is_authenticated else None
    if user is not None and user.role != "learner":
        return None
    verdict = certificate_service.course_entry_verdict(user, course_id, facts=facts)
    return verdict if verdict is not None and not verdict.ok else None


@bp.route("/courses/<course_id>")
@read_only
@kept_page
def course(course_id: str):
    user = current_user if current_user.is_authenticated else None
    info = course_structure.course(course_id) or abort(404)
    if user is None or user.role != "learner":
        view, facts = course_view(info, user), None
    else:  # the learner's records once, for the module list, the entry rule and the notices
        data = certificate_service.learner_data(user)
        view = course_view(info, user, enrollments=data.enrollments, progress=data.progress)
        facts = certificate_service.load_facts(user, data=data)
        known_unseen(data)
    return render_template("learner/course.html", view=view, lock=entry_lock(course_id, facts),
                           notices=certificate_service.course_certificate_notices(user, course_id, facts=facts))


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
@kept_page  # outside login_required: a kept page needs no loaded user
@login_required
def module(module_id: str):
    """The module page: prepared parts from the process's cache, the learner's part in one query."""
    is_learner = current_user.role == "learner"
    state = module_page.learner_state(current_user.id, module_id)
    page = module_page.prepared_module(module_id, state.stamp) if state else None
    if page is None:
        abort(404)
    module_page.known_unseen_certificates(state)
    if page.is_retired and not (state.is_enrolled and is_learner):
        abort(404)
    lock = entry_lock(page.course_id) if is_learner and page.has_entry_rule else None
    if lock is not None:
        return render_template("learner/locked.html", course=db.session.get(Course, page.course_id), lock=lock), 403
    if is_learner and not state.is_enrolled:
        flash("Bitte schreiben Sie sich zuerst in den Kurs ein, um das Modul zu bearbeiten.", "info")
        return redirect(url_for("learner.course", course_id=page.course_id))
    if state.revision_id != page.revision_id:  # published in between: prepare this revision now
        page = module_page.build(module_id)
    quiz, progress, attempt = page.quiz, state.progress, state.attempt
    feedback = _quiz_feedback(module_page.reload_module(module_id)) if quiz and is_learner \
        and request.args.get("versuch") else None
    if is_learner:
        needs_attempt = quiz is not None and feedback is None and attempt is None
        if progress_service.visit_is_due(progress) or needs_attempt:
            # The page's only writes, in one short transaction: the visit and a fresh quiz attempt.
            with write_transaction():
                orm_module = module_page.reload_module(module_id)
                if progress_service.visit_is_due(progress):
                    progress, _ = progress_service.record_visit(current_user, orm_module)
                if needs_attempt:
                    attempt = progress_service.start_attempt(current_user, orm_module)
    unanswered = module_page.unanswered_questions(
        page, AttemptLayout.from_list(attempt.layout) if attempt else identity_layout(quiz)) \
        if quiz and not feedback else None
    return render_template(
        "learner/module.html", module=page, quiz=quiz, progress=progress, completion=completion_of(page, progress),
        feedback=feedback, attempt=attempt, questions=feedback.questions if feedback else [], unanswered=unanswered,
        is_preview=not is_learner, just_done=is_learner and request.args.get("erledigt") == "1",
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
@kept_page  # outside login_required: a kept page needs no loaded user
@login_required
def dashboard():
    if current_user.role != "learner":
        views, standings = dashboard_views(current_user), []
    else:  # the learner's records once, for the courses, the certificates and the notice
        data = certificate_service.learner_data(current_user)
        views = dashboard_views(current_user, enrollments=data.enrollments, progress=data.progress)
        standings = certificate_service.standings(current_user, data=data, for_display=True)
        known_unseen(data)
    return render_template("learner/dashboard.html", views=views, standings=standings,
                           places=course_structure.place_names())
