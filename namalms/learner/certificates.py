"""A learner's certificates: overview with "Was fehlt mir noch?", detail page, PDF and JSON."""
from __future__ import annotations

import json

from flask import Response, abort, render_template
from flask_login import current_user, login_required

from namalms.formatting import format_date, format_duration, format_long_date
from namalms.learner.module_page import known_unseen
from namalms.learner.views import bp
from namalms.page_memo import kept_page
from namalms.extensions import read_only
from namalms.services import certificates as certificate_service
from namalms.unit_of_work import write_transaction
from namalms.verify import integrity_error_page


def own_certificate(number: str):
    """The certificate with this number, if it belongs to the current user (or they are admin)."""
    certificate = certificate_service.find_by_number(number)
    if certificate is None or certificate.is_holder_deleted:  # an anonymous record has only /verify
        abort(404)
    if certificate.user_id != current_user.id and current_user.role != "admin":
        abort(404)  # not 403: do not confirm that a number exists
    return certificate


def json_download(document: dict, filename: str, *, mimetype: str = "application/json") -> Response:
    """A JSON document of the learner's own, as a file to save (readable, umlauts as they are)."""
    return Response(json.dumps(document, ensure_ascii=False, indent=2), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def sound_certificate(number: str):
    """``own_certificate`` whose stored data still matches its signature; otherwise the view
    answers with the integrity error page instead of handing out the document."""
    certificate = own_certificate(number)
    if not certificate_service.integrity_of(certificate).ok:
        abort(Response(*integrity_error_page(certificate)))
    return certificate


@bp.route("/certificates")
@read_only  # outside login_required: loading the user must not take the write lock either
@kept_page  # outside login_required: a kept page needs no loaded user
@login_required
def certificates():
    data = certificate_service.learner_data(current_user)
    standings = certificate_service.standings(current_user, data=data, for_display=True)
    known_unseen(data)
    return render_template("learner/certificates.html", standings=standings)


@bp.route("/certificates/<number>")
@read_only
@login_required
def certificate(number: str):
    certificate = sound_certificate(number)
    if certificate.user_id == current_user.id and certificate.seen_at is None:
        with write_transaction():  # the first look only: the "new certificate" notice goes
            certificate_service.mark_seen(certificate)
    snapshot = certificate.snapshot
    return render_template("learner/certificate.html", certificate=certificate, snapshot=snapshot,
                           successor=certificate_service.successor_of(certificate),
                           status=certificate_service.status_of(certificate),
                           issued_on=format_long_date(snapshot["issued_at"]), format_duration=format_duration,
                           format_short_date=format_date)


@bp.route("/certificates/<number>.pdf")
@read_only
@kept_page  # outside login_required: a kept page needs no loaded user
@login_required
def certificate_pdf(number: str):
    """The PDF as stored for the certificate's current state; built (and stored) only when the
    certificate is new, or its status or the layout changed since the last download."""
    certificate = sound_certificate(number)
    stamp = certificate_service.stamp_for(certificate)
    state = certificate_service.pdf_state(certificate, stamp)
    filename = f"{certificate.number}{'-' + stamp.word.lower() if stamp else ''}.pdf"
    pdf = certificate_service.stored_pdf(certificate, state)
    if pdf is None:
        from namalms.certificates.pdf import render_certificate_pdf  # fpdf2 is loaded only when needed

        pdf = render_certificate_pdf(certificate.snapshot, stamp=stamp)
        certificate_id = certificate.id
        with write_transaction():
            certificate_service.keep_pdf(certificate_id, state, pdf)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/certificates/<number>.json")
@read_only
@login_required
def certificate_json(number: str):
    certificate = sound_certificate(number)
    return json_download(certificate_service.document_for(certificate), f"{certificate.number}.json")


@bp.route("/certificates/<number>/openbadge.json")
@login_required
def certificate_open_badge(number: str):
    """The certificate as a signed Open Badges 3.0 credential, for wallets and portfolios."""
    from namalms.services import open_badges

    certificate = own_certificate(number)
    return json_download(open_badges.credential_for(certificate), f"{certificate.number}-openbadge.json",
                         mimetype="application/vc+ld+json")
