"""Public reference pages: the glossary and the work aids (Vorlagen) with their downloads."""
from __future__ import annotations

from functools import lru_cache

from flask import Blueprint, Flask, Response, abort, render_template, url_for

from namalms.extensions import read_only
from namalms.formats.workaids import workaid_docx, workaid_xlsx
from namalms.services import reference

bp = Blueprint("reference", __name__)

DOWNLOADS = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel-Tabelle"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word-Dokument"),
}


@bp.route("/glossar")
@read_only
def glossary():
    return render_template("reference/glossary.html", terms=reference.glossary_terms())


@bp.route("/vorlagen/")
@read_only
def workaids():
    return render_template("reference/workaids.html", workaids=reference.workaids())


@bp.route("/vorlagen/<workaid_id>")
@read_only
def workaid(workaid_id: str):
    revision = reference.workaid(workaid_id) or abort(404)
    return render_template("reference/workaid.html", revision=revision, downloads=DOWNLOADS)


@bp.route("/vorlagen/<workaid_id>.<kind>")
@read_only
def workaid_file(workaid_id: str, kind: str):
    if kind not in DOWNLOADS:
        abort(404)
    revision = reference.workaid(workaid_id) or abort(404)
    source_url = url_for("reference.workaid", workaid_id=revision.key, _external=True)
    data = _built(revision.id, kind, revision.meta.get("title", revision.key), revision.meta.get("summary", ""),
                  revision.source.split("---", 2)[-1], revision.html, source_url)
    response = Response(data, mimetype=DOWNLOADS[kind][0])
    response.headers["Content-Disposition"] = f'attachment; filename="{revision.key}.{kind}"'
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@lru_cache(maxsize=64)
def _built(revision_id: int, kind: str, title: str, summary: str, body: str, html: str, source_url: str) -> bytes:
    """A revision is immutable, so its files are built once per process."""
    if kind == "xlsx":
        return workaid_xlsx(title, summary, body, source_url=source_url)
    return workaid_docx(title, summary, html, source_url=source_url)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
