"""The programme office's API (/api/v1): the certification status for the office's own tooling.

Every route needs `Authorization: Bearer <token>` with a token an admin created (web
/office/tokens or `flask tokens create`). Without a valid, unrevoked token the answer is
401 with a JSON error and `WWW-Authenticate: Bearer`, never data. The learner routes take the
same filters as the page /office/ (q, course, region, district, certificate, status,
enrolled_from, enrolled_to, sort, order) and return exactly the same learners.

    GET /api/v1/learners        JSON, paginated (page, per_page ≤ 500), with total and next link
    GET /api/v1/learners.csv    the export (CSV for German Excel), streamed
    GET /api/v1/learners.xlsx   the same as an Excel workbook
    GET /api/v1/certificates    JSON, paginated; optional status, definition, number
    GET /api/v1/statements      xAPI 1.0.3 statements of all learning progress and certificates,
                                oldest first, paginated; optional since/until (date or ISO time)
"""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Flask, jsonify, request, url_for

from namalms.extensions import csrf
from namalms.models import STATUS_LABELS
from namalms.office.status import csv_response, xlsx_response
from namalms.pagination import MAX_PAGE
from namalms.services import office_queries
from namalms.services import tokens as token_service

bp = Blueprint("api", __name__, url_prefix="/api/v1")
REALM = "namalms"


def init_app(app: Flask) -> None:
    csrf.exempt(bp)  # no cookies, no forms: a bearer token is not sent by a browser on its own
    app.register_blueprint(bp)


# --- authentication -------------------------------------------------------------------------------

def _error(status: int, message: str, **extra):
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


def _unauthorized(message: str, *, invalid: bool):
    response = _error(401, message)
    challenge = f'Bearer realm="{REALM}"'
    if invalid:
        challenge += ', error="invalid_token", error_description="The access token is unknown or revoked"'
    response.headers["WWW-Authenticate"] = challenge
    return response


@bp.before_request
def require_token():
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return _unauthorized("Authentication required: send 'Authorization: Bearer <token>'.", invalid=False)
    token = token_service.authenticate(raw.strip())
    if token is None:
        return _unauthorized("Invalid or revoked API token.", invalid=True)
    token_service.touch(token)
    return None


@bp.after_request
def never_cache(response):
    response.headers["Cache-Control"] = "no-store"
    return response


# --- helpers ----------------------------------------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _positive_int(name: str, default: int) -> int | None:
    """A whole number ≥ 1 from the query string; very large ones are capped (never an overflow)."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw[:12]) < 1:
        return None
    return min(int(raw[:12]), MAX_PAGE)


def _paging() -> tuple[int, int, dict[str, str]]:
    """page ≥ 1 and per_page ≥ 1 (values above 500 are capped at 500, as the answer shows)."""
    errors = {}
    page = _positive_int("page", 1)
    if page is None:
        errors["page"] = "page must be a positive integer"
    per_page = _positive_int("per_page", office_queries.PAGE_SIZE)
    if per_page is None:
        errors["per_page"] = f"per_page must be an integer from 1 to {office_queries.MAX_PER_PAGE}"
    return page or 1, min(per_page or office_queries.PAGE_SIZE, office_queries.MAX_PER_PAGE), errors


def _page_links(endpoint: str, page: int, per_page: int, has_next: bool) -> dict[str, str | None]:
    args = {key: value for key, value in request.args.items() if key not in ("page", "per_page")}

    def link(number: int) -> str:
        return url_for(endpoint, **args, page=number, per_page=per_page, _external=True)

    return {"next": link(page + 1) if has_next else None, "previous": link(page - 1) if page > 1 else None}


def _learner_json(learner: office_queries.LearnerStatus) -> dict:
    return {
        "id": learner.id,
        "name": learner.name,
        "email": learner.email,
        "municipality": learner.municipality,
        "district": {"id": learner.district_id, "name": learner.district} if learner.district_id else None,
        "region": {"id": learner.region_id, "name": learner.region} if learner.region_id else None,
        "last_activity_at": _iso(learner.last_activity_at),
        "first_enrolled_at": _iso(learner.first_enrolled_at),
        "status": learner.statuses,
        "courses": [{"id": c.course_id, "title": c.title, "enrolled_at": _iso(c.enrolled_at),
                     "required_done": c.done, "required_total": c.total} for c in learner.courses],
        "certificates": [{"number": c.number, "definition_id": c.definition_id, "definition": c.title,
                          "issued_at": _iso(c.issued_at), "status": c.status} for c in learner.certificates],
        "missing": [{"definition_id": o.definition_id, "definition": o.title, "missing_count": o.missing_count,
                     "missing": o.missing} for o in learner.open],
    }


# --- routes -------------------------------------------------------------------------------------------

@bp.get("/learners")
def learners():
    filters, errors = office_queries.parse_filters(request.args)
    page, per_page, paging_errors = _paging()
    errors.update(paging_errors)
    if errors:
        return _error(400, "Invalid query parameters.", fields=errors)
    result = office_queries.status_page(filters, page=page, per_page=per_page)
    if result.errors:
        return _error(400, "Invalid query parameters.", fields=result.errors)
    return jsonify({
        "total": result.total, "page": result.page, "per_page": result.per_page, "pages": result.pages,
        **_page_links("api.learners", result.page, result.per_page, result.has_next),
        "items": [_learner_json(row) for row in result.rows],
    })


def _export(make_response):
    filters, errors = office_queries.parse_filters(request.args)
    catalog = office_queries.load_status_catalog()
    errors.update(catalog.unknown(filters))
    if errors:
        return _error(400, "Invalid query parameters.", fields=errors)
    return make_response(filters, catalog)


@bp.get("/learners.csv")
def learners_csv():
    return _export(csv_response)


@bp.get("/learners.xlsx")
def learners_xlsx():
    return _export(xlsx_response)


@bp.get("/certificates")
def certificates():
    page, per_page, errors = _paging()
    status = request.args.get("status", "").strip()
    if status and status not in STATUS_LABELS:
        errors["status"] = f"status must be one of: {', '.join(STATUS_LABELS)}"
    if errors:
        return _error(400, "Invalid query parameters.", fields=errors)
    result = office_queries.certificate_list(
        page=page, per_page=per_page, status=status, definition=request.args.get("definition", "").strip(),
        number=request.args.get("number", "").strip())
    return jsonify({
        "total": result.total, "page": result.page, "per_page": result.per_page, "pages": result.pages,
        **_page_links("api.certificates", result.page, result.per_page, result.has_next),
        "items": [{"number": c.number, "holder": c.holder, "holder_id": c.holder_id,
                   "definition": c.definition, "definition_id": c.definition_id,
                   "issued_at": _iso(c.issued_at), "status": c.status} for c in result.items],
    })


@bp.get("/statements")
def statements():
    """Learning records as xAPI statements (see namalms.formats.xapi) for evaluations and LRS imports."""
    from namalms.services import xapi as xapi_service

    page, per_page, errors = _paging()
    moments = {}
    for name in ("since", "until"):
        try:
            moments[name] = xapi_service.parse_moment(request.args.get(name, ""), end_of_day=name == "until")
        except ValueError:
            errors[name] = f"{name} must be a date (2026-01-31) or an ISO 8601 time with zone"
    if errors:
        return _error(400, "Invalid query parameters.", fields=errors)
    result = xapi_service.statements_page(since=moments["since"], until=moments["until"], page=page,
                                          per_page=per_page)
    return jsonify({
        "total": result.total, "page": result.page, "per_page": result.per_page, "pages": result.pages,
        **_page_links("api.statements", result.page, result.per_page, result.has_next),
        "items": list(result.items),
    })
