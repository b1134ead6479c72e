"""Public endpoints without login: health check and content images."""
from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, jsonify
from sqlalchemy import text

from namalms.extensions import db, read_only
from namalms.models import Asset

bp = Blueprint("public", __name__)


@bp.route("/healthz")
@read_only
def healthz():
    """200 when the database answers, 503 otherwise (for load balancers and monitoring)."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any database failure means "not healthy", never a 500 page
        return jsonify(status="unavailable"), 503
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


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
