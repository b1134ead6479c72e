"""Benchmark: the programme office's certification status list, its export and statistics.

Seeds a throw-away database with 10,000 learners and 200,000 module-progress rows (bulk
inserts, seconds not minutes), plus enrolments, eligibility standings and certificates so
every filter finds people, then measures with the Flask test client logged in as admin:

    status_first_page_ms       /office/ (median of several requests; target ≤ 150 ms)
    status_filtered_page_ms    /office/ with course, region, status and sort (target ≤ 150 ms)
    status_search_page_ms      /office/?q=<certificate number>
    status_last_page_ms        the last page (largest OFFSET)
    api_learners_500_ms        /api/v1/learners?per_page=500
    csv_export_s               a full CSV export, every learner (target ≤ 3 s)
    xlsx_export_s              the same as XLSX
    export_peak_memory_mib     peak Python memory of the full CSV export (tracemalloc)
    statistics_page_ms         /office/statistics, when that page exists (target ≤ 300 ms)
    *_queries                  SQL statements per request (constant, whatever the row count)

Run from the project root:
    .venv/bin/python -m tests.bench.bench_office                     # SQLite in a temp dir
    .venv/bin/python -m tests.bench.bench_office --postgresql URL    # PostgreSQL

With --postgresql the benchmark works in a schema of its own (bench_<random>) inside the
given database and drops it afterwards: nothing else in that database is touched.
With --schema NAME as well it works in that schema and keeps it: seeded on the first run,
reused by later ones (seeding 100,000 learners takes minutes; the timed part does not change
the data except for re-writing the eligibility standings).
It prints one figure per line, `name: value unit`. It is not a test (pytest does not collect
`bench_*.py`).
"""
from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL = "bench-programmbuero@example.org"
ADMIN_PASSWORD = "Sonnenblume-Windrad-42"
BATCH = 5000
NOW = datetime.now(timezone.utc)
FIRST_NAMES = ["Anna", "Jürgen", "Özlem", "Bernd", "Canan", "Dörte", "Elif", "Frank", "Gül", "Hannah", "Ingo",
               "Jana", "Kemal", "Lea", "Mehmet", "Nils", "Ömer", "Paula", "Ralf", "Sören", "Tülay", "Ute", "Vera",
               "Wiebke", "Yusuf", "Zoë"]
LAST_NAMES = ["Achterberg", "Brückner", "Çelik", "Dahlmann", "Ekinci", "Faßbender", "Gündoğan", "Hüsken",
              "Imhoff", "Jäger", "Karaca", "Lohmann", "Meyer", "Nüßgen", "Özdemir", "Pütz", "Quast", "Röttgen",
              "Schäfer", "Tönnies", "Ümit", "Vogt", "Weiß", "Yılmaz", "Zöller"]
GK, SK, RL = "grundlagenkurs", "sonderkurs-strukturwandel", "regulaerer-lehrgang"
STRUCTURAL_REGIONS = {"rheinisches-revier", "ruhr-kraftwerksstandorte"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--progress", type=int, default=200_000, help="module progress rows in all")
    parser.add_argument("--repeat", type=int, default=7, help="requests per page figure (the median is printed)")
    parser.add_argument("--postgresql", metavar="URL", help="PostgreSQL database to work in (a temporary schema)")
    parser.add_argument("--schema", help="with --postgresql: a schema to keep and reuse (seeded when empty)")
    return parser.parse_args(argv)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- database -----------------------------------------------------------------------------------------

@contextmanager
def database(args: argparse.Namespace):
    """(URL, engine options) of a fresh database; removed afterwards."""
    if not args.postgresql:
        workdir = Path(tempfile.mkdtemp(prefix="namalms-bench-office-"))
        try:
            yield f"sqlite:///{workdir / 'bench.sqlite3'}", {}
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return
    from sqlalchemy import create_engine, text

    from namalms.config import normalise_database_url

    url = normalise_database_url(args.postgresql)
    schema = args.schema or f"bench_{secrets.token_hex(4)}"
    admin_engine = create_engine(url)
    with admin_engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    try:
        yield url, {"connect_args": {"options": f"-csearch_path={schema}"}}
    finally:
        if not args.schema:
            with admin_engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin_engine.dispose()


def seeded_before() -> dict | None:
    """The figures of an earlier seeding of this (kept) schema, or None if it is empty."""
    from sqlalchemy import func, inspect, select

    from namalms.extensions import db
    from namalms.models import Certificate, Enrollment, Eligibility, ModuleProgress, User

    if not inspect(db.engine).has_table("user"):
        return None
    learners = db.session.scalar(select(func.count()).select_from(User).where(User.role == "learner"))
    if not learners:
        return None
    count = db.session.scalar(select(func.count()).select_from(Certificate)) or 0
    return {"learners": learners, "progress": db.session.scalar(select(func.count()).select_from(ModuleProgress)),
            "enrolments": db.session.scalar(select(func.count()).select_from(Enrollment)),
            "eligibility": db.session.scalar(select(func.count()).select_from(Eligibility)), "certificates": count,
            "sample_number": db.session.scalar(select(Certificate.number).order_by(Certificate.id)
                                               .offset(count // 2).limit(1)) or "NAMA-2026-00001"}


def make_app(url: str, engine_options: dict):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from namalms import create_app
    from namalms.certificates.keyring import private_pem

    return create_app({
        "SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "SECRET_KEY": secrets.token_urlsafe(32), "WTF_CSRF_ENABLED": False,
        "CONTENT_DIR": str(PROJECT_ROOT / "content"),
        # A throwaway signing key: the benchmark never touches the installation's real one.
        "CERTIFICATE_SIGNING_KEY": private_pem(Ed25519PrivateKey.generate()).decode("ascii"),
    })


# --- seeding --------------------------------------------------------------------------------------------

def insert_all(model, rows: list[dict]) -> None:
    from sqlalchemy import insert

    from namalms.extensions import db

    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(model), rows[start:start + BATCH])


def spread(capacities: list[int], target: int) -> list[int]:
    """How many progress rows each learner gets: as even as their modules allow, `target` in all."""
    base = target // max(len(capacities), 1)
    counts = [min(capacity, base) for capacity in capacities]
    left = target - sum(counts)
    for index, capacity in enumerate(capacities):
        if left <= 0:
            break
        extra = min(capacity - counts[index], left)
        counts[index] += extra
        left -= extra
    if left > 0:
        raise SystemExit(f"cannot place {target} progress rows: the learners' courses hold only {sum(capacities)}")
    return counts


def seed(learner_count: int, progress_target: int) -> dict:
    """Migrate, sync content, then bulk-insert learners and everything the status list shows."""
    import random

    from flask_migrate import upgrade
    from sqlalchemy import func, select, update

    from namalms.content.loader import load_tree
    from namalms.extensions import db
    from namalms.models import (
        Certificate, CertificateDefinition, Course, District, Eligibility, Enrollment, Module, ModuleProgress,
        User,
    )
    from namalms.services.accounts import create_user
    from namalms.services.content_sync import sync_tree

    rng = random.Random(2026)
    upgrade()
    result = load_tree(PROJECT_ROOT / "content")
    if result.problems:
        raise SystemExit("content has problems:\n" + "\n".join(map(str, result.problems)))
    sync_tree(result.tree)
    create_user(email=ADMIN_EMAIL, name="Benchmark Programmbüro", role="admin", password=ADMIN_PASSWORD)
    db.session.commit()

    districts = db.session.execute(select(District.id, District.name, District.region_id)).all()
    modules: dict[str, list] = {GK: [], SK: [], RL: []}
    for module in db.session.scalars(select(Module).where(Module.is_retired.is_(False)).order_by(Module.position)):
        modules.setdefault(module.course_id, []).append(module)
    course_titles = dict(db.session.execute(select(Course.id, Course.title)).all())
    definitions = {d.id: d for d in db.session.scalars(select(CertificateDefinition))}

    users = []
    for n in range(learner_count):
        district_id, district_name, region_id = districts[n % len(districts)]
        activity = rng.random()
        users.append({
            "email": f"lernende{n:06d}@bench.example", "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            "role": "learner", "password_hash": "!", "district_id": district_id, "region_id": region_id,
            "municipality": f"{district_name.replace('Kreis ', 'Gemeinde ')} {n % 9 or ''}".strip(),
            "created_at": NOW - timedelta(days=400 - n % 300),
            # A third inactive for more than 90 days, a few never active.
            "last_activity_at": None if activity < 0.03 else NOW - timedelta(days=int(activity * 300), minutes=n),
            "is_active_account": True, "session_version": 1,
        })
    insert_all(User, users)
    ids = list(db.session.scalars(select(User.id).where(User.role == "learner").order_by(User.id)))

    plans = []  # per learner: (courses, modules in order)
    for n, user_id in enumerate(ids):
        courses = [GK, RL] + ([SK] if n % 10 else [])
        plans.append((courses, [m for course in (GK, SK, RL) if course in courses for m in modules[course]]))
    counts = spread([len(plan[1]) for plan in plans], progress_target)

    enrolments, progress, eligibility, certificates = [], [], [], []
    serial = 0
    for n, user_id in enumerate(ids):
        courses, candidates = plans[n]
        diligence = rng.random()
        started = NOW - timedelta(days=20 + (n * 37) % 380)
        for course in courses:
            enrolments.append({"user_id": user_id, "course_id": course, "enrolled_at": started})
        completed = set()
        for module in candidates[:counts[n]]:
            done = rng.random() < diligence
            seen = started + timedelta(days=rng.randint(0, 19))
            progress.append({"user_id": user_id, "module_id": module.id, "first_viewed_at": seen, "last_viewed_at": seen,
                             "done_at": seen if done else None, "completed_at": seen if done else None,
                             "best_quiz_score": 90 if done else None, "quiz_passed_at": seen if done else None})
            if done:
                completed.add(module.id)
        region_id = users[n]["region_id"]
        open_gk = [f"Modul „{m.title}“ abgeschlossen" for m in modules[GK] if m.is_required and m.id not in completed]
        open_sk = [f"Modul „{m.title}“ abgeschlossen" for m in modules[SK] if m.is_required and m.id not in completed]
        if open_sk or SK not in courses:
            open_sk.append(f"Mindestens 2 Workshops aus „{course_titles[SK]}“ besucht")
        if region_id not in STRUCTURAL_REGIONS:
            open_sk.append("Region „Rheinisches Revier“ oder „Ruhr-Kraftwerksstandorte“")
        others = [m for m in modules[RL] if m.id != "rl-basismodul" and m.id in completed]
        open_pro = []
        if "rl-basismodul" not in completed and open_sk:
            open_pro.append("Modul „Basismodul: Kommunales Nachhaltigkeitsmanagement“ abgeschlossen")
        if len(others) < 7:
            open_pro.append(f"Mindestens 7 Module aus „{course_titles[RL]}“ ({len(others)} von 7)")
        for definition_id, missing in (("zertifikat-grundlagenkurs", open_gk), ("zertifikat-sonderkurs", open_sk),
                                       ("pro-zertifikat", open_pro)):
            if definition_id not in definitions:
                continue
            eligibility.append({"user_id": user_id, "definition_id": definition_id, "is_met": not missing,
                                "missing_count": len(missing), "done": 2 - min(len(missing), 2), "total": 2,
                                "missing": missing, "evaluated_at": NOW})
            if not missing:
                serial += 1
                revoked = serial % 50 == 0
                certificates.append({
                    "user_id": user_id, "definition_id": definition_id, "number": f"NAMA-2026-{serial:05d}",
                    "verification_code": secrets.token_urlsafe(16), "current_marker": True,
                    "status": "revoked" if revoked else "valid", "grounds": "rule",
                    "issued_at": started + timedelta(days=25), "rule_hash": definitions[definition_id].rule_hash,
                    "snapshot": {}, "signature": "", "key_id": "", "revoked_at": NOW if revoked else None})
    insert_all(Enrollment, enrolments)
    db.session.execute(update(User).where(User.role == "learner").values(first_enrolled_at=select(
        func.min(Enrollment.enrolled_at)).where(Enrollment.user_id == User.id).scalar_subquery()))
    insert_all(ModuleProgress, progress)
    insert_all(Eligibility, eligibility)
    insert_all(Certificate, certificates)
    db.session.commit()
    near = sum(1 for row in eligibility if row["missing_count"] == 1)
    return {"learners": len(ids), "progress": len(progress), "enrolments": len(enrolments),
            "eligibility": len(eligibility), "certificates": len(certificates), "one_condition_short": near,
            "sample_number": certificates[len(certificates) // 2]["number"] if certificates else "NAMA-2026-00001"}


# --- measuring ------------------------------------------------------------------------------------------

@contextmanager
def counting_statements(engine):
    from sqlalchemy import event

    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


@contextmanager
def app_engine(app):
    """The app's engine, looked up in a short app context of its own (requests push their own)."""
    from namalms.extensions import db

    with app.app_context():
        engine = db.engine
    yield engine


def fetch(client, url: str, headers: dict | None = None) -> tuple[float, int, int]:
    """(seconds, bytes, statements) of one GET, the body read to the end."""
    with app_engine(client.application) as engine, counting_statements(engine) as statements:
        began = time.perf_counter()
        response = client.get(url, headers=headers or {})
        size = sum(len(chunk) for chunk in response.iter_encoded())
        response.close()
        elapsed = time.perf_counter() - began
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    return elapsed, size, len(statements)


def median_ms(client, url: str, repeat: int, headers: dict | None = None) -> tuple[str, int]:
    fetch(client, url, headers)  # warm-up: templates compiled, caches filled
    runs = [fetch(client, url, headers) for _ in range(repeat)]
    return ms(statistics.median(run[0] for run in runs)), runs[-1][2]


def peak_memory_mib(client, url: str) -> float:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fetch(client, url)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def run(args: argparse.Namespace) -> None:
    with database(args) as (url, engine_options):
        app = make_app(url, engine_options)
        backend = "PostgreSQL" if args.postgresql else "SQLite"
        with app.app_context():
            began = time.perf_counter()
            seeded = seeded_before() if args.schema else None
            if seeded is not None:
                from flask_migrate import upgrade

                upgrade()  # a migration added since the schema was seeded (an index) applies too
                say(f"setup: reusing schema {args.schema}")
            seeded = seeded or seed(args.learners, args.progress)
            say(f"setup: {backend}, seeded {seeded['learners']} learners, {seeded['progress']} progress rows, "
                f"{seeded['enrolments']} enrolments, {seeded['eligibility']} eligibility rows, "
                f"{seeded['certificates']} certificates in {time.perf_counter() - began:.1f} s")
            if args.postgresql:
                from sqlalchemy import text

                from namalms.extensions import db

                # Seeding updates every learner and eligibility row once (a dead row version each);
                # autovacuum clears them within minutes on a live server. Measured before that,
                # the figures would be those of a table in the middle of a bulk load.
                db.session.commit()
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    connection.execute(text("VACUUM ANALYZE"))
        client = app.test_client()
        login = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        if login.status_code != 302:
            raise SystemExit(f"admin login failed: {login.status_code}")
        with app.app_context():
            from namalms.extensions import db
            from namalms.services import tokens

            # A name of its own per run: a kept schema (--schema) still holds the last run's token.
            _, token = tokens.create_token(f"Benchmark {secrets.token_hex(3)}", actor_label="Benchmark")
            db.session.commit()
        api_headers = {"Authorization": f"Bearer {token}"}
        filtered = (f"/office/?course={RL}&region=rheinisches-revier&status=fehlt-1&sort=activity&order=desc")
        figures = []
        for name, page in (("status_first_page", "/office/"), ("status_filtered_page", filtered),
                           ("status_search_page", f"/office/?q={seeded['sample_number']}"),
                           ("status_inactive_page", "/office/?status=inaktiv&sort=enrolled"),
                           ("status_last_page", f"/office/?page={max(1, -(-seeded['learners'] // 50))}")):
            value, queries = median_ms(client, page, args.repeat)
            figures += [(f"{name}_ms", value, "ms"), (f"{name}_queries", queries, "statements")]
        value, queries = median_ms(client, "/api/v1/learners?per_page=500", args.repeat, api_headers)
        figures += [("api_learners_500_ms", value, "ms"), ("api_learners_500_queries", queries, "statements")]
        seconds, size, queries = fetch(client, "/office/zertifizierungsstand.csv")
        figures += [("csv_export_s", f"{seconds:.2f}", "s"), ("csv_export_size", f"{size / 2**20:.1f}", "MiB"),
                    ("csv_export_queries", queries, "statements")]
        seconds, size, _ = fetch(client, "/office/zertifizierungsstand.xlsx")
        figures += [("xlsx_export_s", f"{seconds:.2f}", "s"), ("xlsx_export_size", f"{size / 2**20:.1f}", "MiB")]
        figures.append(("export_peak_memory_mib", f"{peak_memory_mib(client, '/office/zertifizierungsstand.csv'):.1f}",
                        "MiB"))
        if any(rule.rule == "/office/statistics" for rule in app.url_map.iter_rules()):
            value, queries = median_ms(client, "/office/statistics", args.repeat)
            figures += [("statistics_page_ms", value, "ms"), ("statistics_page_queries", queries, "statements")]
        else:
            figures.append(("statistics_page_ms", "n/a (not built)", ""))
        with app.app_context():
            from namalms.extensions import db
            from namalms.services.evaluation import evaluate_everyone

            began = time.perf_counter()
            report = evaluate_everyone(dry_run=True)
            dry = time.perf_counter() - began
            db.session.rollback()
            began = time.perf_counter()
            evaluate_everyone()
            db.session.commit()
            real = time.perf_counter() - began
            scale = 10_000 / max(report.learners, 1)
            figures += [("evaluate_dry_run_per_10000_learners_s", f"{dry * scale:.2f}", "s"),
                        ("evaluate_per_10000_learners_s", f"{real * scale:.2f}", "s"),
                        ("evaluate_learners", report.learners, "learners")]
            db.engine.dispose()
        for name, value, unit in figures:
            print(f"{name}: {value} {unit}".rstrip(), flush=True)


def main(argv: list[str] | None = None) -> int:
    run(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
