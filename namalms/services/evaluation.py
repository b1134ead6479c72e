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

from sqlalchemy import insert, select, update

from namalms.domain.rules import Facts, evaluate
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
    last_id = 0
    while True:
        learners = db.session.execute(
            select(User.id, User.email, User.region_id).where(User.role == "learner", User.id > last_id)
            .order_by(User.id).limit(batch_size)).all()
        if not learners:
            break
        last_id = learners[-1].id
        report.learners += len(learners)
        facts = _facts_of([row.id for row in learners], {row.id: row.region_id for row in learners}, course_of, now)
        current = _current_certificates([row.id for row in learners])
        values: dict[tuple[int, str], dict] = {}
        for learner in learners:
            for definition in definitions:
                verdict = evaluate(definition.rule, facts[learner.id], catalog)
                values[(learner.id, definition.id)] = eligibility_values(verdict, now)
                if verdict.ok and (learner.id, definition.id) not in current:
                    report.due.append(Due(learner.id, learner.email, definition))
        if not dry_run:
            _write_eligibility(values)
    if not dry_run:
        for user_id in dict.fromkeys(d.user_id for d in report.due):
            report.issued += evaluate_and_issue(db.session.get(User, user_id), actor_label=actor_label)
    return report


def _facts_of(user_ids: list[int], regions: dict[int, str | None], course_of: dict[str, str],
              now: datetime) -> dict[int, Facts]:
    """The rules' facts for a batch of learners, in four statements."""
    completed: dict[int, dict] = defaultdict(dict)
    scores: dict[int, dict] = defaultdict(dict)
    workshops: dict[int, list] = defaultdict(list)
    for user_id, module_id, completed_at, score, attended_at in db.session.execute(
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
    for user_id, course_id, enrolled_at in db.session.execute(
            select(Enrollment.user_id, Enrollment.course_id, Enrollment.enrolled_at)
            .where(Enrollment.user_id.in_(user_ids))):
        enrolled[user_id][course_id] = enrolled_at
    held: dict[int, dict] = defaultdict(dict)
    for user_id, definition_id, issued_at in db.session.execute(
            select(Certificate.user_id, Certificate.definition_id, Certificate.issued_at)
            .where(Certificate.user_id.in_(user_ids), Certificate.status == "valid")):
        held[user_id][definition_id] = issued_at
    # Course-level workshops (no module) count towards "workshops attended" of their course.
    for user_id, course_id, recorded_at in db.session.execute(
            select(WorkshopAttendance.user_id, Workshop.course_id, WorkshopAttendance.recorded_at).join(Workshop)
            .where(WorkshopAttendance.user_id.in_(user_ids), Workshop.module_id.is_(None))):
        workshops[user_id].append((course_id, recorded_at))
    return {user_id: Facts(region_id=regions.get(user_id), completed_modules=completed[user_id],
                           quiz_scores=scores[user_id], workshops_attended=tuple(workshops[user_id]),
                           enrolled_at=enrolled[user_id], certificates_held=held[user_id], now=now)
            for user_id in user_ids}


def _current_certificates(user_ids: list[int]) -> set[tuple[int, str]]:
    return set(db.session.execute(select(Certificate.user_id, Certificate.definition_id).where(
        Certificate.user_id.in_(user_ids), Certificate.current_marker.is_(True))).all())


def _write_eligibility(values: dict[tuple[int, str], dict]) -> None:
    """Update the batch's eligibility rows and insert the missing ones, in two statements."""
    user_ids = sorted({user_id for user_id, _ in values})
    existing = {(row.user_id, row.definition_id): row.id for row in db.session.execute(
        select(Eligibility.id, Eligibility.user_id, Eligibility.definition_id)
        .where(Eligibility.user_id.in_(user_ids)))}
    updates = [{"id": existing[key], **row} for key, row in values.items() if key in existing]
    inserts = [{"user_id": key[0], "definition_id": key[1], **row} for key, row in values.items()
               if key not in existing]
    if updates:
        db.session.execute(update(Eligibility), updates)
    if inserts:
        db.session.execute(insert(Eligibility), inserts)
