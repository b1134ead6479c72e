"""Public certificate verification: anyone can check a code, no login needed."""
from __future__ import annotations

from flask import Blueprint, Flask, Response, jsonify, redirect, render_template, request, url_for

from namalms.extensions import read_only
from namalms.formatting import format_long_date
from namalms.models import REVOCATION_CATEGORIES
from namalms.ratelimit import throttled
from namalms.services import certificates as certificate_service

bp = Blueprint("verify", __name__, url_prefix="/verify")


@bp.route("", methods=["GET"])
@bp.route("/", methods=["GET"])
@read_only
@throttled("VERIFY_RATE_LIMIT", methods=None)
def form():
    code = request.args.get("code", "").strip()
    number = request.args.get("number", "").strip()
    surname = request.args.get("surname", "").strip()
    if code:
        # Accept a pasted full URL as well as the bare code.
        code = code.rstrip("/").rsplit("/", 1)[-1]
        return redirect(url_for("verify.show", code=code))
    if number or surname:
        if not number or not surname:
            return render_template("verify/form.html", number=number, surname=surname,
                                   error="Bitte geben Sie die Zertifikatsnummer und den Nachnamen an."), 400
        certificate = certificate_service.find_by_number_and_surname(number, surname)
        if certificate is None:
            # The same answer whether the number exists or not: a number alone reveals nobody.
            return render_template("verify/form.html", number=number, surname=surname,
                                   error="Zu dieser Zertifikatsnummer und diesem Nachnamen gibt es kein "
                                         "Zertifikat. Prüfen Sie die Schreibweise."), 404
        return redirect(url_for("verify.show", code=certificate.verification_code))
    return render_template("verify/form.html")


@bp.route("/public-key.pem")
def public_key():
    return Response(certificate_service.public_key_pem(), mimetype="application/x-pem-file")


@bp.route("/<code>.json")
@read_only
@throttled("VERIFY_RATE_LIMIT", methods=None)
def show_json(code: str):
    certificate = certificate_service.find_by_code(code)
    if certificate is None:
        return jsonify(error="not_found", message="Kein Zertifikat mit diesem Prüfcode gefunden."), 404
    response = jsonify(certificate_service.document_for(certificate))
    response.headers["Content-Disposition"] = f'inline; filename="{certificate.number}.json"'
    return response


@bp.route("/<code>")
@read_only
@throttled("VERIFY_RATE_LIMIT", methods=None)
def show(code: str):
    certificate = certificate_service.find_by_code(code)
    if certificate is None:
        return render_template("verify/not_found.html", code=code), 404
    snapshot = certificate.snapshot
    return render_template(
        "verify/show.html", certificate=certificate, snapshot=snapshot,
        status=certificate_service.status_of(certificate), successor=certificate_service.successor_of(certificate),
        issued_on=format_long_date(snapshot["issued_at"]), categories=REVOCATION_CATEGORIES,
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
