"""The programme office's figures: one aggregate query per chart, months in Europe/Berlin.

Months are bucketed with a portable CASE over the UTC instants at which each German month
starts, so SQLite (which knows no time zones) and PostgreSQL count exactly the same way,
daylight-saving switches included. Every query groups in the database; Python only touches
the grouped rows (for the median: one row per certificate).
"""
from __future__ import annotations

import statistics as pystats
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import case, func, literal_column, select

from namalms.formats.charts import month_sequence
from namalms.extensions import db
from namalms.formatting import month_start, to_local
from namalms.models import Certificate, CertificateDefinition, Course, Enrollment, Module, ModuleProgress, Region, User
from namalms.models.base import utcnow

MONTHS = 12
NO_REGION = "ohne Angabe"


def recent_months(now: datetime | None = None, count: int = MONTHS) -> list[tuple[int, int]]:
    """The last `count` months in Europe/Berlin, the current one last."""
    local = to_local(now or utcnow())
    return month_sequence(local.year, local.month, count)


def _month_bucket(column, months: list[tuple[int, int]]):
    """('YYYY-MM' of the German month the timestamp falls in, lower bound, upper bound)."""
    year, month = months[-1]
    after_last = (year + 1, 1) if month == 12 else (year, month + 1)
    bounds = [month_start(*m) for m in months] + [month_start(*after_last)]
    # The month keys are SQL literals built from integers, never from input. Callers group by the
    # column's label: PostgreSQL would not take two copies of a CASE with bind parameters for one.
    bucket = case(*((column < bounds[i + 1], literal_column(f"'{y:04d}-{m:02d}'"))
                    for i, (y, m) in enumerate(months)))
    return bucket, bounds[0], bounds[-1]


def _learners():
    return select(User.id).where(User.role == "learner")


@dataclass
class MonthlyCounts:
    """Counts per month (keys 'YYYY-MM') for each of several things (courses, certificates)."""

    months: list[tuple[int, int]]
    names: dict[str, str]  # key -> title, in display order
    counts: dict[str, dict[str, int]]  # key -> month key -> count

    def values(self, key: str) -> tuple[int, ...]:
        row = self.counts.get(key, {})
        return tuple(row.get(f"{y:04d}-{m:02d}", 0) for y, m in self.months)


def _monthly_counts(months, rows) -> MonthlyCounts:
    """Fold (key, title, month, count) rows into MonthlyCounts; keys without a month keep their name."""
    names: dict[str, str] = {}
    counts: dict[str, dict[str, int]] = {}
    for key, title, month, count in rows:
        names.setdefault(key, title)
        if month is not None:
            counts.setdefault(key, {})[month] = count
    return MonthlyCounts(months, names, counts)


def enrolments_per_month(now: datetime | None = None) -> MonthlyCounts:
    """New enrolments of learners per course and German month, the last twelve months."""
    months = recent_months(now)
    bucket, start, end = _month_bucket(Enrollment.enrolled_at, months)
    rows = db.session.execute(
        select(Course.id, Course.short_title, bucket.label("month"), func.count(Enrollment.id))
        .select_from(Course)
        .outerjoin(Enrollment, (Enrollment.course_id == Course.id) & (Enrollment.enrolled_at >= start)
                   & (Enrollment.enrolled_at < end) & Enrollment.user_id.in_(_learners()))
        .group_by(Course.id, Course.short_title, Course.position, "month")
        .order_by(Course.position)).all()
    return _monthly_counts(months, rows)


@dataclass
class FunnelRow:
    course_id: str
    course_title: str
    module_id: str
    module_title: str
    enrolled: int
    opened: int
    done: int
    completed: int


def completion_funnel() -> list[FunnelRow]:
    """Per module: learners enrolled in its course, and how many opened, finished and completed it.

    Progress and enrolments are each counted once in a grouped subquery and then joined to the
    modules, so the database scans the progress table a single time.
    """
    enrolled = (select(Enrollment.course_id.label("course_id"), func.count().label("count"))
                .where(Enrollment.user_id.in_(_learners())).group_by(Enrollment.course_id).subquery())
    states = (select(ModuleProgress.module_id.label("module_id"),
                     func.count(ModuleProgress.first_viewed_at).label("opened"),
                     func.count(ModuleProgress.done_at).label("done"),
                     func.count(ModuleProgress.completed_at).label("completed"))
              .where(ModuleProgress.user_id.in_(_learners())).group_by(ModuleProgress.module_id).subquery())
    rows = db.session.execute(
        select(Course.id, Course.title, Module.id, Module.title, func.coalesce(enrolled.c.count, 0),
               func.coalesce(states.c.opened, 0), func.coalesce(states.c.done, 0), func.coalesce(states.c.completed, 0))
        .select_from(Module).join(Course, Course.id == Module.course_id)
        .outerjoin(enrolled, enrolled.c.course_id == Module.course_id)
        .outerjoin(states, states.c.module_id == Module.id)
        .where(Module.is_retired.is_(False))
        .order_by(Course.position, Module.position)).all()
    return [FunnelRow(*row) for row in rows]


def certificates_per_month(now: datetime | None = None) -> MonthlyCounts:
    """Certificates issued per definition and German month, the last twelve months.

    A re-issued certificate counts once (at its first issue); revoked certificates do not count.
    """
    months = recent_months(now)
    bucket, start, end = _month_bucket(Certificate.issued_at, months)
    rows = db.session.execute(
        select(CertificateDefinition.id, CertificateDefinition.title, bucket.label("month"), func.count(Certificate.id))
        .select_from(CertificateDefinition)
        .outerjoin(Certificate, (Certificate.definition_id == CertificateDefinition.id)
                   & Certificate.supersedes_id.is_(None) & (Certificate.status != "revoked")
                   & (Certificate.issued_at >= start) & (Certificate.issued_at < end))
        .where(CertificateDefinition.is_active.is_(True) | Certificate.id.is_not(None))
        .group_by(CertificateDefinition.id, CertificateDefinition.title, CertificateDefinition.position, "month")
        .order_by(CertificateDefinition.position)).all()
    return _monthly_counts(months, rows)


@dataclass
class RegionCounts:
    regions: dict[str, str]  # region id ("" for none) -> name, in display order
    definitions: dict[str, str]  # definition id -> title, in display order
    counts: dict[tuple[str, str], int]  # (region id, definition id) -> valid certificates

    def value(self, region_id: str, definition_id: str) -> int:
        return self.counts.get((region_id, definition_id), 0)


def certificates_per_region() -> RegionCounts:
    """Valid certificates held today, per region of the holder and certificate definition."""
    rows = db.session.execute(
        select(User.region_id, Region.name, Region.position, Certificate.definition_id,
               CertificateDefinition.title, CertificateDefinition.position, func.count(Certificate.id))
        .select_from(Certificate).join(User, User.id == Certificate.user_id)
        .join(CertificateDefinition, CertificateDefinition.id == Certificate.definition_id)
        .outerjoin(Region, Region.id == User.region_id)
        .where(Certificate.current_marker.is_(True), Certificate.status == "valid")
        .group_by(User.region_id, Region.name, Region.position, Certificate.definition_id,
                  CertificateDefinition.title, CertificateDefinition.position)).all()
    regions: dict[str, str] = {}
    for region_id, region_name, position, *_ in sorted(rows, key=lambda r: (r[2] is None, r[2] or 0, r[1] or "")):
        regions.setdefault(region_id or "", region_name or NO_REGION)
    definitions: dict[str, str] = {}
    for _, _, _, definition_id, title, _, _ in sorted(rows, key=lambda r: r[5]):
        definitions.setdefault(definition_id, title)
    counts = {(row[0] or "", row[3]): row[6] for row in rows}
    return RegionCounts(regions, definitions, counts)


@dataclass
class TimeToCertificate:
    definition_id: str
    title: str
    count: int
    median_days: float | None
    quickest_days: float | None
    slowest_days: float | None


def time_to_certificate() -> list[TimeToCertificate]:
    """Per definition: the median days from a learner's first enrolment to the certificate's issue.

    Counts certificates the rules issued (not office decisions), each at its first issue, not
    revoked ones. One row per certificate comes back; the median is taken here.
    """
    first_enrolment = (select(func.min(Enrollment.enrolled_at)).where(Enrollment.user_id == Certificate.user_id)
                       .correlate(Certificate).scalar_subquery())
    rows = db.session.execute(
        select(CertificateDefinition.id, CertificateDefinition.title, Certificate.issued_at, first_enrolment)
        .select_from(CertificateDefinition)
        .outerjoin(Certificate, (Certificate.definition_id == CertificateDefinition.id)
                   & Certificate.supersedes_id.is_(None) & (Certificate.grounds == "rule")
                   & (Certificate.status != "revoked"))
        .where(CertificateDefinition.is_active.is_(True) | Certificate.id.is_not(None))
        .order_by(CertificateDefinition.position)).all()
    titles: dict[str, str] = {}
    durations: dict[str, list[float]] = {}
    for definition_id, title, issued_at, first_at in rows:
        titles.setdefault(definition_id, title)
        days = durations.setdefault(definition_id, [])
        if issued_at is not None and first_at is not None:
            days.append(max((_aware(issued_at) - _aware(first_at)).total_seconds() / 86400, 0))
    return [TimeToCertificate(definition_id, title, len(durations[definition_id]),
                              pystats.median(durations[definition_id]) if durations[definition_id] else None,
                              min(durations[definition_id], default=None), max(durations[definition_id], default=None))
            for definition_id, title in titles.items()]


def _aware(value: datetime) -> datetime:
    # A MIN() over a timestamp comes back without the column type's processing on SQLite.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# --- all figures at once, kept for a few minutes ---------------------------------------------------

@dataclass(frozen=True)
class Figures:
    """Every figure of the statistics page, as computed at ``computed_at``."""

    computed_at: datetime
    enrolments: MonthlyCounts
    funnel: list[FunnelRow]
    certificates: MonthlyCounts
    regions: RegionCounts
    time_to_certificate: list[TimeToCertificate]


_cache: dict[str, Figures] = {}
_cache_lock = threading.Lock()


def current_figures(*, max_age_s: float = 300) -> Figures:
    """The statistics, recomputed at most every ``max_age_s`` seconds per app process.

    The aggregates read every progress row; at 100,000 learners that is most of a second on
    PostgreSQL. Figures a few minutes old are good enough for the office, and the page says
    when they were computed. ``max_age_s=0`` always recomputes.
    """
    now = utcnow()
    with _cache_lock:
        cached = _cache.get("figures")
        if cached is not None and (now - cached.computed_at).total_seconds() < max_age_s:
            return cached
    figures = Figures(now, enrolments_per_month(now), completion_funnel(), certificates_per_month(now),
                      certificates_per_region(), time_to_certificate())
    with _cache_lock:
        _cache["figures"] = figures
    return figures


def forget_figures() -> None:
    """Drop the kept figures (tests, or after a bulk import)."""
    with _cache_lock:
        _cache.clear()
