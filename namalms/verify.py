"""Public certificate verification: anyone can check a code, no login needed.

The page and its JSON check the certificate's stored signature against the key it names before
they say anything about it; a certificate whose stored data does not match its signature is
shown as an integrity error (and logged), never as valid. The public keys are published as a
key set at a stable address, so every certificate ever issued can be checked independently.
"""
from __future__ import annotations

import re

from flask import Blueprint, Flask, Response, abort, jsonify, redirect, render_template, request, url_for

from namalms import keys
from namalms.extensions import read_only
from namalms.formatting import format_long_date
from namalms.models import REVOCATION_CATEGORIES
from namalms.page_memo import kept_page
from namalms.ratelimit import throttled
from namalms.services import certificates as certificate_service

bp = Blueprint("verify", __name__, url_prefix="/verify")
KEY_ID = re.compile(r"^[0-9a-f]{16}$")
INTEGRITY_STATUS = 409  # the stored certificate conflicts with its own signature


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
        if code:
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
    """The active key (the one that signs new certificates) as PEM."""
    return Response(certificate_service.public_key_pem(), mimetype="application/x-pem-file")


@bp.route("/keys.json")
def key_set():
    """Every public key this installation ever signed with, as a JSON Web Key Set (``kid`` =
    the key id a certificate names). Old keys stay listed after a rotation."""
    response = jsonify(keys.ring().jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/keys/<kid>.pem")
def key_pem(kid: str):
    """One public key by its id, as PEM (the certificate page links the key that signed it)."""
    pem = certificate_service.public_key_pem(kid) if KEY_ID.match(kid) else None
    if pem is None:
        abort(404)
    return Response(pem, mimetype="application/x-pem-file")


def integrity_error_page(certificate):
    """The German page for a certificate whose stored data fails its signature check."""
    return render_template("verify/integrity_error.html", certificate=certificate), INTEGRITY_STATUS


def verification_subject(code: str) -> tuple | None:
    """What a kept verification page depends on: the certificate's stamps and the key ring this
    process holds (re-read when a certificate names a key it does not know); None: unknown code."""
    stamps = certificate_service.verification_stamps(code)
    return None if stamps is None else (*stamps, id(keys.signing_keys().ring))


@bp.route("/<code>.json")
@read_only
@throttled("VERIFY_RATE_LIMIT", methods=None)
@kept_page(subject=verification_subject)
def show_json(code: str):
    certificate = certificate_service.find_by_code(code)
    if certificate is None:
        return jsonify(error="not_found", message="Kein Zertifikat mit diesem Prüfcode gefunden."), 404
    if not certificate_service.integrity_of(certificate).ok:
        return jsonify(error="integrity_error", number=certificate.number,
                       message="Integritätsfehler: Die gespeicherten Daten dieses Zertifikats stimmen nicht mit "
                               "ihrer Signatur überein. Das Zertifikat kann nicht bestätigt werden."), INTEGRITY_STATUS
    response = jsonify(certificate_service.document_for(certificate))
    response.headers["Content-Disposition"] = f'inline; filename="{certificate.number}.json"'
    return response


@bp.route("/<code>")
@read_only
@throttled("VERIFY_RATE_LIMIT", methods=None)
@kept_page(subject=verification_subject)
def show(code: str):
    certificate = certificate_service.find_by_code(code)
    if certificate is None:
        return render_template("verify/not_found.html", code=code), 404
    if not certificate_service.integrity_of(certificate).ok:
        return integrity_error_page(certificate)
    snapshot = certificate.snapshot
    return render_template(
        "verify/show.html", certificate=certificate, snapshot=snapshot,
        status=certificate_service.status_of(certificate), successor=certificate_service.successor_of(certificate),
        issued_on=format_long_date(snapshot["issued_at"]), categories=REVOCATION_CATEGORIES,
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
