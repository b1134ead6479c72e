"""Trainer area: schedule, edit and cancel workshops; record attendance by checklist or CSV list."""
from __future__ import annotations

import base64
import binascii
import zlib

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from namalms.formats.attendance_csv import MAX_BYTES
from namalms.extensions import db
from namalms.models import FORMATS, Workshop
from namalms.services import ServiceError
from namalms.services import workshops as service
from namalms.services.trainer_courses import CourseNotAssigned
from namalms.trainer.blueprint import bp, ensure_course, my_course_ids
from namalms.pagination import requested_page
from namalms.unit_of_work import refuse
from namalms.web import requested_ids, role_required

# The confirmation form carries the uploaded file itself (compressed), so what is saved is
# exactly what was previewed, re-read and re-matched – no state kept on the server. Form fields
# are capped by Flask (MAX_FORM_MEMORY_SIZE, 500 kB); a list that does not fit is chosen again.
CARRY_LIMIT = 400_000
NAMES_SHOWN = 8


class WorkshopForm(FlaskForm):
    target = SelectField("Modul oder Kurs", validate_choice=False)
    title = StringField("Titel", render_kw={"maxlength": service.MAX_TITLE})
    date = StringField("Datum", render_kw={"type": "date"})
    start_time = StringField("Beginn (Uhrzeit)", render_kw={"type": "time"})
    end_time = StringField("Ende (Uhrzeit)", render_kw={"type": "time"})
    end_date = StringField("Enddatum", render_kw={"type": "date"})
    duration = StringField("oder Dauer in Minuten", render_kw={"inputmode": "numeric", "pattern": "[0-9]*"})
    format = RadioField("Format", choices=[SelectChoice(k, v) for k, v in FORMATS.items()], default="online",
                        validate_choice=False)
    location = StringField("Ort bzw. Zugangslink", render_kw={"maxlength": service.MAX_LOCATION})
    capacity = StringField("Plätze", render_kw={"inputmode": "numeric", "pattern": "[0-9]*"})
    description = TextAreaField("Beschreibung", render_kw={"rows": 5, "maxlength": service.MAX_DESCRIPTION})

    def draft(self) -> service.WorkshopDraft:
        return service.WorkshopDraft(**{name: (getattr(self, name).data or "") for name in (
            "target", "title", "description", "date", "start_time", "end_date", "end_time", "duration", "format",
            "location", "capacity")})


def target_choices() -> list[SelectChoice]:
    return [SelectChoice("", "– bitte wählen –")] + [
        SelectChoice(value, label, optgroup=course) for course, options in service.target_choices(my_course_ids())
        for value, label in options]


def _show_error(form: WorkshopForm, error: ServiceError) -> None:
    target = getattr(form, error.field, None) if error.field else None
    if target is not None and hasattr(target, "errors"):
        target.errors = list(target.errors) + [error.message]
    else:
        form.form_errors.append(error.message)


def _names(users) -> str:
    names = [u.name for u in users]
    if len(names) > NAMES_SHOWN:
        return ", ".join(names[:NAMES_SHOWN]) + f" und {len(names) - NAMES_SHOWN} weitere"
    return ", ".join(names)


def outcome_message(workshop: Workshop, outcome: service.AttendanceOutcome) -> str:
    """The confirmation: who was recorded, who completed the module, who received a certificate now."""
    if not outcome.recorded:
        return "Keine neuen Teilnahmen: Alle ausgewählten Personen waren bereits eingetragen."
    count = len(outcome.recorded)
    parts = [f"{count} {'Teilnahme' if count == 1 else 'Teilnahmen'} eingetragen: {_names(outcome.recorded)}."]
    if outcome.already:
        parts.append(f"Bereits eingetragen waren: {_names(outcome.already)}.")
    if outcome.completed and workshop.module is not None:
        parts.append(f"Modul „{workshop.module.title}“ damit abgeschlossen: {_names(outcome.completed)}.")
    if outcome.certificates:
        issued = [f"{c.user.name} ({c.definition.title})" for c in outcome.certificates]
        shown = issued[:NAMES_SHOWN] + ([f"{len(issued) - NAMES_SHOWN} weitere"] if len(issued) > NAMES_SHOWN else [])
        parts.append("Zertifikat erhalten: " + ", ".join(shown) + ".")
    return " ".join(parts)


# --- list, schedule, edit, cancel -------------------------------------------------------------------

@bp.route("/workshops")
@role_required("trainer", "admin")
def workshops():
    upcoming, past = service.overview(past_page=requested_page(request.args), course_ids=my_course_ids())
    return render_template("trainer/workshops.html", upcoming=upcoming, past=past)


@bp.route("/workshops/new", methods=["GET", "POST"])
@role_required("trainer", "admin")
def workshop_new():
    form = WorkshopForm()
    form.target.choices = target_choices()
    if request.method == "GET":
        if request.args.get("modul"):
            form.target.data = f"module:{request.args['modul']}"
        elif request.args.get("kurs"):
            form.target.data = f"course:{request.args['kurs']}"
    if form.validate_on_submit():
        try:
            workshop = service.schedule_workshop(form.draft(), actor=current_user)
        except CourseNotAssigned:
            raise  # a 403 page, not a form error: the form never offers such a course
        except ServiceError as error:
            _show_error(form, error)
        else:
            flash(f"Workshop „{workshop.title}“ geplant.", "success")
            return redirect(url_for("trainer.workshop", workshop_id=workshop.id))
    return render_template("trainer/workshop_form.html", form=form, workshop=None), 422 if form.errors else 200


@bp.route("/workshops/<id:workshop_id>/edit", methods=["GET", "POST"])
@role_required("trainer", "admin")
def workshop_edit(workshop_id: int):
    workshop = db.get_or_404(Workshop, workshop_id)
    ensure_course(workshop.course_id)
    if workshop.is_cancelled:
        flash("Ein abgesagter Workshop kann nicht mehr bearbeitet werden.", "error")
        return redirect(url_for("trainer.workshop", workshop_id=workshop.id))
    form = WorkshopForm(data=vars(service.draft_from(workshop)) if request.method == "GET" else None)
    form.target.choices = target_choices()
    if form.validate_on_submit():
        try:
            changed = service.update_workshop(workshop, form.draft(), actor=current_user)
        except CourseNotAssigned:
            raise  # a 403 page, not a form error: the form never offers such a course
        except ServiceError as error:
            _show_error(form, error)
        else:
            if changed:
                flash(f"Workshop gespeichert. Geändert: {', '.join(changed)}.", "success")
            else:
                flash("Keine Änderungen – der Workshop ist unverändert.", "info")
            return redirect(url_for("trainer.workshop", workshop_id=workshop.id))
    return (render_template("trainer/workshop_form.html", form=form, workshop=workshop),
            422 if form.errors else 200)


@bp.route("/workshops/<id:workshop_id>/cancel", methods=["GET", "POST"])
@role_required("trainer", "admin")
def workshop_cancel(workshop_id: int):
    workshop = db.get_or_404(Workshop, workshop_id)
    ensure_course(workshop.course_id)
    if request.method == "POST":
        try:
            service.cancel_workshop(workshop, actor=current_user, reason=request.form.get("reason", ""))
        except ServiceError as error:
            return refuse(error, url_for("trainer.workshop", workshop_id=workshop.id))
        flash(f"Workshop „{workshop.title}“ abgesagt. Teilnehmende sehen ihn nicht mehr.", "success")
        return redirect(url_for("trainer.workshop", workshop_id=workshop.id))
    return render_template("trainer/workshop_cancel.html", workshop=workshop,
                           attended=service.attendance_count(workshop))


# --- attendance -----------------------------------------------------------------------------------------

@bp.route("/workshops/<id:workshop_id>")
@role_required("trainer", "admin")
def workshop(workshop_id: int):
    workshop = db.get_or_404(Workshop, workshop_id)
    ensure_course(workshop.course_id)
    search = request.args.get("q", "").strip()
    entries = service.roster(workshop, search=search)
    return render_template("trainer/workshop.html", workshop=workshop, entries=entries, search=search,
                           sources=service.SOURCES)


@bp.route("/workshops/<id:workshop_id>/attendance", methods=["POST"])
@role_required("trainer", "admin")
def workshop_attendance(workshop_id: int):
    workshop = db.get_or_404(Workshop, workshop_id)
    ensure_course(workshop.course_id)
    ids = requested_ids(request.form, "user_id")
    if not ids:
        flash("Bitte kreuzen Sie mindestens eine Person an, die teilgenommen hat.", "error")
        return redirect(url_for("trainer.workshop", workshop_id=workshop.id))
    try:
        outcome = service.record_attendance(workshop, ids, actor=current_user, source="checklist")
    except ServiceError as error:
        return refuse(error, url_for("trainer.workshop", workshop_id=workshop.id))
    flash(outcome_message(workshop, outcome), "success" if outcome.recorded else "info")
    return redirect(url_for("trainer.workshop", workshop_id=workshop.id))


def _carry(data: bytes) -> str:
    """The file for the confirmation form: compressed and base64, or "" when it is too big to carry."""
    packed = base64.b64encode(zlib.compress(data, 9)).decode("ascii")
    return packed if len(packed) <= CARRY_LIMIT else ""


def _uncarry(packed: str) -> bytes | None:
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(base64.b64decode(packed, validate=True), MAX_BYTES + 1)
    except (binascii.Error, ValueError, zlib.error):
        return None
    return data if len(data) <= MAX_BYTES and inflater.eof else None


def _uploaded() -> tuple[bytes | None, str]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None, ""
    return upload.read(MAX_BYTES + 1), upload.filename


def _render_preview(workshop: Workshop, preview: service.ImportPreview, data: bytes, filename: str, *,
                    changed: str = ""):
    return render_template("trainer/workshop_import.html", workshop=workshop, preview=preview, filename=filename,
                           carried=_carry(data), changed=changed)


@bp.route("/workshops/<id:workshop_id>/import", methods=["POST"])
@role_required("trainer", "admin")
def workshop_import(workshop_id: int):
    """Step 1: read the list and show what it would record. Nothing is saved here."""
    workshop = db.get_or_404(Workshop, workshop_id)
    ensure_course(workshop.course_id)
    data, filename = _uploaded()
    back = redirect(url_for("trainer.workshop", workshop_id=workshop.id, _anchor="csv-import"))
    if data is None:
        flash("Bitte wählen Sie eine CSV-Datei mit der Teilnahmeliste aus.", "error")
        return back
    if len(data) > MAX_BYTES:
        flash("Die Datei ist größer als 2 MB. Bitte laden Sie nur die Teilnahmeliste hoch (höchstens 5.000 Zeilen).",
              "error")
        return back
    try:
        preview = service.preview_import(workshop, data)
    except ServiceError as error:
        return refuse(f"„{filename}“ konnte nicht gelesen werden: {error.message}", back.location)
    return _render_preview(workshop, preview, data, filename)


@bp.route("/workshops/<id:workshop_id>/import/confirm", methods=["POST"])
@role_required("trainer", "admin")
def workshop_import_confirm(workshop_id: int):
    """Step 2: read the same list again and record everyone it matches, all in one transaction."""
    workshop = db.get_or_404(Workshop, workshop_id)
    ensure_course(workshop.course_id)
    filename = request.form.get("filename", "")[:200]
    digest = request.form.get("sha256", "")
    back = redirect(url_for("trainer.workshop", workshop_id=workshop.id, _anchor="csv-import"))
    if request.form.get("content"):
        data = _uncarry(request.form["content"])
    else:
        data, uploaded_name = _uploaded()
        filename = filename or uploaded_name
    try:
        _, outcome = service.import_attendance(workshop, data, expected=request.form.get("expected", ""),
                                               sha256=digest, actor=current_user, filename=filename)
    except service.ImportChanged as changed:
        return _render_preview(workshop, changed.preview, data, filename, changed=changed.message), 409
    except ServiceError as error:
        if error.field == "file":
            return refuse(error, back.location)
        return refuse(f"Es wurde nichts gespeichert: {error.message}", back.location)
    flash(outcome_message(workshop, outcome), "success" if outcome.recorded else "info")
    return redirect(url_for("trainer.workshop", workshop_id=workshop.id))
