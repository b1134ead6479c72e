"""Trainer area: a course's learners × modules, with who is one step from a certificate."""
from __future__ import annotations

from flask import render_template, request, url_for

from namalms.services import learner_matrix as service
from namalms.pagination import requested_page
from namalms.trainer.blueprint import bp, my_course_ids
from namalms.web import role_required


@bp.route("/learners")
@role_required("trainer", "admin")
def learners():
    filters = {
        "kurs": request.args.get("kurs", ""),
        "region": request.args.get("region", ""),
        "q": request.args.get("q", "").strip()[:200],
        "nur": "1" if request.args.get("nur") == "1" else "",
        "sort": request.args.get("sort", "name") if request.args.get("sort") in service.SORTS else "name",
    }
    matrix = service.learner_matrix(
        filters["kurs"] or None, region_id=filters["region"], search=filters["q"],
        one_step_only=bool(filters["nur"]), sort=filters["sort"], page=requested_page(request.args),
        course_ids=my_course_ids())
    if matrix.course is not None:
        filters["kurs"] = matrix.course.id

    def link(**changes) -> str:
        """This page with some filters changed; empty ones are left out of the address."""
        params = {**filters, "page": matrix.rows.page, **changes}
        return url_for("trainer.learners", **{k: v for k, v in params.items() if v not in ("", None, 1)})

    page_args = {key: value for key, value in filters.items() if value}
    return render_template("trainer/learners.html", matrix=matrix, filters=filters, sorts=service.SORTS, link=link,
                           page_args=page_args)
