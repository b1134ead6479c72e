"""Programme office (admin): edit Datenschutzerklärung, Impressum and Erklärung zur Barrierefreiheit.

The same checked path as modules: "Prüfen" shows every problem and a preview without saving
anything; "Veröffentlichen" publishes a new revision and writes ``content/seiten/<datei>.md`` back.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from namalms.office.blueprint import bp
from namalms.services import ServiceError
from namalms.services.publishing import pages as service
from namalms.services.publishing.problems import ContentProblems
from namalms.unit_of_work import discard_request
from namalms.web import requested_id, role_required


@bp.route("/pages")
@role_required("admin")
def pages():
    """The three pages with their date, last revision and how many placeholders are still open."""
    return render_template("office/pages.html", titles=service.PAGE_TITLES,
                           revisions={page_id: service.current_page(page_id) for page_id in service.PAGE_TITLES})


@bp.route("/pages/<page_id>", methods=["GET", "POST"])
@role_required("admin")
def edit_page(page_id: str):
    """Show a page's source; check it (preview, nothing saved) or publish it."""
    if page_id not in service.PAGE_TITLES:
        abort(404)
    current = service.current_page(page_id)
    if request.method == "GET":
        return render_template("office/page_edit.html", page_id=page_id, title=service.PAGE_TITLES[page_id],
                               current=current, source=current.source if current else "", plan=None, message="",
                               base_revision_id=current.id if current else "")
    source = request.form.get("source", "")
    message = request.form.get("message", "")
    base = requested_id(request.form, "base_revision_id")
    plan, error = None, None
    if request.form.get("action") == "publish":
        try:
            revision = service.publish_page_source(page_id, source, base_revision_id=base, author=current_user,
                                                   message=message)
        except ContentProblems as problems:
            plan, error = problems.plan, problems
        except ServiceError as refused:
            error = refused
        else:
            flash(f"„{service.PAGE_TITLES[page_id]}“ ist veröffentlicht (Revision {revision.number}).", "success")
            return redirect(url_for("office.pages"))
    if plan is None:
        plan = service.plan_page_edit(page_id, source)
    discard_request()  # checking or a refusal saves nothing
    status = 422 if error is not None or not plan.ok else 200
    return render_template("office/page_edit.html", page_id=page_id, title=service.PAGE_TITLES[page_id],
                           current=current, source=source, plan=plan, message=message, error=error,
                           base_revision_id=base or ""), status
