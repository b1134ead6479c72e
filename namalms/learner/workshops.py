"""Workshop dates for learners: the listing on course and module pages and the .ics download."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Response, abort, current_app, request, url_for
from flask_login import current_user, login_required

from namalms.formatting import format_span
from namalms.extensions import db
from namalms.learner.views import bp
from namalms.models import Workshop
from namalms.services import workshops as workshop_service


@dataclass
class WorkshopListing:
    workshops: list[Workshop]
    show_details: bool  # place, link and calendar entry: for the course's learners and staff


@bp.app_template_filter("workshop_when")
def workshop_when(workshop: Workshop) -> str:
    """„Dienstag, 14.04.2026, 10:00–12:30 Uhr“ in Europe/Berlin (also used in the trainer area)."""
    return format_span(workshop.starts_at, workshop.ends_at)


@bp.app_template_global()
def upcoming_workshops(course_id: str, module_id: str | None = None, enrolled: bool | None = None) -> WorkshopListing:
    """For learner/_workshops.html: the upcoming workshops of a course (or of one module);
    ``enrolled``: whether the user is enrolled in the course, when the page already knows."""
    user = current_user if current_user.is_authenticated else None
    return WorkshopListing(workshop_service.upcoming_workshops(course_id, module_id),
                           workshop_service.may_see_details(user, course_id, enrolled=enrolled))


def calendar_host() -> str:
    """The host part of calendar UIDs: the public address if configured, else this request's host."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    return (urlsplit(base).hostname if base else None) or request.host.split(":")[0]


@bp.route("/workshops/<id:workshop_id>.ics")
@login_required
def workshop_ics(workshop_id: int):
    workshop = db.get_or_404(Workshop, workshop_id)
    if not workshop_service.may_see_details(current_user, workshop.course_id):
        abort(403)
    if workshop.module_id:
        page = url_for("learner.module", module_id=workshop.module_id, _external=True)
    else:
        page = url_for("learner.course", course_id=workshop.course_id, _external=True)
    body = workshop_service.calendar_for(workshop, host=calendar_host(), page_url=page)
    return Response(body, content_type="text/calendar; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="nama-workshop-{workshop.id}.ics"',
        "Cache-Control": "private, no-store",
    })
