"""The programme office's certification status: who stands where, searchable and exportable.

One query builder serves the web page (/office/), its CSV/XLSX export and the API
(/api/v1/learners), so an export holds exactly the learners the page lists for the same
filters. Every page costs a fixed number of statements however many rows it shows: the
learners of a page are fetched in one statement, then their enrolments, completed required
modules, certificates and open eligibilities in one statement each (``IN`` over the page's
ids). The export sorts the same filtered query once, as ids only, and reads the learners in
batches of ids, so 100,000 learners stream through in small, flat memory and no transaction
stays open while the client reads.

Status definitions (one learner can have several):
- zertifiziert: holds at least one valid certificate;
- fehlt noch 1 Bedingung: for some active certificate exactly one condition is open
  (Eligibility.missing_count = 1) and there is no current certificate of that definition;
- in Bearbeitung: no valid certificate yet and not inactive;
- inaktiv seit > 90 Tagen: last learning activity more than 90 days ago, or never active but
  enrolled more than 90 days ago.
"""
from __future__ import annotations

from array import array
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import Integer, and_, any_, bindparam, event, exists, func, literal, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine

from namalms.collector import collector_paused
from namalms.extensions import db, reading
from namalms.formatting import local_date, local_midnight, parse_date
from namalms.models import (
    STATUS_LABELS, Certificate, CertificateDefinition, Course, District, Eligibility, Enrollment, Module,
    ModuleProgress, Region, User,
)
from namalms.models.base import UTCDateTime, utcnow
from namalms.pagination import PAGE_SIZE, Page, clamp

MAX_PER_PAGE = 500
EXPORT_BATCH = 2000  # learners per batch of the export: few statements, bounded memory
READ_AHEAD = 2  # batches of the export read by helper threads while the one before is written out
INACTIVE_AFTER = timedelta(days=90)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)  # sorts "never" before every real date
MAX_SEARCH = 200
FEW_MATCHES = 1000  # a list this short is sorted after filtering, never read in index order

STATUSES = {
    "zertifiziert": "zertifiziert",
    "fehlt-1": "fehlt noch 1 Bedingung",
    "in-bearbeitung": "in Bearbeitung",
    "inaktiv": "inaktiv seit > 90 Tagen",
}
SORTS = {
    "name": "Name",
    "municipality": "Kommune",
    "region": "Region",
    "activity": "Letzte Aktivität",
    "enrolled": "Eingeschrieben",
}
ORDERS = {"asc": "aufsteigend", "desc": "absteigend"}


# --- SQLite: a Unicode-aware lower() for searching ("Özdemir" found by "özdemir") -------------

@event.listens_for(Engine, "connect")
def _register_sqlite_lower(dbapi_connection, connection_record) -> None:
    """SQLite's lower() folds ASCII only; PostgreSQL's folds every letter. Give SQLite the same."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.create_function("namalms_lower", 1, _python_lower, deterministic=True)


def _python_lower(value):
    return value.lower() if isinstance(value, str) else value


def _read(statement):
    """Run a plain column SELECT on the session's connection (Core): no ORM row machinery, which
    otherwise costs more than the database itself when an export reads 100,000 rows."""
    return db.session.connection().execute(statement)


def _read_apart(statement) -> list:
    """Run a plain column SELECT in its own short read transaction, apart from the session.

    The export streams for as long as the client reads; each batch is read and its transaction
    ended before the rows are handed out, so a slow client never holds a database lock (SQLite)
    or an old snapshot (PostgreSQL) open – and the caller's session is left alone.
    """
    with reading(), db.engine.connect() as connection:
        return connection.execute(statement).all()


def _among(column, ids: list[int]):
    """``column IN ids``; on PostgreSQL written ``column = ANY(:ids)`` with one array parameter:
    thousands of bound parameters made compiling, sending and parsing the statement cost more
    than running it, and a constant statement text lets psycopg prepare it once."""
    if db.engine.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=postgresql.ARRAY(Integer)))
    return column.in_(ids)


def _lower(expression, needle: str = ""):
    """lower() that folds every letter; SQLite's own (fast, ASCII only) serves ASCII needles,
    because an ASCII needle can only match where the folded letters are ASCII too."""
    if db.session.get_bind().dialect.name == "sqlite" and not needle.isascii():
        return func.namalms_lower(expression)
    return func.lower(expression)


# --- filters ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatusFilters:
    """What the office asked for: search, filters and sort order (all optional)."""

    q: str = ""
    course: str = ""
    region: str = ""
    district: str = ""
    certificate: str = ""
    status: str = ""
    enrolled_from: date | None = None
    enrolled_to: date | None = None
    sort: str = "name"
    order: str = "asc"

    @property
    def is_filtered(self) -> bool:
        return bool(self.q or self.course or self.region or self.district or self.certificate or self.status
                    or self.enrolled_from or self.enrolled_to)

    def query_args(self, **overrides) -> dict[str, str]:
        """The filters as query parameters (only those set), for links that keep them."""
        values = {
            "q": self.q, "course": self.course, "region": self.region, "district": self.district,
            "certificate": self.certificate, "status": self.status,
            "enrolled_from": self.enrolled_from.isoformat() if self.enrolled_from else "",
            "enrolled_to": self.enrolled_to.isoformat() if self.enrolled_to else "",
            "sort": "" if self.sort == "name" else self.sort,
            "order": "" if self.order == "asc" else self.order,
        }
        values.update({key: str(value) for key, value in overrides.items()})
        return {key: value for key, value in values.items() if value}

    def sorted_by(self, key: str) -> StatusFilters:
        """The same filters sorted by `key`: ascending first, descending when already ascending."""
        order = "desc" if self.sort == key and self.order == "asc" else "asc"
        return replace(self, sort=key, order=order)


def parse_filters(args: Mapping[str, str]) -> tuple[StatusFilters, dict[str, str]]:
    """Read filters from query parameters. Malformed values are left out, each with a German message."""
    errors: dict[str, str] = {}

    def text(name: str, limit: int = 64) -> str:
        return " ".join(str(args.get(name, "") or "").split())[:limit]

    status = text("status")
    if status and status not in STATUSES:
        errors["status"] = "Unbekannter Status. Bitte wählen Sie einen aus der Liste."
        status = ""
    sort = text("sort") or "name"
    if sort not in SORTS:
        errors["sort"] = "Nach dieser Spalte kann nicht sortiert werden."
        sort = "name"
    order = text("order") or "asc"
    if order not in ORDERS:
        errors["order"] = "Die Sortierrichtung ist „asc“ oder „desc“."
        order = "asc"
    dates: dict[str, date | None] = {}
    for name, label in (("enrolled_from", "Eingeschrieben ab"), ("enrolled_to", "Eingeschrieben bis")):
        raw = text(name)
        try:
            dates[name] = parse_date(raw) if raw else None
        except ValueError:
            dates[name] = None
            errors[name] = f"„{label}“: Bitte ein Datum im Format TT.MM.JJJJ angeben."
    if dates["enrolled_from"] and dates["enrolled_to"] and dates["enrolled_from"] > dates["enrolled_to"]:
        errors["enrolled_to"] = "„Eingeschrieben bis“ liegt vor „Eingeschrieben ab“."
        dates["enrolled_to"] = None
    filters = StatusFilters(
        q=text("q", MAX_SEARCH), course=text("course"), region=text("region"), district=text("district"),
        certificate=text("certificate"), status=status, sort=sort, order=order, **dates,
    )
    return filters, errors


# --- the catalogue the page talks about -----------------------------------------------------------

@dataclass(frozen=True)
class CourseColumn:
    id: str
    title: str
    short_title: str
    required_total: int


@dataclass(frozen=True)
class CertificateColumn:
    id: str
    title: str
    short_title: str
    is_active: bool


@dataclass(frozen=True)
class StatusCatalog:
    """Courses, certificates, regions and districts: filter options and column titles (5 statements)."""

    courses: dict[str, CourseColumn]
    definitions: dict[str, CertificateColumn]
    regions: dict[str, str]
    districts: list[tuple[str, str, str]]  # (id, name, region id) in the order of regions.yml

    @property
    def active_definitions(self) -> list[CertificateColumn]:
        return [d for d in self.definitions.values() if d.is_active]

    def districts_by_region(self) -> list[tuple[str, list[tuple[str, str]]]]:
        grouped: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for district_id, name, region_id in self.districts:
            grouped[region_id].append((district_id, name))
        return [(name, grouped[region_id]) for region_id, name in self.regions.items() if grouped[region_id]]

    def unknown(self, filters: StatusFilters) -> dict[str, str]:
        """German messages for filter values that name nothing in the catalogue."""
        errors = {}
        if filters.course and filters.course not in self.courses:
            errors["course"] = "Diesen Kurs gibt es nicht."
        if filters.region and filters.region not in self.regions:
            errors["region"] = "Diese Region gibt es nicht."
        if filters.district and filters.district not in {d[0] for d in self.districts}:
            errors["district"] = "Diesen Kreis bzw. diese Stadt gibt es nicht."
        if filters.certificate and filters.certificate not in self.definitions:
            errors["certificate"] = "Dieses Zertifikat gibt es nicht."
        return errors


def short_certificate_title(title: str) -> str:
    """A certificate's title as short as a table cell needs: "Pro-Zertifikat", "Zertifikat Grundlagenkurs"."""
    words = title.split()
    if not words:
        return title
    if words[0].endswith("zertifikat") or words[0].endswith("Zertifikat"):
        return " ".join(words[:2]) if words[0] == "Zertifikat" and len(words) > 1 else words[0]
    return title


def load_status_catalog() -> StatusCatalog:
    required = dict(db.session.execute(
        select(Module.course_id, func.count()).where(Module.is_required, Module.is_retired.is_(False))
        .group_by(Module.course_id)).all())
    courses = {
        row.id: CourseColumn(row.id, row.title, row.short_title or row.title, required.get(row.id, 0))
        for row in db.session.execute(
            select(Course.id, Course.title, Course.short_title).order_by(Course.position, Course.id))
    }
    definitions = {
        row.id: CertificateColumn(row.id, row.title, row.short_title or short_certificate_title(row.title),
                                  row.is_active)
        for row in db.session.execute(
            select(CertificateDefinition.id, CertificateDefinition.title, CertificateDefinition.short_title,
                   CertificateDefinition.is_active)
            .order_by(CertificateDefinition.position, CertificateDefinition.id))
    }
    regions = dict(db.session.execute(select(Region.id, Region.name).order_by(Region.position, Region.name)).all())
    districts = [tuple(row) for row in db.session.execute(
        select(District.id, District.name, District.region_id).order_by(District.position, District.name))]
    return StatusCatalog(courses, definitions, regions, districts)


# --- the query --------------------------------------------------------------------------------------

def _inactive_since(cutoff: datetime):
    """Last activity before the cutoff, or never active but enrolled before it."""
    return or_(User.last_activity_at < cutoff,
               and_(User.last_activity_at.is_(None), User.first_enrolled_at < cutoff))


def _not_inactive(cutoff: datetime):
    """The complement of `_inactive_since`, written out: NOT over a NULL comparison would drop
    never-active learners (SQL's three-valued logic)."""
    return or_(User.last_activity_at >= cutoff,
               and_(User.last_activity_at.is_(None), or_(User.first_enrolled_at.is_(None),
                                                         User.first_enrolled_at >= cutoff)))


def _holds_valid_certificate(definition_id: str | None = None):
    query = select(Certificate.user_id).where(Certificate.status == "valid")
    if definition_id:
        query = query.where(Certificate.definition_id == definition_id)
    return User.id.in_(query)


def _one_condition_short():
    """Some active certificate lacks exactly one condition, and the learner has no current one of it."""
    current = exists().where(Certificate.user_id == Eligibility.user_id,
                             Certificate.definition_id == Eligibility.definition_id,
                             Certificate.current_marker.is_(True))
    active = select(CertificateDefinition.id).where(CertificateDefinition.is_active)
    return User.id.in_(select(Eligibility.user_id).where(
        Eligibility.missing_count == 1, Eligibility.is_reachable.is_(True), Eligibility.definition_id.in_(active),
        ~current))


def conditions(filters: StatusFilters, now: datetime) -> list:
    """The WHERE clauses of the filtered list (learners only)."""
    where = [User.role == "learner"]
    if filters.q:
        needle = filters.q.lower()
        numbers = select(Certificate.user_id).where(Certificate.number.contains(filters.q.upper(), autoescape=True))
        where.append(or_(_lower(User.name, needle).contains(needle, autoescape=True),
                         User.email.contains(needle, autoescape=True),
                         User.id.in_(numbers)))
    if filters.region:
        where.append(User.region_id == filters.region)
    if filters.district:
        where.append(User.district_id == filters.district)
    if filters.course or filters.enrolled_from or filters.enrolled_to:
        enrolment = [Enrollment.user_id == User.id]
        if filters.course:
            enrolment.append(Enrollment.course_id == filters.course)
        if filters.enrolled_from:
            enrolment.append(Enrollment.enrolled_at >= local_midnight(filters.enrolled_from))
        if filters.enrolled_to:
            enrolment.append(Enrollment.enrolled_at < local_midnight(filters.enrolled_to + timedelta(days=1)))
        where.append(exists().where(*enrolment))
    if filters.certificate:
        where.append(_holds_valid_certificate(filters.certificate))
    cutoff = now - INACTIVE_AFTER
    if filters.status == "zertifiziert":
        where.append(_holds_valid_certificate())
    elif filters.status == "fehlt-1":
        where.append(_one_condition_short())
    elif filters.status == "inaktiv":
        where.append(_inactive_since(cutoff))
    elif filters.status == "in-bearbeitung":
        where.append(~_holds_valid_certificate())
        where.append(_not_inactive(cutoff))
    return where


def _sort_keys(filters: StatusFilters, few: bool = False) -> list[tuple[object, bool]]:
    """(expression, descending) pairs ending in the user id, so the order is total: pages and
    exports never disagree about who comes next.

    Every expression is NOT NULL (coalesce), so "never" sorts before every date on SQLite and
    PostgreSQL alike (they put NULLs at opposite ends).

    ``few``: the filters match few learners (a search for an e-mail address or a certificate
    number). The name is then sorted as ``lower(name) || ''`` – the same text, so the same order –
    which the index on lower(name) cannot serve: PostgreSQL, guessing that half the learners
    match a search, otherwise walks that index through all 100,000 learners to find the one
    match (170 ms) instead of filtering first and sorting the few (under 60 ms).
    """
    descending = filters.order == "desc"
    name = func.lower(User.name)
    if few:
        name = name.concat("")
    never = literal(EPOCH, UTCDateTime())
    primary = {
        "name": None,
        "municipality": func.lower(User.municipality),
        "region": func.coalesce(Region.name, ""),
        "activity": func.coalesce(User.last_activity_at, never),
        "enrolled": func.coalesce(User.first_enrolled_at, never),
    }[filters.sort]
    if primary is None:
        return [(name, descending), (User.id, descending)]
    return [(primary, descending), (name, False), (User.id, False)]


def _learner_columns():
    """The columns of a row, outer-joined to region and district names.

    The first ten columns are LearnerStatus's first ten fields, in order.
    """
    return (
        select(User.id, User.name, User.email, User.municipality, User.district_id, District.name,
               User.region_id, Region.name, User.last_activity_at, User.is_active_account)
        .outerjoin(Region, Region.id == User.region_id)
        .outerjoin(District, District.id == User.district_id)
    )


def _ordering(filters: StatusFilters, few: bool = False) -> list:
    """The ORDER BY clauses of the office's chosen order (see `_sort_keys`)."""
    return [expression.desc() if is_desc else expression.asc() for expression, is_desc in _sort_keys(filters, few)]


def _ordered(statement, filters: StatusFilters, now: datetime, few: bool = False):
    """`statement` restricted to the filtered learners, in the order the office chose (total order)."""
    return statement.where(*conditions(filters, now)).order_by(*_ordering(filters, few))


# --- rows ---------------------------------------------------------------------------------------------

@dataclass
class CourseProgress:
    course_id: str
    title: str
    enrolled_at: datetime | None
    done: int
    total: int


@dataclass
class HeldCertificate:
    number: str
    definition_id: str
    title: str
    issued_at: datetime
    status: str

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def is_valid(self) -> bool:
        return self.status == "valid"


@dataclass
class OpenCertificate:
    definition_id: str
    title: str
    missing_count: int
    missing: list[str]

    @property
    def summary(self) -> str:
        """"Pro-Zertifikat: 1 offen – Modul „Mobilität“ abgeschlossen"."""
        text = f"{self.title}: {self.missing_count} offen"
        return f"{text} – {'; '.join(self.missing)}" if self.missing else text


@dataclass
class LearnerStatus:
    """One row of the certification status list."""

    id: int
    name: str
    email: str
    municipality: str
    district_id: str | None
    district: str | None
    region_id: str | None
    region: str | None
    last_activity_at: datetime | None
    is_active_account: bool
    courses: list[CourseProgress] = field(default_factory=list)
    certificates: list[HeldCertificate] = field(default_factory=list)
    open: list[OpenCertificate] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)

    @property
    def first_enrolled_at(self) -> datetime | None:
        dates = [c.enrolled_at for c in self.courses if c.enrolled_at]
        return min(dates) if dates else None

    @property
    def status_labels(self) -> list[str]:
        return [STATUSES[key] for key in self.statuses]


def _learners(rows, catalog: StatusCatalog, now: datetime, read=None) -> list[LearnerStatus]:
    """Rows of the main statement → LearnerStatus, with their details in three more statements.

    Each detail statement comes back in display order (course, certificate, fewest open
    conditions first), and rows are unpacked as tuples: an export runs this for every learner.
    ``read`` runs a statement (default: on the session's connection); each result is fetched
    whole, which is much cheaper than row by row.
    """
    read = read or _read
    learners = [LearnerStatus(*row[:10]) for row in rows]
    if not learners:
        return learners
    by_id = {learner.id: learner for learner in learners}
    ids = list(by_id)
    # Completed required modules per enrolled course, counted by the database next to the
    # enrolment: one row per course instead of a second statement and result to match up.
    done = (select(ModuleProgress.user_id, Module.course_id, func.count().label("done"))
            .join(Module, Module.id == ModuleProgress.module_id)
            .where(_among(ModuleProgress.user_id, ids), ModuleProgress.completed_at.is_not(None),
                   Module.is_required, Module.is_retired.is_(False))
            .group_by(ModuleProgress.user_id, Module.course_id).subquery())
    courses = catalog.courses
    for user_id, course_id, enrolled_at, count in read(
            select(Enrollment.user_id, Enrollment.course_id, Enrollment.enrolled_at, func.coalesce(done.c.done, 0))
            .join(Course, Course.id == Enrollment.course_id)
            .outerjoin(done, and_(done.c.user_id == Enrollment.user_id, done.c.course_id == Enrollment.course_id))
            .where(_among(Enrollment.user_id, ids)).order_by(Course.position, Course.id)).all():
        course = courses.get(course_id)
        by_id[user_id].courses.append(CourseProgress(
            course_id, course.short_title if course else course_id, enrolled_at, count,
            course.required_total if course else 0))
    definitions = catalog.definitions
    current: set[tuple[int, str]] = set()
    for user_id, number, definition_id, issued_at, status in read(
            select(Certificate.user_id, Certificate.number, Certificate.definition_id, Certificate.issued_at,
                   Certificate.status)
            .join(CertificateDefinition, CertificateDefinition.id == Certificate.definition_id)
            .where(_among(Certificate.user_id, ids), Certificate.current_marker.is_(True))
            .order_by(CertificateDefinition.position, Certificate.issued_at)).all():
        current.add((user_id, definition_id))
        definition = definitions.get(definition_id)
        by_id[user_id].certificates.append(HeldCertificate(
            number or "", definition_id, definition.short_title if definition else definition_id, issued_at, status))
    for user_id, definition_id, missing_count, missing in read(
            select(Eligibility.user_id, Eligibility.definition_id, Eligibility.missing_count, Eligibility.missing)
            .join(CertificateDefinition, CertificateDefinition.id == Eligibility.definition_id)
            .where(_among(Eligibility.user_id, ids), Eligibility.is_met.is_(False), Eligibility.missing_count > 0,
                   Eligibility.is_reachable.is_(True), CertificateDefinition.is_active)
            .order_by(Eligibility.missing_count, CertificateDefinition.position)).all():
        if (user_id, definition_id) in current:
            continue
        definition = definitions.get(definition_id)
        by_id[user_id].open.append(OpenCertificate(
            definition_id, definition.short_title if definition else definition_id, missing_count, missing or []))
    cutoff = now - INACTIVE_AFTER
    for learner in learners:
        learner.statuses = _statuses(learner, cutoff)
    return learners


def _statuses(learner: LearnerStatus, cutoff: datetime) -> list[str]:
    """The same status definitions as `conditions`, for one learner already loaded."""
    certified = any(c.is_valid for c in learner.certificates)
    first = learner.first_enrolled_at
    inactive = (learner.last_activity_at < cutoff if learner.last_activity_at is not None
                else first is not None and first < cutoff)
    statuses = []
    if certified:
        statuses.append("zertifiziert")
    if any(o.missing_count == 1 for o in learner.open):
        statuses.append("fehlt-1")
    if not certified and not inactive:
        statuses.append("in-bearbeitung")
    if inactive:
        statuses.append("inaktiv")
    return statuses


# --- the page -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatusPage(Page[LearnerStatus]):
    """One page of learners, with the filters and catalogue it was read with and filter errors."""

    filters: StatusFilters | None = None
    catalog: StatusCatalog | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def rows(self) -> Sequence[LearnerStatus]:
        return self.items


def status_page(filters: StatusFilters, *, page: int = 1, per_page: int = PAGE_SIZE,
                now: datetime | None = None, errors: dict[str, str] | None = None) -> StatusPage:
    """One page of the filtered, sorted list with its total, in a fixed number of statements.

    Filter values that name no course, region, district or certificate are reported in
    `errors` (and match nobody).
    """
    now = now or utcnow()
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    catalog = load_status_catalog()
    errors = {**(errors or {}), **catalog.unknown(filters)}
    total = db.session.scalar(select(func.count()).select_from(User).where(*conditions(filters, now))) or 0
    page = clamp(page, total, per_page)
    # The page's ids are found by sorting ids only, then their columns read: sorting 100,000
    # narrow rows instead of wide ones (names of region and district joined) keeps the sort in
    # memory and makes the last page faster; the 50 rows are sorted again, the same way.
    few = total <= FEW_MATCHES
    page_ids = (_ordered(select(User.id).outerjoin(Region, Region.id == User.region_id), filters, now, few)
                .limit(per_page).offset((page - 1) * per_page))
    rows = _read(_learner_columns().where(User.id.in_(page_ids)).order_by(*_ordering(filters, few))).all()
    return StatusPage(_learners(rows, catalog, now), total, page, per_page, filters, catalog, errors)


# --- the export ----------------------------------------------------------------------------------

def iter_learners(filters: StatusFilters, *, catalog: StatusCatalog | None = None, now: datetime | None = None,
                  batch_size: int | None = None) -> Iterator[LearnerStatus]:
    """Every learner of the filtered list, in page order, read in batches.

    The filtered list is sorted once, as ids only (8 bytes a learner: under 1 MB for 100,000);
    then each batch of ids is read with its details, in the same fixed number of statements
    as a page. Sorting once keeps a large export linear (re-sorting the list for every keyset
    batch made 100,000 learners 20 times slower than 10,000). Only reads: each batch ends the
    transaction (see :func:`_read_apart`) before its rows are handed out.
    """
    now = now or utcnow()
    catalog = catalog or load_status_catalog()
    batch_size = batch_size or EXPORT_BATCH
    ids = array("q", (row[0] for row in _read_apart(
        _ordered(select(User.id).outerjoin(Region, Region.id == User.region_id), filters, now))))
    batches = [ids[start:start + batch_size].tolist() for start in range(0, len(ids), batch_size)]
    yield from _read_ahead(lambda chunk: _export_batch(chunk, catalog, now), batches)


def _export_batch(chunk: list[int], catalog: StatusCatalog, now: datetime) -> list[LearnerStatus]:
    """The learners with these ids, in this order, with their details."""
    position = {user_id: index for index, user_id in enumerate(chunk)}
    # One short read transaction per batch for the learners and their details: one snapshot,
    # one connection checkout, and nothing held open while the client reads the batch. The
    # cycle collector waits while the batch's objects are built (see namalms.collector).
    with collector_paused(), reading(), db.engine.connect() as connection:
        rows = sorted(connection.execute(_learner_columns().where(_among(User.id, chunk))).all(),
                      key=lambda row: position[row[0]])
        return _learners(rows, catalog, now, read=connection.execute)


def _read_ahead(read: Callable[[list[int]], list[LearnerStatus]],
                batches: list[list[int]]) -> Iterator[LearnerStatus]:
    """The learners of each batch in turn; the next ``READ_AHEAD`` batches are read meanwhile by
    helper threads, each batch in its own short read transaction.

    An export spent about a third of its time waiting for the database between batches; now that
    wait overlaps with writing out the batch before. At most ``READ_AHEAD + 1`` batches are in
    memory. A failure in a helper is raised here, where its batch is taken, and nothing after it
    is handed out; when the caller stops early (a download broken off), the batches in flight are
    finished and dropped, their connections returned.
    """
    if len(batches) < 2:
        for chunk in batches:
            yield from read(chunk)
        return
    app = current_app._get_current_object()

    def read_in_app(chunk: list[int]) -> list[LearnerStatus]:
        with app.app_context():
            return read(chunk)

    with ThreadPoolExecutor(max_workers=READ_AHEAD, thread_name_prefix="namalms-export") as helpers:
        pending = deque(helpers.submit(read_in_app, chunk) for chunk in batches[:READ_AHEAD])
        for following in batches[READ_AHEAD:]:
            learners = pending.popleft().result()
            pending.append(helpers.submit(read_in_app, following))
            yield from learners
        while pending:
            yield from pending.popleft().result()


def export_header(catalog: StatusCatalog) -> list[str]:
    """Column titles of the export; one block per course and per certificate."""
    header = ["ID", "Name", "E-Mail", "Kommune", "Kreis/Stadt", "Region", "Status", "Eingeschrieben am",
              "Letzte Aktivität"]
    for course in catalog.courses.values():
        header.append(f"{course.short_title}: Pflichtmodule abgeschlossen (von {course.required_total})")
    for definition in catalog.definitions.values():
        header += [f"{definition.short_title}: Nummer", f"{definition.short_title}: ausgestellt am",
                   f"{definition.short_title}: Status"]
    header.append("Was fehlt noch")
    return header


def export_values(learner: LearnerStatus, catalog: StatusCatalog) -> list:
    """One learner as export cells (text, numbers and dates; the writer formats them)."""
    values: list = [learner.id, learner.name, learner.email, learner.municipality, learner.district or "",
                    learner.region or "", ", ".join(learner.status_labels), learner.first_enrolled_at,
                    learner.last_activity_at]
    progress = {c.course_id: c for c in learner.courses}
    for course_id in catalog.courses:
        values.append(progress[course_id].done if course_id in progress else None)
    held = {c.definition_id: c for c in learner.certificates}
    for definition_id in catalog.definitions:
        certificate = held.get(definition_id)
        values += ([certificate.number, certificate.issued_at, certificate.status_label] if certificate
                   else [None, None, None])
    values.append(" | ".join(o.summary for o in learner.open))
    return values


def export_table(filters: StatusFilters, *, catalog: StatusCatalog | None = None,
                 now: datetime | None = None) -> tuple[list[str], Iterator[list]]:
    """Header and (lazy) rows of the export of exactly the filtered list, in page order."""
    catalog = catalog or load_status_catalog()
    learners = iter_learners(filters, catalog=catalog, now=now)
    return export_header(catalog), (export_values(learner, catalog) for learner in learners)


def export_filename(extension: str, *, today: date | None = None) -> str:
    """namalms-zertifizierungsstand-2026-11-22.csv (the German calendar day)."""
    today = today or local_date(utcnow())
    return f"namalms-zertifizierungsstand-{today.isoformat()}.{extension}"


# --- certificates (API) ----------------------------------------------------------------------------

@dataclass
class CertificateRow:
    number: str
    holder_id: int
    holder: str
    definition_id: str
    definition: str
    issued_at: datetime
    status: str


def certificate_list(*, page: int = 1, per_page: int = PAGE_SIZE, status: str = "", definition: str = "",
                     number: str = "") -> Page[CertificateRow]:
    """Issued certificates (oldest first) with holder and definition, one page of them (2 statements)."""
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    where = [Certificate.number.is_not(None)]
    if status:
        where.append(Certificate.status == status)
    if definition:
        where.append(Certificate.definition_id == definition)
    if number:
        where.append(Certificate.number == number.strip().upper())
    total = db.session.scalar(select(func.count()).select_from(Certificate).where(*where)) or 0
    page = clamp(page, total, per_page)
    rows = db.session.execute(
        select(Certificate.number, Certificate.user_id, User.name, Certificate.definition_id,
               CertificateDefinition.title, Certificate.issued_at, Certificate.status)
        .outerjoin(User, User.id == Certificate.user_id)  # None: the holder deleted their account
        .join(CertificateDefinition, CertificateDefinition.id == Certificate.definition_id)
        .where(*where).order_by(Certificate.id).limit(per_page).offset((page - 1) * per_page)).all()
    return Page([CertificateRow(*row) for row in rows], total, page, per_page)
