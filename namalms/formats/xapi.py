"""xAPI 1.0.3 statements for learning progress and certificates (pure Python, no Flask).

One statement per progress event and per certificate event, with ADL (or registered Tin Can)
verb IRIs, activity ids under the public base URL, German display names (``de-DE``) and the
learner as an *account* (home page + opaque id) – never a name or an e-mail address.

Statement ids are UUIDs derived from the record they describe (uuid5), so exporting, paging and
re-sending after a failure always yield the same id: an LRS stores each statement once.

| event              | verb                                   | object                      |
|--------------------|----------------------------------------|-----------------------------|
| enrolled           | adlnet registered                      | course                      |
| module_opened      | adlnet experienced                     | module                      |
| module_done        | adlnet completed                       | the module's reading part   |
| quiz_attempt       | adlnet attempted (passed) / failed     | the module's self-check     |
| quiz_passed        | adlnet passed                          | the module's self-check     |
| module_completed   | adlnet completed                       | module                      |
| workshop_attended  | adlnet attended                        | workshop                    |
| certificate issued | tincan earned                          | certificate (achievement)   |
| certificate revoked| adlnet voided (StatementRef to earned) | –                           |
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

VERBS: dict[str, tuple[str, str]] = {
    "registered": ("http://adlnet.gov/expapi/verbs/registered", "hat sich eingeschrieben in"),
    "experienced": ("http://adlnet.gov/expapi/verbs/experienced", "hat aufgerufen"),
    "completed": ("http://adlnet.gov/expapi/verbs/completed", "hat abgeschlossen"),
    "attempted": ("http://adlnet.gov/expapi/verbs/attempted", "hat bearbeitet"),
    "passed": ("http://adlnet.gov/expapi/verbs/passed", "hat bestanden"),
    "failed": ("http://adlnet.gov/expapi/verbs/failed", "hat nicht bestanden"),
    "attended": ("http://adlnet.gov/expapi/verbs/attended", "hat teilgenommen an"),
    "earned": ("http://id.tincanapi.com/verb/earned", "hat erhalten"),
    "voided": ("http://adlnet.gov/expapi/verbs/voided", "hat zurückgenommen"),
}
ACTIVITY_TYPES = {
    "course": "http://adlnet.gov/expapi/activities/course",
    "module": "http://adlnet.gov/expapi/activities/module",
    "lesson": "http://adlnet.gov/expapi/activities/lesson",
    "assessment": "http://adlnet.gov/expapi/activities/assessment",
    "meeting": "http://adlnet.gov/expapi/activities/meeting",
    "badge": "http://id.tincanapi.com/activitytype/badge",
}
LANGUAGE = "de-DE"
PLATFORM = "namalms"
# Fixed namespace of our statement ids (the base URL goes into the name, so two installations
# feeding one LRS never collide).
_NAMESPACE = uuid.UUID("6f0c1f3e-2a47-4c8e-9d0b-3b9e5a7c1d22")


@dataclass(frozen=True)
class Named:
    """Something with an id and a German title (a course, a module, a workshop, a certificate)."""

    id: str
    title: str


@dataclass(frozen=True)
class ProgressRecord:
    """One progress event as the statement builder needs it (no personal data but the actor id)."""

    event_id: int
    kind: str
    at: datetime
    actor: str  # opaque account name
    course: Named | None = None
    module: Named | None = None
    workshop: Named | None = None  # a course-level workshop
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CertificateRecord:
    """An issued (and possibly revoked) certificate."""

    certificate_id: int
    actor: str
    definition: Named
    issued_at: datetime
    revoked_at: datetime | None = None


def statement_id(base_url: str, source: str, record_id: int) -> str:
    """The stable UUID of the statement about one record (``source``: progress|earned|revoked)."""
    return str(uuid.uuid5(_NAMESPACE, f"{base_url.rstrip('/')}|{source}|{record_id}"))


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z`` (xAPI requires a time zone)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: xAPI timestamps need a time zone")
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def actor(base_url: str, account_name: str) -> dict:
    """The learner as an xAPI account on this platform: no name, no e-mail address."""
    return {"objectType": "Agent", "account": {"homePage": base_url.rstrip("/"), "name": account_name}}


def verb(key: str) -> dict:
    iri, display = VERBS[key]
    return {"id": iri, "display": {LANGUAGE: display}}


def activity(activity_id: str, name: str, kind: str, description: str | None = None) -> dict:
    definition: dict[str, Any] = {"name": {LANGUAGE: name}, "type": ACTIVITY_TYPES[kind]}
    if description:
        definition["description"] = {LANGUAGE: description}
    return {"objectType": "Activity", "id": activity_id, "definition": definition}


def course_activity(base_url: str, course: Named) -> dict:
    return activity(f"{base_url.rstrip('/')}/courses/{course.id}", course.title, "course")


def _context(base_url: str, course: Named | None) -> dict:
    context: dict[str, Any] = {"platform": PLATFORM, "language": LANGUAGE}
    if course is not None:
        context["contextActivities"] = {"parent": [course_activity(base_url, course)]}
    return context


def _score(percent: Any) -> dict:
    raw = max(0, min(100, int(percent)))
    return {"scaled": round(raw / 100, 4), "raw": raw, "min": 0, "max": 100}


def progress_statement(base_url: str, record: ProgressRecord) -> dict:
    """The statement for one progress event (``ValueError`` for an unknown kind)."""
    base = base_url.rstrip("/")
    module = record.module
    module_url = f"{base}/modules/{module.id}" if module else None
    result: dict[str, Any] | None = None
    parent = record.course
    if record.kind == "enrolled":
        if record.course is None:
            raise ValueError("an enrolment needs its course")
        verb_key, obj, parent = "registered", course_activity(base, record.course), None
    elif record.kind == "module_opened":
        verb_key, obj = "experienced", activity(module_url, module.title, "module")
    elif record.kind == "module_done":
        verb_key = "completed"
        obj = activity(f"{module_url}#inhalt", f"{module.title} – Inhalt", "lesson",
                       "Die Inhalte des Moduls durchgearbeitet")
        result = {"completion": True}
    elif record.kind in ("quiz_attempt", "quiz_passed"):
        passed = record.kind == "quiz_passed" or bool(record.data.get("passed"))
        verb_key = "passed" if record.kind == "quiz_passed" else ("attempted" if passed else "failed")
        obj = activity(f"{module_url}#selbstcheck", f"Selbstcheck: {module.title}", "assessment")
        result = {"success": passed, "completion": True}
        if record.data.get("score") is not None:
            result["score"] = _score(record.data["score"])
    elif record.kind == "module_completed":
        verb_key, obj = "completed", activity(module_url, module.title, "module")
        result = {"completion": True}
    elif record.kind == "workshop_attended":
        verb_key = "attended"
        if module is not None:
            obj = activity(f"{module_url}#workshop", f"Workshop: {module.title}", "meeting")
        else:
            workshop = record.workshop or Named(str(record.data.get("workshop_id", "")), "Workshop")
            course_id = record.course.id if record.course else "kurs"
            obj = activity(f"{base}/courses/{course_id}#workshop-{workshop.id}", f"Workshop: {workshop.title}",
                           "meeting")
    else:
        raise ValueError(f"unknown progress event kind {record.kind!r}")
    statement = {
        "id": statement_id(base, "progress", record.event_id),
        "actor": actor(base, record.actor),
        "verb": verb(verb_key),
        "object": obj,
        "timestamp": timestamp(record.at),
        "context": _context(base, parent),
    }
    if result is not None:
        statement["result"] = result
    return statement


def certificate_achievement(base_url: str, definition: Named) -> dict:
    return activity(f"{base_url.rstrip('/')}/ob3/achievements/{definition.id}", definition.title, "badge")


def earned_statement(base_url: str, record: CertificateRecord) -> dict:
    """The learner earned a certificate (issued by rule or by decision of the programme office)."""
    base = base_url.rstrip("/")
    return {
        "id": statement_id(base, "earned", record.certificate_id),
        "actor": actor(base, record.actor),
        "verb": verb("earned"),
        "object": certificate_achievement(base, record.definition),
        "result": {"success": True, "completion": True},
        "timestamp": timestamp(record.issued_at),
        "context": _context(base, None),
    }


def revoked_statement(base_url: str, record: CertificateRecord) -> dict:
    """The certificate was revoked: the "earned" statement is voided (xAPI's way of taking a
    statement back, so LRS queries stop counting the certificate)."""
    if record.revoked_at is None:
        raise ValueError("the certificate is not revoked")
    base = base_url.rstrip("/")
    return {
        "id": statement_id(base, "revoked", record.certificate_id),
        "actor": actor(base, record.actor),
        "verb": verb("voided"),
        "object": {"objectType": "StatementRef", "id": statement_id(base, "earned", record.certificate_id)},
        "timestamp": timestamp(record.revoked_at),
    }
