"""German formatting of certificate snapshots, shared by the PDF and the web pages.

A snapshot stores machine values (ISO timestamps in UTC, minutes); people read German dates in
local time and hours with a decimal comma. Keeping the conversion here means the PDF and the
verification page can never disagree about the date a certificate was issued.

Pure Python: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from namalms.formatting import format_date, format_duration, format_long_date

__all__ = [
    "CertificateView",
    "ModuleLine",
    "PriorCertificateLine",
    "WorkshopLine",
    "certificate_view",
    "total_minutes",
]

def _minutes_of(module: Any) -> int | float | None:
    if not isinstance(module, Mapping):
        return None
    minutes = module.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)):
        return None
    if minutes != minutes or minutes < 0 or minutes == float("inf"):
        return None
    return minutes


def total_minutes(snapshot: Mapping[str, Any]) -> int:
    """The learning time of all modules in the snapshot's evidence, in whole minutes.

    Modules without a usable ``minutes`` value count as zero instead of failing: an old or
    hand-edited snapshot should still render.
    """
    evidence = snapshot.get("evidence") if isinstance(snapshot, Mapping) else None
    modules = evidence.get("modules") if isinstance(evidence, Mapping) else None
    if not isinstance(modules, list):
        return 0
    return round(sum(minutes for module in modules if (minutes := _minutes_of(module)) is not None))


# --------------------------------------------------------------------------------------------
# A readable view of a snapshot


@dataclass(frozen=True)
class ModuleLine:
    """One completed module as printed: title, course, hours and completion day, all text."""

    title: str
    course_title: str
    hours: str
    completed_on: str


@dataclass(frozen=True)
class WorkshopLine:
    """One attended workshop as printed."""

    title: str
    attended_on: str


@dataclass(frozen=True)
class PriorCertificateLine:
    """A certificate the holder already had and that this one builds on."""

    title: str
    number: str


@dataclass(frozen=True)
class CertificateView:
    """Everything a person reads on a certificate, as German text, from a snapshot.

    Built leniently: a missing or malformed field becomes an empty string (or "–" in tables)
    instead of an exception, and keys this code does not know are ignored, so that snapshots
    written by older or newer versions of the application still render.
    """

    number: str
    verify_url: str
    holder_name: str
    municipality: str
    title: str
    statement: str
    issuer_name: str
    partners: str  # "mit dem BEW · im Auftrag des MUNV" – who runs the programme with the issuer
    programme: str
    place: str
    signatory: str
    issued_on: str
    issued_at: datetime | None
    modules: tuple[ModuleLine, ...]
    workshops: tuple[WorkshopLine, ...]
    prior_certificates: tuple[PriorCertificateLine, ...]
    total_hours: str

    @property
    def place_and_date(self) -> str:
        """``"Dortmund, 22. November 2026"``, or whichever of the two is known."""
        return ", ".join(part for part in (self.place, self.issued_on) if part)


MISSING = "–"


def _join_parts(*parts: str) -> str:
    return ", ".join(part for part in parts if part)


def _section(snapshot: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = snapshot.get(key)
    return value if isinstance(value, Mapping) else {}


def _items(mapping: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = mapping.get(key)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _text(mapping: Mapping[str, Any], key: str) -> str:
    """A field as one line of text: whitespace runs (including newlines) become one space."""
    value = mapping.get(key)
    if isinstance(value, bool) or value is None:
        return ""
    if not isinstance(value, (str, int, float)):
        return ""
    return " ".join(str(value).split())


def _day_or_missing(value: Any) -> str:
    try:
        return format_date(value)
    except (TypeError, ValueError):
        return MISSING


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def certificate_view(snapshot: Mapping[str, Any]) -> CertificateView:
    """The German, printable reading of a certificate snapshot (see ``CertificateView``)."""
    if not isinstance(snapshot, Mapping):
        snapshot = {}
    holder = _section(snapshot, "holder")
    certificate = _section(snapshot, "certificate")
    issuer = _section(snapshot, "issuer")
    evidence = _section(snapshot, "evidence")
    try:
        issued_on = format_long_date(snapshot.get("issued_at"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        issued_on = ""
    modules = tuple(
        ModuleLine(
            title=_text(module, "title") or _text(module, "id") or MISSING,
            course_title=_text(module, "course_title"),
            hours=MISSING if (minutes := _minutes_of(module)) is None else format_duration(minutes),
            completed_on=_day_or_missing(module.get("completed_at")),
        )
        for module in _items(evidence, "modules")
    )
    workshops = tuple(
        WorkshopLine(
            title=_text(workshop, "title") or _text(workshop, "module_id") or MISSING,
            attended_on=_day_or_missing(workshop.get("attended_at")),
        )
        for workshop in _items(evidence, "workshops")
    )
    prior = tuple(
        PriorCertificateLine(title=_text(item, "title"), number=_text(item, "number"))
        for item in _items(evidence, "certificates")
    )
    return CertificateView(
        number=_text(snapshot, "number"),
        verify_url=_text(snapshot, "verify_url"),
        holder_name=_text(holder, "name"),
        municipality=_text(holder, "municipality"),
        title=_text(certificate, "title"),
        statement=_text(certificate, "statement"),
        issuer_name=_text(issuer, "name"),
        partners=_join_parts(
            f"in Zusammenarbeit mit dem {_text(issuer, 'partner')}" if _text(issuer, "partner") else "",
            f"im Auftrag des {_text(issuer, 'commissioned_by')}" if _text(issuer, "commissioned_by") else ""),
        programme=_text(issuer, "programme"),
        place=_text(issuer, "place"),
        signatory=_text(issuer, "signatory"),
        issued_on=issued_on,
        issued_at=_moment(snapshot.get("issued_at")),
        modules=modules,
        workshops=workshops,
        prior_certificates=prior,
        total_hours=format_duration(total_minutes(snapshot)),
    )
