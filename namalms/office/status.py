"""Programme office home (/office/): the certification status of every learner, and its export."""
from __future__ import annotations

from itertools import chain

from flask import Response, render_template, request, stream_with_context

from namalms.formats import csv_export
from namalms.services import office_queries
from namalms.pagination import requested_page
from namalms.web import role_required

from namalms.office.blueprint import bp


@bp.route("/")
@role_required("admin")
def index():
    filters, errors = office_queries.parse_filters(request.args)
    result = office_queries.status_page(filters, page=requested_page(request.args), errors=errors)
    status = 400 if result.errors else 200
    return render_template("office/status.html", result=result, filters=filters, statuses=office_queries.STATUSES,
                           sorts=office_queries.SORTS), status


def _checked_export(make_response):
    """Validate the filters before anything is streamed: a broken filter is the status page with
    its German messages (400), never a download that starts with 200 and breaks off."""
    filters, errors = office_queries.parse_filters(request.args)
    catalog = office_queries.load_status_catalog()
    errors.update(catalog.unknown(filters))
    if errors:
        return index()
    return make_response(filters, catalog)


@bp.route("/zertifizierungsstand.csv")
@role_required("admin")
def export_csv():
    return _checked_export(csv_response)


@bp.route("/zertifizierungsstand.xlsx")
@role_required("admin")
def export_xlsx():
    return _checked_export(xlsx_response)


def _first_batch_read(rows):
    """Read the first rows now, before the response starts: a failing query (database gone,
    statement timeout) becomes a 503 page instead of a download cut off after its 200."""
    rows = iter(rows)
    first = next(rows, None)
    return rows if first is None else chain([first], rows)


def csv_response(filters: office_queries.StatusFilters, catalog: office_queries.StatusCatalog | None = None) -> Response:
    """The filtered list as a streamed CSV file for German Excel (shared with the API)."""
    header, rows = office_queries.export_table(filters, catalog=catalog)
    return _download(csv_export.csv_chunks(header, _first_batch_read(rows)), "text/csv; charset=utf-8",
                     office_queries.export_filename("csv"))


def xlsx_response(filters: office_queries.StatusFilters, catalog: office_queries.StatusCatalog | None = None) -> Response:
    """The filtered list as a streamed XLSX workbook (shared with the API)."""
    header, rows = office_queries.export_table(filters, catalog=catalog)
    rows = _first_batch_read(rows)
    widths = [7, 28, 32, 26, 24, 22, 26, 16, 16] + [18] * (len(header) - 10) + [80]
    chunks = csv_export.xlsx_chunks(header, rows, sheet_name="Zertifizierungsstand", column_widths=widths)
    return _download(chunks, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     office_queries.export_filename("xlsx"))


def _download(chunks, mimetype: str, filename: str) -> Response:
    response = Response(stream_with_context(chunks), content_type=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Personal data: never kept by a browser or proxy cache.
    response.headers["Cache-Control"] = "no-store"
    return response
