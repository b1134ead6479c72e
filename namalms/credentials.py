"""Public Open Badges 3.0 endpoints: what a verifier without access to our database needs.

    /.well-known/did.json              DID document of did:web:<public host> (issuer keys)
    /did.json                          the same, for a public base URL with a path
    /credentials/status/<n>            signed Bitstring Status List (revocation), list n
    /ob3/achievements/<definition>     the Achievement a certificate stands for
    /verify/<code>/openbadge.json      the signed credential of a valid certificate (linked from
                                       the verification page the PDF's QR code opens)
"""
from __future__ import annotations

import json

from flask import Blueprint, Flask, Response, abort

from namalms.extensions import db, read_only
from namalms.models import CertificateDefinition
from namalms.ratelimit import throttled
from namalms.services import certificates as certificate_service
from namalms.services import open_badges

bp = Blueprint("credentials", __name__)


def json_ld(document: dict, *, mimetype: str = "application/ld+json", max_age: int = 300,
            filename: str | None = None) -> Response:
    """A JSON-LD answer any verifier may fetch (CORS open: it holds nothing secret)."""
    response = Response(json.dumps(document, ensure_ascii=False, indent=2), mimetype=mimetype)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/.well-known/did.json")
@bp.route("/did.json")
@read_only
def did_document():
    return json_ld(open_badges.did_document(), mimetype="application/did+ld+json", max_age=3600)


@bp.route("/credentials/status/<int(max=100000):list_number>")
@read_only
def status_list(list_number: int):
    if not open_badges.status_list_exists(list_number):
        abort(404)
    # A minute of caching at most: a revocation must show soon, wherever the list is read.
    return json_ld(open_badges.status_list_credential(list_number), mimetype="application/vc+ld+json", max_age=60)


@bp.route("/ob3/achievements/<definition_id>")
@read_only
def achievement(definition_id: str):
    definition = db.session.get(CertificateDefinition, definition_id[:64])
    if definition is None:
        abort(404)
    return json_ld(open_badges.achievement_document(definition))


@bp.route("/verify/<code>/openbadge.json")
@throttled("VERIFY_RATE_LIMIT", methods=None)
@read_only
def verified_credential(code: str):
    certificate = certificate_service.find_by_code(code)
    if certificate is None or not certificate.is_valid:
        abort(404)
    return json_ld(open_badges.credential_for(certificate), mimetype="application/vc+ld+json", max_age=0,
                   filename=f"{certificate.number}-openbadge.json")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
