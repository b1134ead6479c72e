"""Demo data for `flask --app namalms demo`: accounts and realistic partial progress.

Idempotent: accounts that exist are left alone, so running it on every `make run` is safe.
The course run is replayed on its own clock (`replayed_clock`): each account is registered
before its first activity, and a certificate is dated the day its last condition was met.
The demo trainer looks after the Grundlagenkurs and the Sonderkurs; a second trainer the
regular course, so the office's course assignment can be tried right away.
"""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from namalms.extensions import db
from namalms.models import Course, Module, User
from namalms.models.base import replayed_clock, utcnow
from namalms.services import accounts, certificates, mail, progress, trainer_courses

DEMO_PASSWORD = "NaMa-Demo-2026!"

STAFF = [
    ("learner", "teilnehmerin@demo.nama.nrw", "Lea Lernwillig", "kreis-dueren", "Gemeinde Merzenich"),
    ("trainer", "trainer@demo.nama.nrw", "Tobias Trainer", None, "LAG 21 NRW"),
    ("trainer", "trainerin.lehrgang@demo.nama.nrw", "Rita Reinhardt", None, "LAG 21 NRW"),
    ("admin", "programmbuero@demo.nama.nrw", "Paula Programmbüro", None, "LAG 21 NRW"),
]
# The courses each demo trainer looks after (set once, when the trainer has none yet).
TRAINER_COURSES = {
    "trainer@demo.nama.nrw": ["grundlagenkurs", "sonderkurs-strukturwandel"],
    "trainerin.lehrgang@demo.nama.nrw": ["regulaerer-lehrgang"],
}

# (name, district, municipality, [(course, how many modules completed), …])
LEARNERS = [
    ("Anna Achterberg", "staedteregion-aachen", "Stadt Eschweiler", [("sonderkurs-strukturwandel", 4)]),
    ("Bernd Brückner", "rhein-erft-kreis", "Stadt Bergheim", [("sonderkurs-strukturwandel", 2)]),
    # Holds the Sonderkurs certificate.
    ("Canan Çelik", "stadt-gelsenkirchen", "Stadt Gelsenkirchen", [("sonderkurs-strukturwandel", 6)]),
    ("Dirk Dahlmann", "stadt-hamm", "Stadt Hamm", [("sonderkurs-strukturwandel", 1)]),
    ("Elif Ekinci", "kreis-unna", "Stadt Lünen", [("grundlagenkurs", 3)]),
    # Holds the Grundlagenkurs certificate.
    ("Frank Faßbender", "stadt-muenster", "Stadt Münster", [("grundlagenkurs", 6)]),
    ("Gül Gündoğan", "kreis-borken", "Stadt Bocholt", [("grundlagenkurs", 2)]),
    # Completed the Grundlagenkurs; the certificate was revoked (see REVOKED).
    ("Hannah Hüsken", "kreis-lippe", "Stadt Detmold", [("grundlagenkurs", 6)]),
    ("Ingo Imhoff", "stadt-duisburg", "Stadt Duisburg", [("sonderkurs-strukturwandel", 3)]),
    # One module short of the Grundlagenkurs certificate.
    ("Jana Jäger", "hochsauerlandkreis", "Stadt Arnsberg", [("grundlagenkurs", 5)]),
    ("Kemal Karaca", "stadt-herne", "Stadt Herne", [("grundlagenkurs", 4)]),
    ("Lisa Lohmann", "ausserhalb-nrw", "Landkreis Osnabrück", [("grundlagenkurs", 0)]),
    # Sonderkurs, then seven sector modules of the regular course: holds the Pro-Zertifikat.
    ("Mehmet Meyer", "kreis-dueren", "Stadt Düren",
     [("sonderkurs-strukturwandel", 6), ("regulaerer-lehrgang", 0), ("regulaerer-lehrgang+sector", 7)]),
]
# Shown after `flask demo`, with their state read from the database, so every certificate
# state can be tried right away.
NOTABLE = ["frank.fassbender@demo.nama.nrw", "canan.celik@demo.nama.nrw", "mehmet.meyer@demo.nama.nrw",
           "hannah.huesken@demo.nama.nrw", "jana.jaeger@demo.nama.nrw"]
REVOKED = {"Hannah Hüsken": ("error", "Demo: Workshop-Teilnahme irrtümlich eingetragen, Nachweis fehlt.")}


def describe_demo_learners() -> list[tuple[str, str]]:
    """(e-mail, state in German) of the notable demo learners, as the database has them now."""
    described = []
    for email in NOTABLE:
        user = accounts.find_user_by_email(email)
        if user is None:
            continue
        described.append((email, _state_of(user)))
    return described


def _state_of(user: User) -> str:
    held = certificates.standings(user)
    parts = []
    for standing in held:
        certificate = standing.certificate
        if certificate is not None:
            verb = "hat" if certificate.is_valid else f"{certificate.status_label}:"
            parts.append(f"{verb} {standing.definition.short_title or standing.definition.title} ({certificate.number})")
    if parts:
        return "; ".join(parts)
    closest = min((s for s in held if not s.verdict.ok), key=lambda s: len(s.missing), default=None)
    if closest is None:
        return "noch ohne Zertifikat"
    missing = ", ".join(m.label for m in closest.missing[:2])
    return f"noch ohne Zertifikat – für „{closest.definition.title}“ fehlt: {missing}"


def _email_for(name: str) -> str:
    local = name.lower().replace(" ", ".")
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("ç", "c"), ("ğ", "g"), ("ı", "i")):
        local = local.replace(a, b)
    return f"{local}@demo.nama.nrw"


def _ensure_user(role, email, name, district, municipality) -> tuple[User, bool]:
    user = accounts.find_user_by_email(email)
    if user is not None:
        return user, False
    return accounts.create_user(email=email, name=name, role=role, password=DEMO_PASSWORD,
                                district_id=district, municipality=municipality), True


def complete_module(user: User, module: Module, at) -> None:
    """Work through a module as a diligent learner would: open, read, pass the quiz, attend.

    Each step happens at its own time, so what it triggers (a certificate, an audit entry)
    carries that time too (never later than now)."""
    done_at = at + timedelta(minutes=module.minutes or 30)
    with replayed_clock(at):
        progress.record_visit(user, module, at=at)
    with replayed_clock(done_at):
        progress.mark_done(user, module, at=done_at)
    quiz = progress.quiz_of(module)
    if quiz is not None:
        answers = {q.id: {i for i, o in enumerate(q.options) if o.is_correct} for q in quiz.questions}
        with replayed_clock(done_at + timedelta(minutes=10)):
            progress.submit_quiz(user, module, answers, at=done_at + timedelta(minutes=10))
    if module.has_workshop:
        with replayed_clock(at + timedelta(days=7)):
            progress.record_workshop_attendance(user, module, at=at + timedelta(days=7), source="demo")


def seed_demo(seed: int = 2026) -> list[tuple[str, str, str]]:
    """Create the demo accounts (confirmed) and progress; returns (role, e-mail, password) of the logins.

    No mail is queued: nobody should be told about invented certificates.
    """
    with mail.suppressed():
        return _seed(seed)


def _seed(seed: int) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    logins = []
    start = utcnow() - timedelta(days=300)
    courses = {c.id: c for c in db.session.scalars(select(Course))}
    with replayed_clock(start - timedelta(days=30)):  # staff accounts exist before the course run
        for role, email, name, district, municipality in STAFF:
            user, _ = _ensure_user(role, email, name, district, municipality)
            logins.append((role, email, DEMO_PASSWORD))
            if role == "trainer" and not trainer_courses.assigned_courses(user):
                for course_id in TRAINER_COURSES.get(email, []):
                    if course_id in courses:
                        trainer_courses.assign(user, courses[course_id], actor_label="Demo-Daten")
    for name, district, municipality, plan in LEARNERS:
        at = start + timedelta(days=rng.randint(0, 40))
        with replayed_clock(at - timedelta(days=rng.randint(1, 5))):  # registered a few days before starting
            user, created = _ensure_user("learner", _email_for(name), name, district, municipality)
        if not created:
            continue
        for course_id, done in plan:
            course_id, _, part = course_id.partition("+")
            course = courses.get(course_id)
            if course is None:
                continue
            with replayed_clock(at):
                progress.enrol(user, course, at=at)
            modules = [m for m in course.modules if not m.is_retired]
            if part == "sector":
                modules = modules[1:]  # the base module is credited by the Sonderkurs certificate
            at += timedelta(days=1)
            for module in modules[:done]:
                complete_module(user, module, at)
                at += timedelta(days=rng.randint(3, 9))
            if 0 < done < len(modules):
                with replayed_clock(at):
                    progress.record_visit(user, modules[done], at=at)  # started the next one
        if name in REVOKED:
            category, reason = REVOKED[name]
            with replayed_clock(at + timedelta(days=12)):
                for certificate in certificates.standings_certificates(user):
                    certificates.revoke_certificate(certificate, category=category, reason=reason,
                                                    actor_label="Demo-Daten")
    db.session.flush()
    return logins
