"""Trainer content workspace (/trainer/content…): edit, upload, check, preview, publish, restore.

Thin views: read the form, call one function of :mod:`namalms.services.publishing` (the unit of
work commits),
flash and redirect – or, when the change is refused, show the form again with the trainer's text
and every problem next to its line.
"""
from __future__ import annotations

import mimetypes
import re

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from namalms.content.diffing import annotate_lines, side_by_side, unified_diff
from namalms.domain.quiz import identity_layout
from namalms.extensions import db
from namalms.learner import module_page
from namalms.learner.overview import completion_of
from namalms.models import Course, Module
from namalms.services import ServiceError
from namalms.services import publishing
from namalms.services.trainer_courses import CourseNotAssigned
from namalms.trainer.blueprint import bp, ensure_course, my_course_ids
from namalms.unit_of_work import refuse
from namalms.web import requested_id, role_required

TRAINERS = ("trainer", "admin")
_IMAGE_PATH = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*/img/[^/\\]+\.(?:png|jpe?g|webp)$", re.IGNORECASE)


def _published_module(module_id: str) -> Module:
    """The module if it has been published (a module row without a revision is not shown), and only
    when its course is the trainer's (403 otherwise)."""
    module = db.first_or_404(select(Module).where(Module.id == module_id, Module.current_revision_id.is_not(None)))
    ensure_course(module.course_id)
    return module


@bp.route("/content")
@role_required(*TRAINERS)
def content():
    return render_template("trainer/content_index.html", overview=publishing.content_overview(my_course_ids()))


# --- editor, check, preview, publish ---------------------------------------------------------


def _editor(*, source: str, module: Module | None = None, course: Course | None = None, plan=None,
            base_revision_id: int | None = None, message: str = "", error: ServiceError | None = None,
            conflict=None, status: int = 200):
    """The editor page: the text, the check result with numbered lines, a conflict if any."""
    problems = plan.problems_here if plan is not None else []
    lines = annotate_lines(source, [(p.line, p.message) for p in problems]) if problems else []
    conflict_diff = unified_diff(conflict.source, publishing.normalise_text(source)) if conflict is not None else None
    return render_template(
        "trainer/content_edit.html", source=source, module=module, course=course or (module.course if module else None),
        plan=plan, lines=lines, base_revision_id=base_revision_id, message=message, error=error,
        conflict=conflict, conflict_diff=conflict_diff,
        module_affected=publishing.affected_learners([module.id])[module.id] if module else None,
    ), status


def _preview(plan, *, module: Module | None, course: Course, message: str):
    preview = publishing.preview_module(
        plan, fallback_image_url=lambda path: url_for("trainer.content_image", path=path))
    page = module_page.prepare(preview.module, preview.revision, position=preview.position, count=preview.count,
                               previous=preview.previous, following=preview.following)
    unanswered = module_page.unanswered_questions(page, identity_layout(page.quiz)) if page.quiz else None
    return render_template(
        "trainer/content_preview.html", plan=plan, message=message, editing=module, editing_course=course,
        module=page, quiz=page.quiz, unanswered=unanswered, progress=None, completion=completion_of(page, None),
        feedback=None, position=preview.position, is_preview=True,
    )


def _handle_editor_post(*, module: Module | None, course: Course):
    """Shared by "edit module" and "new module": check, preview or publish the posted text."""
    source = request.form.get("source", "")
    base_revision_id = requested_id(request.form, "base_revision_id")
    message = request.form.get("message", "")
    action = request.form.get("action", "pruefen")
    keep = {"source": source, "module": module, "course": course, "message": message,
            "base_revision_id": base_revision_id}
    if action == "veroeffentlichen":
        try:
            revision = publishing.publish_module_source(
                source, module_id=module.id if module else None, course_id=course.id,
                base_revision_id=base_revision_id, author=current_user, message=message)
        except publishing.NothingChanged as error:
            return refuse(error, url_for("trainer.content_module", module_id=module.id), category="info")
        except publishing.ContentConflict as error:
            keep["base_revision_id"] = error.current.id  # publishing again is now a deliberate choice
            return _editor(**keep, plan=error.plan, error=error, conflict=error.current, status=409)
        except publishing.ContentProblems as error:
            return _editor(**keep, plan=error.plan, error=error, status=422)
        except ServiceError as error:
            return _editor(**keep, error=error, status=422)
        title = revision.meta.get("title", revision.key)
        flash(f"„{title}“ ist veröffentlicht (Revision {revision.number}) und in {revision.path} gespeichert. "
              f"Teilnehmende sehen ab sofort die neue Fassung; ihr Fortschritt bleibt erhalten.", "success")
        return redirect(url_for("trainer.content_module", module_id=revision.key))
    try:
        if module is not None:
            plan = publishing.plan_module_edit(module.id, source, base_revision_id=base_revision_id)
        else:
            plan = publishing.plan_new_module(course.id, source)
    except ServiceError as error:
        return _editor(**keep, error=error, status=422)
    if action == "vorschau" and plan.ok:
        return _preview(plan, module=module, course=course, message=message)
    return _editor(**keep, plan=plan, status=200 if plan.ok else 422)


@bp.route("/content/module/<module_id>/bearbeiten", methods=["GET", "POST"])
@role_required(*TRAINERS)
def content_edit(module_id: str):
    module = _published_module(module_id)
    if module.is_retired:
        flash("Dieses Modul ist zurückgezogen und kann nicht mehr bearbeitet werden.", "error")
        return redirect(url_for("trainer.content_module", module_id=module.id))
    if request.method == "GET":
        return _editor(source=module.current_revision.source, module=module,
                       base_revision_id=module.current_revision_id)
    return _handle_editor_post(module=module, course=module.course)


@bp.route("/content/kurs/<course_id>/neu", methods=["GET", "POST"])
@role_required(*TRAINERS)
def content_new(course_id: str):
    course = db.get_or_404(Course, course_id)
    ensure_course(course.id)
    if request.method == "GET":
        return _editor(source=publishing.new_module_skeleton(course.id), course=course)
    return _handle_editor_post(module=None, course=course)


@bp.route("/content/hochladen", methods=["POST"])
@role_required(*TRAINERS)
def content_upload():
    """An uploaded .md file opens in the editor, already checked (nothing is published yet)."""
    upload = request.files.get("file")
    course_id = request.form.get("course_id") or None
    if upload is None or not upload.filename:
        flash("Bitte wählen Sie eine Moduldatei (.md) aus.", "error")
        return redirect(url_for("trainer.content"))
    if course_id:
        ensure_course(course_id)
    data = upload.read()
    try:
        plan = publishing.plan_module_upload(upload.filename, data, course_id=course_id)
    except ServiceError as error:
        return refuse(f"„{upload.filename}“ wurde nicht übernommen: {_problem_text(error)}", url_for("trainer.content"))
    ensure_course(plan.course_id)
    module = db.session.get(Module, plan.module_id) if plan.module_id else None
    course = db.session.get(Course, plan.course_id)
    return _editor(source=plan.source, module=module, course=course, plan=plan,
                   base_revision_id=plan.base_revision_id, message=f"Datei {upload.filename} hochgeladen",
                   status=200 if plan.ok else 422)


# --- history, diff, restore ------------------------------------------------------------------


@bp.route("/content/module/<module_id>")
@role_required(*TRAINERS)
def content_module(module_id: str):
    module = _published_module(module_id)
    revisions = publishing.revisions_of(module.id)
    affected = publishing.affected_learners([module.id])[module.id]
    return render_template("trainer/content_module.html", module=module, revisions=revisions, affected=affected)


@bp.route("/content/module/<module_id>/revision/<id:number>")
@role_required(*TRAINERS)
def content_revision(module_id: str, number: int):
    module = _published_module(module_id)
    try:
        revision = publishing.revision_of(module.id, number)
    except ServiceError:
        abort(404)
    return render_template("trainer/content_revision.html", module=module, revision=revision,
                           lines=annotate_lines(revision.source, []))


@bp.route("/content/module/<module_id>/vergleich")
@role_required(*TRAINERS)
def content_diff(module_id: str):
    module = _published_module(module_id)
    old_number = requested_id(request.args, "alt")
    new_number = requested_id(request.args, "neu")
    if old_number is None or new_number is None:
        flash("Bitte wählen Sie zwei Revisionen zum Vergleichen aus.", "error")
        return redirect(url_for("trainer.content_module", module_id=module.id))
    try:
        old = publishing.revision_of(module.id, min(old_number, new_number))
        new = publishing.revision_of(module.id, max(old_number, new_number))
    except ServiceError as error:
        return refuse(error, url_for("trainer.content_module", module_id=module.id))
    layout = "nebeneinander" if request.args.get("ansicht") == "nebeneinander" else "untereinander"
    diff = unified_diff(old.source, new.source)
    rows = side_by_side(old.source, new.source) if layout == "nebeneinander" else None
    return render_template("trainer/content_diff.html", module=module, old=old, new=new, diff=diff,
                           rows=rows, layout=layout)


@bp.route("/content/module/<module_id>/wiederherstellen", methods=["POST"])
@role_required(*TRAINERS)
def content_restore(module_id: str):
    module = _published_module(module_id)
    number = requested_id(request.form, "revision")
    base_revision_id = requested_id(request.form, "base_revision_id")
    if number is None:
        abort(400)
    try:
        revision = publishing.restore_revision(module.id, number, base_revision_id=base_revision_id,
                                               author=current_user, message=request.form.get("message", ""))
    except publishing.ContentProblems as error:
        return _editor(source=error.plan.source, module=module, plan=error.plan,
                       base_revision_id=module.current_revision_id,
                       message=f"Revision {number} wiederhergestellt", error=error, status=422)
    except ServiceError as error:
        return refuse(error, url_for("trainer.content_module", module_id=module.id),
                      category="info" if isinstance(error, publishing.NothingChanged) else "error")
    flash(f"Revision {number} wurde als neue Revision {revision.number} wiederhergestellt und in "
          f"{revision.path} gespeichert.", "success")
    return redirect(url_for("trainer.content_module", module_id=module.id))


# --- course structure ------------------------------------------------------------------------


@bp.route("/content/module/<module_id>/verschieben", methods=["POST"])
@role_required(*TRAINERS)
def content_move(module_id: str):
    module = _published_module(module_id)
    direction = {"hoch": "up", "runter": "down"}.get(request.form.get("richtung", ""), "")
    try:
        publishing.move_module(module.id, direction, author=current_user)
    except ServiceError as error:
        return refuse(_problem_text(error), url_for("trainer.content", _anchor=f"kurs-{module.course_id}"))
    flash(f"„{module.title}“ steht jetzt an Position {module.position}. course.yml und die Positionen der "
          f"Module wurden gespeichert.", "success")
    return redirect(url_for("trainer.content", _anchor=f"kurs-{module.course_id}"))


@bp.route("/content/module/<module_id>/zurueckziehen", methods=["GET", "POST"])
@role_required(*TRAINERS)
def content_retire(module_id: str):
    module = _published_module(module_id)
    affected = publishing.affected_learners([module.id])[module.id]
    if request.method == "GET" or module.is_retired:
        return render_template("trainer/content_retire.html", module=module, affected=affected, error=None)
    try:
        publishing.retire_module(module.id, reason=request.form.get("reason", ""), author=current_user)
    except ServiceError as error:
        return render_template("trainer/content_retire.html", module=module, affected=affected,
                               error=error, reason=request.form.get("reason", "")), 422
    flash(f"„{module.title}“ ist zurückgezogen: Neue Teilnehmende sehen es nicht mehr. Fortschritt und "
          f"Zertifikate bleiben unverändert; die Datei bleibt in content/ (in course.yml unter „retired:“).",
          "success")
    return redirect(url_for("trainer.content", _anchor=f"kurs-{module.course_id}"))


def _problem_text(error: ServiceError) -> str:
    if isinstance(error, publishing.ContentProblems):
        return error.message + " " + "; ".join(str(problem) for problem in error.problems)
    return error.message


# --- images and whole courses ----------------------------------------------------------------


@bp.route("/content/kurs/<course_id>/bilder", methods=["GET", "POST"])
@role_required(*TRAINERS)
def content_images(course_id: str):
    course = db.get_or_404(Course, course_id)
    ensure_course(course.id)
    if request.method == "POST":
        upload = request.files.get("image")
        if upload is None or not upload.filename:
            flash("Bitte wählen Sie ein Bild aus.", "error")
            return redirect(url_for("trainer.content_images", course_id=course.id))
        try:
            result = publishing.upload_image(course.id, upload.filename, upload.read(), author=current_user)
        except ServiceError as error:
            return refuse(_problem_text(error), url_for("trainer.content_images", course_id=course.id))
        if result.is_new:
            flash(f"Bild „{result.name}“ gespeichert ({result.width} × {result.height} Pixel, Metadaten entfernt). "
                  f"In einem Modul einbinden mit: {result.markdown}", "success")
        else:
            flash(f"Das Bild „{result.name}“ ist bereits genau so vorhanden.", "info")
        return redirect(url_for("trainer.content_images", course_id=course.id))
    folder = publishing.course_folder(course.id)
    return render_template("trainer/content_images.html", course=course, folder=folder,
                           images=publishing.course_images(course.id))


@bp.route("/content/bild/<path:path>")
@role_required(*TRAINERS)
def content_image(path: str):
    """An image from the content folder, for previews and the image list (trainers only)."""
    if not _IMAGE_PATH.match(path):
        abort(404)
    allowed = my_course_ids()
    if allowed is not None and path.split("/", 1)[0] not in {publishing.course_folder(c) for c in allowed}:
        abort(403)
    root = publishing.content_root().resolve()
    target = (root / path).resolve()
    if root not in target.parents or not target.is_file():
        abort(404)
    mime_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    response = Response(target.read_bytes(), mimetype=mime_type)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.route("/content/zip", methods=["POST"])
@role_required(*TRAINERS)
def content_zip():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Bitte wählen Sie eine ZIP-Datei mit einem Kursordner aus.", "error")
        return redirect(url_for("trainer.content"))
    data = upload.read()
    message = request.form.get("message", "")
    if request.form.get("action") == "veroeffentlichen":
        try:
            plan = publishing.publish_course_zip(upload.filename, data, author=current_user, message=message)
        except publishing.ContentProblems as error:
            return render_template("trainer/content_zip.html", plan=error.plan, error=error, message=message), 422
        except CourseNotAssigned:
            raise  # the 403 page
        except ServiceError as error:
            return refuse(error, url_for("trainer.content"))
        flash(f"Kurs „{plan.course_id}“ aus „{upload.filename}“ übernommen: {len(plan.revisions)} neue "
              f"Modulrevision(en), {len(plan.files)} Datei(en) in {plan.folder}/ geschrieben"
              f"{f', {len(plan.removed)} entfernt' if plan.removed else ''}.", "success")
        return redirect(url_for("trainer.content", _anchor=f"kurs-{plan.course_id}"))
    plan = publishing.plan_course_zip(upload.filename, data)
    if plan.course_id and db.session.get(Course, plan.course_id) is not None:
        ensure_course(plan.course_id)  # a new course is the uploading trainer's; an existing one must be
    return render_template("trainer/content_zip.html", plan=plan, error=None, message=message), \
        200 if plan.ok else 422
