"""Evaluating every learner at once – after a rule change, by `flask certificates evaluate`.

Per learner the normal path (:func:`certificates.evaluate_and_issue`) costs about a dozen
statements and rebuilds the catalogue. Here the catalogue is built once, the facts of a batch of
learners are read in five statements, the rules run in memory, and the office's eligibility rows
are written per batch. Only learners who are now due a certificate go through the normal issuing
path, so a certificate is still issued exactly once, signed and audited the same way.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update

from namalms import learner_stamps
from namalms.collector import collector_paused
from namalms.domain.rules import Facts, Rule, parse_rule
from namalms.extensions import db
from namalms.models import (
    Certificate, CertificateDefinition, Eligibility, Enrollment, ModuleProgress, User, Workshop, WorkshopAttendance,
)
from namalms.models.base import utcnow
from namalms.services.certificates import (
    active_definitions, all_modules, eligibility_values, evaluate_and_issue, load_catalog,
)

BATCH = 1000


@dataclass
class Due:
    """A learner whose rule now holds for a certificate they do not have yet."""

    user_id: int
    email: str
    definition: CertificateDefinition


@dataclass
class EvaluationReport:
    learners: int = 0
    due: list[Due] = field(default_factory=list)
    issued: list[Certificate] = field(default_factory=list)


def evaluate_everyone(*, dry_run: bool = False, batch_size: int = BATCH, actor_label: str = "System",
                      now: datetime | None = None) -> EvaluationReport:
    """Evaluate every learner against the active certificate rules.

    Records each learner's standing for the office (unless ``dry_run``) and issues what is due.
    Never revokes: a rule that no longer holds leaves an issued certificate alone.
    """
    now = now or utcnow()
    modules = all_modules()
    catalog = load_catalog(modules)
    course_of = {m.id: m.course_id for m in modules}
    definitions = active_definitions()
    report = EvaluationReport()
    rules: list[tuple[CertificateDefinition, Rule]] | None = None
    last_id = 0
    while True:
        learners = _read(
            select(User.id, User.email, User.region_id).where(User.role == "learner", User.id > last_id)
            .order_by(User.id).limit(batch_size)).all()
        if not learners:
            break
        last_id = learners[-1].id
        report.learners += len(learners)
        if rules is None:  # parsed at the first learner, as the per-learner path would fail there
            rules = _parsed(definitions)
        with collector_paused():  # a batch builds ~100,000 short-lived objects (namalms.collector)
            facts = _facts_of([row.id for row in learners], {row.id: row.region_id for row in learners},
                              course_of, now)
            current = _current_certificates([row.id for row in learners])
            values: dict[tuple[int, str], dict] = {}
            for learner in learners:
                for definition, rule in rules:
                    verdict = rule.evaluate(facts[learner.id], catalog)
                    values[(learner.id, definition.id)] = eligibility_values(verdict, now)
                    if verdict.ok and (learner.id, definition.id) not in current:
                        report.due.append(Due(learner.id, learner.email, definition))
            if not dry_run:
                _write_eligibility(values)
    if not dry_run:
        for user_id in dict.fromkeys(d.user_id for d in report.due):
            report.issued += evaluate_and_issue(db.session.get(User, user_id), actor_label=actor_label)
    return report


def _read(statement):
    """Run a plain column SELECT on the session's connection (Core): the ORM's row machinery costs
    more than the database itself when a batch reads tens of thousands of progress rows."""
    return db.session.connection().execute(statement)


def _parsed(definitions: list[CertificateDefinition]) -> list[tuple[CertificateDefinition, Rule]]:
    """Each active rule parsed once for the whole run: parsing a rule costs more than evaluating
    it, and `evaluate` given raw data would parse it again for every learner."""
    return [(definition, parse_rule(definition.rule)) for definition in definitions]


def _facts_of(user_ids: list[int], regions: dict[int, str | None], course_of: dict[str, str],
              now: datetime) -> dict[int, Facts]:
    """The rules' facts for a batch of learners, in four statements."""
    completed: dict[int, dict] = defaultdict(dict)
    scores: dict[int, dict] = defaultdict(dict)
    workshops: dict[int, list] = defaultdict(list)
    for user_id, module_id, completed_at, score, attended_at in _read(
            select(ModuleProgress.user_id, ModuleProgress.module_id, ModuleProgress.completed_at,
                   ModuleProgress.best_quiz_score, ModuleProgress.workshop_attended_at)
            .where(ModuleProgress.user_id.in_(user_ids))):
        if completed_at is not None:
            completed[user_id][module_id] = completed_at
        if score is not None:
            scores[user_id][module_id] = score
        if attended_at is not None:
            workshops[user_id].append((course_of.get(module_id, ""), attended_at))
    enrolled: dict[int, dict] = defaultdict(dict)
    for user_id, course_id, enrolled_at in _read(
            select(Enrollment.user_id, Enrollment.course_id, Enrollment.enrolled_at)
            .where(Enrollment.user_id.in_(user_ids))):
        enrolled[user_id][course_id] = enrolled_at
    held: dict[int, dict] = defaultdict(dict)
    for user_id, definition_id, issued_at in _read(
            select(Certificate.user_id, Certificate.definition_id, Certificate.issued_at)
            .where(Certificate.user_id.in_(user_ids), Certificate.status == "valid")):
        held[user_id][definition_id] = issued_at
    # Course-level workshops (no module) count towards "workshops attended" of their course.
    for user_id, course_id, recorded_at in _read(
            select(WorkshopAttendance.user_id, Workshop.course_id, WorkshopAttendance.recorded_at).join(Workshop)
            .where(WorkshopAttendance.user_id.in_(user_ids), Workshop.module_id.is_(None))):
        workshops[user_id].append((course_id, recorded_at))
    return {user_id: Facts(region_id=regions.get(user_id), completed_modules=completed[user_id],
                           quiz_scores=scores[user_id], workshops_attended=tuple(workshops[user_id]),
                           enrolled_at=enrolled[user_id], certificates_held=held[user_id], now=now)
            for user_id in user_ids}


def _current_certificates(user_ids: list[int]) -> set[tuple[int, str]]:
    return set(map(tuple, _read(select(Certificate.user_id, Certificate.definition_id).where(
        Certificate.user_id.in_(user_ids), Certificate.current_marker.is_(True)))))


def _write_eligibility(values: dict[tuple[int, str], dict]) -> None:
    """Update the batch's eligibility rows and insert the missing ones, in three statements.

    Plain Core executemany on the table: the ORM's bulk update by primary key collects and
    compares every row in Python first, which cost more than the database's own work.
    """
    table = Eligibility.__table__
    user_ids = sorted({user_id for user_id, _ in values})
    existing = {(user_id, definition_id): row_id for row_id, user_id, definition_id in _read(
        select(table.c.id, table.c.user_id, table.c.definition_id).where(table.c.user_id.in_(user_ids)))}
    updates = [{"row_id": existing[key], **row} for key, row in values.items() if key in existing]
    inserts = [{"user_id": key[0], "definition_id": key[1], **row} for key, row in values.items()
               if key not in existing]
    connection = db.session.connection()
    learner_stamps.note_changed(db.session(), user_ids)  # written past the ORM: name the learners
    if updates:
        columns = [name for name in updates[0] if name != "row_id"]
        connection.execute(update(table).where(table.c.id == bindparam("row_id"))
                           .values({name: bindparam(name) for name in columns}), updates)
    if inserts:
        connection.execute(insert(table), inserts)
