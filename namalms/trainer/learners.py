"""Trainer area: a course's learners × modules, with who is one step from a certificate."""
from __future__ import annotations

from flask import render_template, request, url_for

from namalms.services import workshops as service
from namalms.trainer.blueprint import bp
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
        one_step_only=bool(filters["nur"]), sort=filters["sort"], page=request.args.get("seite", 1, type=int))
    if matrix.course is not None:
        filters["kurs"] = matrix.course.id

    def link(**changes) -> str:
        """This page with some filters changed; empty ones are left out of the address."""
        params = {**filters, "seite": matrix.page, **changes}
        return url_for("trainer.learners", **{k: v for k, v in params.items() if v not in ("", None, 1)})

    return render_template("trainer/learners.html", matrix=matrix, filters=filters, sorts=service.SORTS, link=link)
