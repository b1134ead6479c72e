"""Certificates: explain eligibility, issue exactly once, revoke, re-issue, grant, sign.

The rules engine (namalms.domain.rules) decides; this module gathers the facts for it in a
fixed handful of queries per learner and records the outcome.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import current_app, has_request_context, request
from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from namalms import content_cache, keys
from namalms.certificates import signing
from namalms.domain.rules import Catalog, CourseInfo, Facts, Rule, RuleError, Verdict, evaluate, parse_rule
from namalms.extensions import db, single_read
from namalms.formats.open_badges import status_index_for
from namalms.formatting import format_date
from namalms.models import (
    REVOCATION_CATEGORIES, AuditEvent, Certificate, CertificateDefinition, CertificatePdf, ContentRevision,
    ContentState, Course, Eligibility, Enrollment, LearnerStamp, Module, ModuleProgress, Region, User, Workshop,
    WorkshopAttendance,
)
from namalms.models.base import utcnow
from namalms.services import ServiceError
from namalms.services import content_sync, notifications
from namalms.services.audit import record_audit

log = logging.getLogger(__name__)
NUMBER_FORMAT = "NAMA-{year}-{serial:05d}"
SNAPSHOT_VERSION = 1


# --- the catalogue the rules talk about ---------------------------------------------------------

def all_modules() -> list[Module]:
    return list(db.session.scalars(select(Module).order_by(Module.course_id, Module.position)))


def load_catalog(modules: list[Module] | None = None, *, stamp: int | None = None) -> Catalog:
    """Courses, modules, regions and certificate titles as the rules engine sees them.

    Kept by the process while the content stays the same (see content_cache; ``stamp``: the
    content stamp, when the caller already read it); built from ``modules`` when the caller
    already loaded them (3 queries).
    """
    if modules is None:
        return content_cache.prepared("catalog", lambda: load_catalog(all_modules()), stamp=stamp)
    courses = {}
    for course in db.session.scalars(select(Course).order_by(Course.position)):
        active = [m for m in modules if m.course_id == course.id and not m.is_retired]
        courses[course.id] = CourseInfo(
            title=course.title, module_ids=tuple(m.id for m in active),
            required_ids=frozenset(m.id for m in active if m.is_required))
    return Catalog(
        courses=courses,
        modules={m.id: m.title for m in modules},
        regions={r.id: r.name for r in db.session.scalars(select(Region))},
        certificates={d.id: d.title for d in db.session.scalars(select(CertificateDefinition))},
    )


def module_courses() -> dict[str, str]:
    """Module id → course id (kept per content state)."""
    return content_cache.prepared(
        "module_courses", lambda: dict(db.session.execute(select(Module.id, Module.course_id)).all()))


# The learner's records as prepared statements: built once, not per request (building a query
# costs more than running it on these small, indexed lookups).
LEARNER_ENROLLMENTS = select(Enrollment).where(Enrollment.user_id == bindparam("user_id"))
LEARNER_PROGRESS = select(ModuleProgress).where(ModuleProgress.user_id == bindparam("user_id"))
_CURRENT_CERTIFICATES = select(Certificate).where(
    Certificate.user_id == bindparam("user_id"), Certificate.current_marker.is_(True)).order_by(Certificate.id)
# Course-level workshops (no module) count towards "workshops attended" of their course;
# module workshops are in the progress rows.
_COURSE_WORKSHOPS = select(Workshop.course_id, WorkshopAttendance.recorded_at).join(Workshop).where(
    WorkshopAttendance.user_id == bindparam("user_id"), Workshop.module_id.is_(None))


@dataclass(frozen=True)
class LearnerData:
    """One learner's records as their pages and the rules read them, in four statements.

    A page that shows progress, certificates and standings reads these once and derives the
    rest (the rules' facts, the "new certificate" notice) instead of asking again for each part.
    """

    region_id: str | None
    enrollments: dict[str, Enrollment]  # by course id
    progress: dict[str, ModuleProgress]  # by module id
    certificates: list[Certificate]  # the current (not superseded) ones, oldest first
    course_workshops: tuple[tuple[str, datetime], ...]  # (course id, attended at)

    def facts(self, course_of: dict[str, str], now: datetime) -> Facts:
        rows = self.progress.values()
        return Facts(
            region_id=self.region_id,
            completed_modules={r.module_id: r.completed_at for r in rows if r.completed_at},
            quiz_scores={r.module_id: r.best_quiz_score for r in rows if r.best_quiz_score is not None},
            workshops_attended=tuple((course_of.get(r.module_id, ""), r.workshop_attended_at)
                                     for r in rows if r.workshop_attended_at) + self.course_workshops,
            enrolled_at={course_id: e.enrolled_at for course_id, e in self.enrollments.items()},
            certificates_held={c.definition_id: c.issued_at for c in self.certificates if c.status == "valid"},
            now=now,
        )

    def unseen_certificates(self) -> list[Certificate]:
        """Valid certificates the learner has not opened yet (every valid one is current)."""
        return [c for c in self.certificates if c.status == "valid" and c.seen_at is None]


def learner_data(user: User) -> LearnerData:
    parameters = {"user_id": user.id}
    return LearnerData(
        region_id=user.region_id,
        enrollments={e.course_id: e for e in db.session.scalars(LEARNER_ENROLLMENTS, parameters)},
        progress={r.module_id: r for r in db.session.scalars(LEARNER_PROGRESS, parameters)},
        certificates=standings_certificates(user),
        course_workshops=tuple(map(tuple, db.session.execute(_COURSE_WORKSHOPS, parameters))),
    )


def load_facts(user: User, *, now: datetime | None = None, course_of: dict[str, str] | None = None,
               data: LearnerData | None = None) -> Facts:
    """Everything the rules may ask about one learner (four queries, none with ``data``)."""
    data = data if data is not None else learner_data(user)
    return data.facts(course_of if course_of is not None else module_courses(), now or utcnow())


def active_definitions() -> list[CertificateDefinition]:
    return list(db.session.scalars(
        select(CertificateDefinition).where(CertificateDefinition.is_active).order_by(CertificateDefinition.position)))


@dataclass(frozen=True)
class DefinitionInfo:
    """An active certificate definition as plain data, for pages that only show it."""

    id: str
    title: str
    short_title: str
    statement: str
    rule: dict
    position: int
    parsed_rule: Rule | dict  # parsed once; the raw rule when it does not parse (evaluating says why)
    course_ids: frozenset[str]  # the courses the rule talks about (its course pages name it)


def parsed_once(raw) -> Rule | dict:
    """A rule parsed for evaluating it many times; a broken one stays raw, so that `evaluate`
    raises its error where it always did."""
    try:
        return parse_rule(raw)
    except RuleError:
        return raw


def definition_infos() -> tuple[DefinitionInfo, ...]:
    """The active definitions, kept by the process while the content stays the same."""
    return content_cache.prepared("definitions", lambda: tuple(
        DefinitionInfo(d.id, d.title, d.short_title, d.statement, d.rule, d.position, parsed_once(d.rule),
                       frozenset(_referenced_courses(d.rule)))
        for d in active_definitions()))


def _referenced_courses(rule) -> set[str]:
    courses: set[str] = set()
    _referenced(rule, courses, set(), set())
    return courses


def programme_meta() -> dict:
    """The published programme.yml as stored (kept per content state; read it, never change it)."""
    def load() -> dict:
        revision = content_sync.latest_revision("programme", "programme")
        return revision.meta if revision else {}

    return content_cache.prepared("programme_meta", load)


def course_entry_rules() -> dict[str, Rule | dict]:
    """The rules that open courses (programme.yml, course_entry), parsed once per content state."""
    return content_cache.prepared("course_entry_rules", lambda: {
        course_id: parsed_once(raw) for course_id, raw in (programme_meta().get("course_entry") or {}).items()})


# --- explaining ------------------------------------------------------------------------------------

@dataclass
class Standing:
    """One certificate from a learner's point of view: the verdict and the certificate, if any."""

    definition: CertificateDefinition | DefinitionInfo
    verdict: Verdict
    certificate: Certificate | None

    @property
    def missing(self) -> list[Verdict]:
        return [] if self.verdict.ok else self.verdict.missing()

    @property
    def unmet_preconditions(self) -> list[Verdict]:
        """Conditions about the learner (their region) that learning cannot change."""
        return [p for p in self.verdict.preconditions() if not p.ok]

    @property
    def is_reachable(self) -> bool:
        return self.certificate is not None or self.verdict.ok or not self.unmet_preconditions

    @property
    def is_near(self) -> bool:
        """Held, earned, or within reach: shown open; far-away certificates are shown collapsed."""
        if self.certificate is not None or self.verdict.ok:
            return True
        if not self.is_reachable:
            return False
        done, total = self.verdict.done or 0, self.verdict.total or 0
        return total - done <= 3 or (total > 0 and done * 2 >= total)


def standings(user: User, *, catalog: Catalog | None = None, facts: Facts | None = None,
              data: LearnerData | None = None, for_display: bool = False) -> list[Standing]:
    """Every active certificate with its verdict tree and the learner's current certificate.

    ``for_display``: the definitions as plain data kept by the process (pages that only show
    them); otherwise as database rows, which issuing needs. ``data``: the learner's records,
    when the caller already read them.
    """
    catalog = catalog or load_catalog()
    if facts is None:
        data = data if data is not None else learner_data(user)
        facts = load_facts(user, data=data)
    certificates = data.certificates if data is not None else standings_certificates(user)
    current = {c.definition_id: c for c in certificates}
    definitions = definition_infos() if for_display else active_definitions()
    return [Standing(d, evaluate(d.parsed_rule if for_display else d.rule, facts, catalog), current.get(d.id))
            for d in definitions]


def course_entry_verdict(user: User | None, course_id: str, *, catalog: Catalog | None = None,
                         facts: Facts | None = None) -> Verdict | None:
    """The verdict of the rule that opens a course, or None when the course is open to all."""
    rule = course_entry_rules().get(course_id)
    if rule is None:
        return None
    if facts is None:
        anonymous = user is None or not getattr(user, "is_authenticated", False)
        facts = Facts(None, {}, {}, (), {}, {}, utcnow()) if anonymous else load_facts(user)
    return evaluate(rule, facts, catalog or load_catalog())


@dataclass(frozen=True)
class CertificateNotice:
    """What a course page says about a certificate of the course before someone enrols."""

    title: str
    condition: str  # "Region „Rheinisches Revier“ oder „Ruhr-Kraftwerksstandorte“"
    is_unmet: bool  # True when it is known that this learner does not meet it


def course_certificate_notices(user: User | None, course_id: str, *,
                               facts: Facts | None = None) -> list[CertificateNotice]:
    """Preconditions (the region) of the certificates this course leads to, so nobody enrols
    expecting a certificate they cannot get. ``facts``: the learner's, when already read."""
    catalog = load_catalog()
    if facts is None:
        facts = load_facts(user) if user is not None and getattr(user, "is_authenticated", False) \
            and user.role == "learner" else Facts(None, {}, {}, (), {}, {}, utcnow())
    notices = []
    for definition in definition_infos():
        if course_id not in definition.course_ids:
            continue
        verdict = evaluate(definition.parsed_rule, facts, catalog)
        for precondition in verdict.preconditions():
            known = facts.region_id is not None
            notices.append(CertificateNotice(definition.short_title or definition.title, precondition.label,
                                             known and not precondition.ok))
    return notices


# --- issuing -----------------------------------------------------------------------------------------

def evaluate_and_issue(user: User, *, actor_label: str = "System") -> list[Certificate]:
    """Issue every certificate whose rule now holds; returns the ones issued now.

    Repeats while something was issued, so a certificate that credits another (e.g. the
    Sonderkurs certificate towards the Pro-Zertifikat) follows in the same request.
    Never revokes: a rule that no longer holds leaves an issued certificate alone.
    Nothing is issued to an unconfirmed address (the standings are still recorded); confirming
    it calls this again and issues everything earned by then.
    """
    if user.role != "learner":
        return []
    modules = all_modules()
    catalog = load_catalog(modules)
    course_of = {m.id: m.course_id for m in modules}
    issued: list[Certificate] = []
    for _ in range(5):
        data = learner_data(user)
        facts = load_facts(user, course_of=course_of, data=data)
        newly = []
        current = standings(user, catalog=catalog, facts=facts, data=data)
        record_eligibility(user, current)
        for standing in current:
            if standing.verdict.ok and standing.certificate is None and user.is_email_confirmed:
                certificate, created = issue_certificate(user, standing.definition, facts=facts,
                                                         catalog=catalog, actor_label=actor_label)
                if created:
                    newly.append(certificate)
        issued += newly
        if not newly:
            break
    return issued


def record_eligibility(user: User, current: list[Standing]) -> None:
    """Remember each verdict's gist (met? how many conditions open?) for the office's filters."""
    rows = {e.definition_id: e for e in db.session.scalars(select(Eligibility).where(Eligibility.user_id == user.id))}
    now = utcnow()
    for standing in current:
        row = rows.get(standing.definition.id)
        if row is None:
            row = Eligibility(user_id=user.id, definition_id=standing.definition.id)
            db.session.add(row)
        for column, value in eligibility_values(standing.verdict, now).items():
            setattr(row, column, value)


def eligibility_values(verdict: Verdict, now: datetime) -> dict:
    """The gist of a verdict as the office filters by it (the columns of an Eligibility row)."""
    missing = [] if verdict.ok else verdict.missing()
    return {"is_met": verdict.ok, "is_reachable": verdict.is_reachable, "missing_count": len(missing),
            "done": verdict.done or 0, "total": verdict.total or 0, "missing": [m.label for m in missing],
            "evaluated_at": now}


def would_issue(user: User) -> list[CertificateDefinition]:
    """The certificates `evaluate_and_issue` would issue now (for --dry-run)."""
    if user.role != "learner" or not user.is_email_confirmed:
        return []
    return [s.definition for s in standings(user) if s.verdict.ok and s.certificate is None]


def new_verification_code() -> str:
    """128 random bits, URL-safe: unguessable, and separate from the readable number."""
    return secrets.token_urlsafe(16)


def issue_certificate(user: User, definition: CertificateDefinition, *, grounds: str = "rule",
                      facts: Facts | None = None, catalog: Catalog | None = None, actor: User | None = None,
                      actor_label: str = "System", reason: str = "",
                      supersedes: Certificate | None = None) -> tuple[Certificate, bool]:
    """Insert-or-get the current certificate of this learner and definition.

    The database's unique constraint decides races: a concurrent second attempt falls back
    to the row the first one wrote, so the learner gets one certificate and nobody an error.
    """
    existing = current_certificate(user.id, definition.id)
    if existing is not None:
        return existing, False
    issued_at = utcnow()
    certificate = Certificate(
        user_id=user.id, definition_id=definition.id, current_marker=True, status="valid",
        grounds=grounds, issued_at=issued_at, rule_hash=definition.rule_hash,
        verification_code=new_verification_code(), supersedes_id=supersedes.id if supersedes else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(certificate)
            db.session.flush()
    except IntegrityError:
        existing = current_certificate(user.id, definition.id)
        if existing is None:
            raise
        return existing, False
    certificate.number = NUMBER_FORMAT.format(year=issued_at.year, serial=certificate.id)
    # Open Badges 3.0: a revocation bit of its own, and the salt that hides the e-mail address.
    certificate.status_index = status_index_for(certificate.id)
    certificate.identity_salt = secrets.token_hex(16)
    facts = facts or load_facts(user)
    catalog = catalog or load_catalog()
    certificate.snapshot = build_snapshot(user, definition, certificate, facts, catalog, supersedes=supersedes)
    sign(certificate)
    audit("certificate_issued" if grounds == "rule" else "certificate_granted", certificate=certificate,
          actor=actor, actor_label=actor_label, reason=reason)
    db.session.flush()
    notifications.certificate_issued(certificate, user)
    return certificate, True


def current_certificate(user_id: int, definition_id: str) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(
        Certificate.user_id == user_id, Certificate.definition_id == definition_id,
        Certificate.current_marker.is_(True)))


def _referenced(rule, courses: set, modules: set, certificates: set) -> None:
    """Collect the courses, modules and certificates a rule talks about (for the evidence)."""
    if isinstance(rule, list):
        for item in rule:
            _referenced(item, courses, modules, certificates)
        return
    if not isinstance(rule, dict):
        return
    for key, value in rule.items():
        if key in ("all_of", "any_of"):
            _referenced(value, courses, modules, certificates)
        elif key in ("course_completed",):
            courses.add(value)
        elif key in ("module_completed",):
            modules.add(value)
        elif key == "certificate_held":
            certificates.add(value)
        elif isinstance(value, dict):
            if "course" in value:
                courses.add(value["course"])
            if "module" in value:
                modules.add(value["module"])
            modules.update(value.get("modules", []))


def build_snapshot(user: User, definition: CertificateDefinition, certificate: Certificate, facts: Facts,
                   catalog: Catalog, *, supersedes: Certificate | None = None) -> dict:
    """The frozen record printed on the PDF and signed: later edits never change it."""
    courses: set = set()
    modules: set = set()
    certificates: set = set()
    _referenced(definition.rule, courses, modules, certificates)
    rows = {m.id: m for m in db.session.scalars(select(Module).order_by(Module.course_id, Module.position))}
    evidence_ids = [mid for mid, m in rows.items()
                    if mid in facts.completed_modules and (m.course_id in courses or mid in modules)]
    revisions = dict(db.session.execute(select(ContentRevision.id, ContentRevision.number)
                                        .where(ContentRevision.kind == "module")).all())
    progress_rows = {r.module_id: r for r in db.session.scalars(
        select(ModuleProgress).where(ModuleProgress.user_id == user.id))}
    held = {c.definition_id: c for c in db.session.scalars(select(Certificate).where(
        Certificate.user_id == user.id, Certificate.status == "valid"))}
    issuer = programme_meta().get("issuer", {})
    return {
        "version": SNAPSHOT_VERSION,
        "number": certificate.number,
        "verification_code": certificate.verification_code,
        "verify_url": verify_url(certificate.verification_code),
        "holder": {"name": user.name, "municipality": user.municipality},
        "certificate": {"id": definition.id, "title": definition.title, "statement": definition.statement},
        "issuer": issuer,
        "issued_at": certificate.issued_at.isoformat(),
        "grounds": certificate.grounds,
        "evidence": {
            "modules": [{
                "id": mid, "title": rows[mid].title,
                "course_title": catalog.course_title(rows[mid].course_id),
                "completed_at": facts.completed_modules[mid].isoformat(),
                "minutes": rows[mid].minutes,
                "quiz_score": facts.quiz_scores.get(mid),
            } for mid in evidence_ids],
            "workshops": [{
                "module_id": mid, "title": rows[mid].workshop_title or rows[mid].title,
                "attended_at": progress_rows[mid].workshop_attended_at.isoformat(),
            } for mid in evidence_ids if progress_rows.get(mid) and progress_rows[mid].workshop_attended_at],
            "certificates": [{"id": cid, "title": catalog.certificate_title(cid), "number": held[cid].number}
                             for cid in sorted(certificates) if cid in held],
        },
        "rule": {"hash": definition.rule_hash, "definition": definition.rule},
        "content_revisions": {mid: revisions.get(rows[mid].current_revision_id) for mid in evidence_ids},
        "supersedes": supersedes.number if supersedes else None,
    }


# --- signing and documents -----------------------------------------------------------------------
#
# A certificate is signed once, when it is issued: the signature and the id of the signing key
# are stored beside the snapshot. Every download and every verification serves that stored
# signature and checks it against the public key with the stored id (see namalms.keys), so a
# snapshot changed in the database afterwards shows as an integrity error, never as "gültig".

def signing_key():
    """The active Ed25519 key of this installation's key ring (see :mod:`namalms.keys`)."""
    return keys.active_key()


def public_key_pem(kid: str | None = None) -> str | None:
    """The PEM text of the key with id ``kid`` (default: the active key), or None if unknown."""
    if kid is None:
        return signing.public_key_pem(signing_key())
    key = keys.public_key(kid)
    return signing.public_key_pem(key) if key is not None else None


def sign(certificate: Certificate) -> None:
    """Sign the snapshot with the active key and store signature and key id (once, at issue)."""
    key = signing_key()
    certificate.signature = signing.sign_snapshot(certificate.snapshot, key)
    certificate.key_id = signing.key_id(key)


def integrity_of(certificate: Certificate) -> signing.Verification:
    """Check the stored signature against the stored snapshot with the key the row names.

    A failure (changed snapshot, unknown key, missing signature) is logged as an error: it means
    the database was changed outside the application or a key went missing.
    """
    if certificate.is_holder_deleted:
        # The anonymous record left after the holder deleted their account (services.privacy)
        # keeps number, title, date and status and, by design, no signature: the holder's own
        # signed file is the proof; the record only says whether that certificate still stands.
        return signing.Verification(True, "anonymous record of a deleted account (not signed)")
    if not certificate.signature or not certificate.key_id:
        result = signing.Verification(False, "the certificate has no stored signature")
    else:
        key = keys.public_key(certificate.key_id)
        if key is None:
            result = signing.Verification(False, f"the signing key {certificate.key_id} is not in this "
                                                 f"installation's key ring", certificate.key_id)
        else:
            result = signing.verify_document(_signed_part(certificate), key)
    if not result.ok:
        log.error("certificate %s (id %s) fails its integrity check: %s",
                  certificate.number, certificate.id, result.message)
    return result


def _signed_part(certificate: Certificate) -> dict:
    return {"snapshot": certificate.snapshot, "signature": certificate.signature,
            "algorithm": signing.ALGORITHM, "key_id": certificate.key_id}


def status_of(certificate: Certificate) -> dict:
    status = {"state": certificate.status, "label": certificate.status_label}
    if certificate.revoked_at:
        status["revoked_at"] = certificate.revoked_at.isoformat()
        status["reason_category"] = certificate.revocation_category
        status["reason_label"] = REVOCATION_CATEGORIES.get(certificate.revocation_category or "", "")
    if certificate.status == "superseded":
        successor = db.session.scalar(select(Certificate).where(Certificate.supersedes_id == certificate.id))
        if successor is not None:
            status["superseded_by"] = successor.number
    return status


def successor_of(certificate: Certificate) -> Certificate | None:
    """The certificate that replaced this one (re-issue or name correction), if any. Replacing
    clears the current marker, so a current certificate has none (and costs no query)."""
    if certificate.current_marker is True:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.supersedes_id == certificate.id))


def stamp_for(certificate: Certificate):
    """The stamp a printout of a no-longer-valid certificate carries (None while it is valid)."""
    from namalms.certificates.pdf import Stamp  # fpdf2 is loaded only when a PDF is made

    if certificate.status == "revoked":
        reason = REVOCATION_CATEGORIES.get(certificate.revocation_category or "", "")
        detail = f"Widerrufen am {format_date(certificate.revoked_at)}"
        if reason:
            detail += f" – Grund: {reason}"
        if certificate.revocation_reason:
            detail += f" ({certificate.revocation_reason})"
        return Stamp("WIDERRUFEN", detail + ". Prüfen Sie die Gültigkeit immer über den Prüflink.")
    if certificate.status == "superseded":
        successor = successor_of(certificate)
        detail = f"Ersetzt durch {successor.number}" if successor is not None else "Ersetzt durch ein neueres Zertifikat"
        return Stamp("ERSETZT", detail + ". Nur das neue Zertifikat ist gültig.")
    return None


# --- the PDF, built once per state --------------------------------------------------------------------

_PDF_SOURCES = ("pdf.py", "document.py", "fonts.py")


@functools.cache
def _pdf_layout() -> str:
    """A fingerprint of the code that draws the PDF: a deployment that changes the layout makes
    every stored PDF stale without anyone having to remember it."""
    import fpdf

    folder = Path(__file__).resolve().parents[1] / "certificates"
    digest = hashlib.sha256(fpdf.__version__.encode())
    for name in _PDF_SOURCES:
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()


def pdf_state(certificate: Certificate, stamp) -> str:
    """A hash of everything the certificate's PDF shows: snapshot, status stamp, layout."""
    payload = json.dumps({"layout": _pdf_layout(), "snapshot": certificate.snapshot,
                          "stamp": [stamp.word, stamp.detail] if stamp else None},
                         sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def stored_pdf(certificate: Certificate, state: str) -> bytes | None:
    """The PDF stored for this certificate if it was built from ``state``; None otherwise."""
    return db.session.scalar(select(CertificatePdf.data).where(
        CertificatePdf.certificate_id == certificate.id, CertificatePdf.state == state))


def keep_pdf(certificate_id: int, state: str, data: bytes) -> None:
    """Store a freshly built PDF (replacing an older state's). Two workers building the same
    certificate at once both succeed: the insert becomes an update on the second."""
    table = CertificatePdf.__table__
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(table).values(certificate_id=certificate_id, state=state, data=data, created_at=utcnow())
    db.session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.certificate_id],
        set_={"state": statement.excluded.state, "data": statement.excluded.data,
              "created_at": statement.excluded.created_at}))


def document_for(certificate: Certificate) -> dict:
    """The downloadable JSON: the stored snapshot and signature (never signed anew), the public
    key with the stored id, and the certificate's status as of now, which is not signed.

    The anonymous record left after the holder deleted their account carries no signature: the
    signed original is the file the holder kept.
    """
    if certificate.is_holder_deleted:
        return {"snapshot": certificate.snapshot, "status": status_of(certificate), "holder_deleted": True,
                "note": "The holder deleted their account; their own signed certificate file proves the rest."}
    document = _signed_part(certificate)
    document["public_key"] = public_key_pem(certificate.key_id)
    document["status"] = dict(status_of(certificate), checked_at=utcnow().replace(microsecond=0).isoformat(),
                              note="not signed: the current status is shown at verify_url")
    return document


def verify_url(code: str) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        base = request.url_root if has_request_context() else "http://127.0.0.1:5000/"
    return base.rstrip("/") + "/verify/" + code


# --- the office's actions ------------------------------------------------------------------------

def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ServiceError("Bitte geben Sie eine Begründung an (mindestens 5 Zeichen).", "reason",
                           english="a reason of at least 5 characters is required")
    return reason


def revoke_certificate(certificate: Certificate, *, category: str, reason: str, actor: User | None = None,
                       actor_label: str = "") -> Certificate:
    """Withdraw a certificate; the verification page shows "widerrufen" from now on."""
    reason = _require_reason(reason)
    if category not in REVOCATION_CATEGORIES:
        raise ServiceError("Bitte wählen Sie eine Kategorie für den Widerruf.", "category",
                           english="unknown revocation category")
    if certificate.status != "valid":
        raise ServiceError(f"Das Zertifikat {certificate.number} ist bereits {certificate.status_label}.",
                           english=f"cannot revoke: {certificate.number} is already {certificate.status}")
    certificate.status = "revoked"
    certificate.revoked_at = utcnow()
    certificate.revocation_category = category
    certificate.revocation_reason = reason
    audit("certificate_revoked", certificate=certificate, actor=actor, actor_label=actor_label, reason=reason,
          data={"category": category})
    db.session.flush()
    notifications.certificate_revoked(certificate)
    return certificate


def reissue_certificate(certificate: Certificate, *, reason: str, actor: User | None = None,
                        actor_label: str = "") -> Certificate:
    """Replace a certificate by a new one (new number and code); the old one is marked superseded."""
    reason = _require_reason(reason)
    if certificate.current_marker is not True:
        raise ServiceError(f"Das Zertifikat {certificate.number} wurde bereits ersetzt.",
                           english=f"cannot re-issue: {certificate.number} was already replaced")
    _require_holder(certificate)
    user = db.session.get(User, certificate.user_id)
    definition = db.session.get(CertificateDefinition, certificate.definition_id)
    certificate.current_marker = None
    certificate.status = "superseded"
    db.session.flush()
    replacement, _ = issue_certificate(user, definition, grounds=certificate.grounds, actor=actor,
                                       actor_label=actor_label, reason=reason, supersedes=certificate)
    audit("certificate_reissued", certificate=certificate, actor=actor, actor_label=actor_label, reason=reason,
          data={"replacement": replacement.number})
    db.session.flush()
    return replacement


def _require_holder(certificate: Certificate) -> None:
    if certificate.user_id is None:
        raise ServiceError(f"Die Inhaberin bzw. der Inhaber von {certificate.number} hat das Konto gelöscht; das "
                           "Zertifikat kann nur noch widerrufen werden.",
                           english=f"the holder of {certificate.number} deleted their account; it can only be revoked")


def grant_certificate(user: User, definition: CertificateDefinition, *, reason: str, actor: User | None = None,
                      actor_label: str = "") -> Certificate:
    """Issue a certificate by decision of the programme office (recorded as such, not on the PDF)."""
    reason = _require_reason(reason)
    if current_certificate(user.id, definition.id) is not None:
        raise ServiceError("Diese Person hat dieses Zertifikat bereits.")
    if not user.is_email_confirmed:
        raise ServiceError("Die E-Mail-Adresse dieser Person ist noch nicht bestätigt; an eine unbestätigte "
                           "Adresse wird kein Zertifikat ausgestellt. Senden Sie den Bestätigungslink erneut.",
                           english="the holder's e-mail address is not confirmed yet")
    certificate, _ = issue_certificate(user, definition, grounds="office_decision", actor=actor,
                                       actor_label=actor_label, reason=reason)
    return certificate


def audit(action: str, *, certificate: Certificate | None = None, **kwargs) -> AuditEvent:
    """Audit entry; a certificate fills target and subject."""
    if certificate is not None:
        kwargs.update(target_type="certificate", target_id=certificate.number or str(certificate.id),
                      subject_user_id=certificate.user_id)
    return record_audit(action, **kwargs)


def mark_seen(certificate: Certificate, *, at: datetime | None = None) -> None:
    """The holder has opened their certificate: it is no longer announced as new."""
    if certificate.seen_at is None:
        certificate.seen_at = at or utcnow()
        db.session.flush()


def standings_certificates(user: User) -> list[Certificate]:
    """The learner's current (not superseded) certificates."""
    return list(db.session.scalars(_CURRENT_CERTIFICATES, {"user_id": user.id}))


# What a verification page shows changes with its holder's records (the certificate is one of
# them), with the content and with the shared rows (anonymous records: see learner_stamps).
_VERIFICATION_STAMPS = (
    select(Certificate.user_id, LearnerStamp.stamp, ContentState.stamp, ContentState.site_stamp)
    .outerjoin(LearnerStamp, LearnerStamp.user_id == Certificate.user_id)
    .outerjoin(ContentState, ContentState.id == 1)
    .where(Certificate.verification_code == bindparam("code"))
)


def verification_stamps(code: str) -> tuple | None:
    """The stamps a kept verification page of this code is checked against; None: no such code."""
    with single_read() as connection:  # no transaction for a page answered from memory
        row = connection.execute(_VERIFICATION_STAMPS, {"code": code}).first()
    return None if row is None or row[2] is None else tuple(row)


def find_by_code(code: str) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.verification_code == code))


def find_by_number_and_surname(number: str, surname: str) -> Certificate | None:
    """The certificate with this number if its holder's printed name ends with this surname.

    Case, accents written as ae/oe/ue and spacing do not matter; a number alone finds nothing."""
    certificate = find_by_number(number[:40])
    if certificate is None or not surname.strip():
        return None
    printed = (certificate.snapshot or {}).get("holder", {}).get("name", "")
    return certificate if _name_key(printed).endswith(_name_key(surname)) and _name_key(surname) else None


def _name_key(name: str) -> str:
    """A name compared loosely: „Müller“, „mueller“ and „MÜLLER“ are the same surname."""
    folded = name.casefold().translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}))
    return "".join(ch for ch in folded if ch.isalnum())


def find_by_number(number: str) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.number == number.strip().upper()))


def correct_certificate_name(certificate: Certificate, *, new_name: str, reason: str, actor: User | None = None,
                             actor_label: str = "") -> Certificate:
    """Correct a misspelt holder name: the account takes the corrected name and the certificate is
    re-issued under it (new number and code); the old version is marked superseded.

    Snapshots are frozen, so a new version is the only honest way to change a printed name.
    """
    reason = _require_reason(reason)
    new_name = " ".join((new_name or "").split())
    if not new_name:
        raise ServiceError("Bitte geben Sie den korrigierten Namen an.", "new_name")
    if len(new_name) > 200:
        raise ServiceError("Der Name darf höchstens 200 Zeichen lang sein.", "new_name")
    if certificate.current_marker is not True:
        raise ServiceError(f"Das Zertifikat {certificate.number} wurde bereits ersetzt.",
                           english=f"cannot re-issue: {certificate.number} was already replaced")
    if certificate.status != "valid":
        raise ServiceError(f"Das Zertifikat {certificate.number} ist {certificate.status_label}; "
                           "nur gültige Zertifikate lassen sich berichtigen.")
    _require_holder(certificate)
    printed = (certificate.snapshot or {}).get("holder", {}).get("name")
    if new_name == printed:
        raise ServiceError(f"Auf dem Zertifikat steht bereits „{new_name}“.", "new_name")
    user = db.session.get(User, certificate.user_id)
    account_name = user.name
    user.name = new_name
    audit("certificate_name_corrected", certificate=certificate, actor=actor, actor_label=actor_label, reason=reason,
          data={"from": printed, "to": new_name, "account_name_before": account_name})
    db.session.flush()
    return reissue_certificate(certificate, reason=reason, actor=actor, actor_label=actor_label)
