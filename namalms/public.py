"""Public endpoints without login: health check, content images and the site's own pages
(Datenschutzerklärung, Impressum, Erklärung zur Barrierefreiheit from ``content/seiten/``)."""
from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, jsonify, render_template

from namalms import database
from namalms.extensions import db, read_only
from namalms.models import Asset
from namalms.services.content_sync import latest_revision

bp = Blueprint("public", __name__)


@bp.route("/healthz")
def healthz():
    """200 when the database answers, 503 otherwise (for load balancers and monitoring) – within
    HEALTH_CHECK_TIMEOUT seconds even when the database hangs (see namalms.database)."""
    status = database.probe()
    if status != "ok":
        return jsonify(status="unavailable", database=status), 503
    return jsonify(status="ok")


@bp.route("/assets/<sha>.<ext>")
@read_only
def asset(sha: str, ext: str):
    """Content images, addressed by hash: immutable, so browsers may cache them for a year."""
    if len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha):
        abort(404)
    item = db.get_or_404(Asset, sha)
    response = Response(item.data, mimetype=item.mime_type)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@bp.route("/datenschutz", defaults={"page_id": "datenschutz"})
@bp.route("/impressum", defaults={"page_id": "impressum"})
@bp.route("/barrierefreiheit", defaults={"page_id": "barrierefreiheit"})
@read_only
def page(page_id: str):
    """A page of the site, as last published (``flask content sync`` or the office's editor)."""
    revision = latest_revision("page", page_id)
    if revision is None:
        abort(404)
    return render_template("page.html", revision=revision, title=revision.meta.get("title", ""),
                           stand=revision.meta.get("stand"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
