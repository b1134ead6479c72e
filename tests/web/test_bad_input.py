"""Bad input never gives a 500: a table of hostile values against every route, parameter and form.

The routes come from the app's own url_map and the parameter and form field names are read from
the source (``args.get("…")``, ``form.get("…")``, WTForms fields), so a new route or parameter
is covered without touching this file. Each route is requested as the roles that can reach it,
with valid objects in its URL (so the view really parses its parameters) and with broken ones.
"""
from __future__ import annotations

import inspect
import io
import re
import sys
import zipfile
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from flask import got_request_exception
from sqlalchemy import select

from namalms import gunicorn_conf
from namalms.extensions import db
from namalms.models import Asset, CertificateDefinition, Course, Module
from tests.conftest import PASSWORD, FreshUserClient
from tests.web.test_trainer_content import content  # noqa: F401  (fixture)

pytestmark = pytest.mark.both_databases  # PostgreSQL refuses NUL bytes and 64-bit overflows; SQLite does not

PACKAGE = Path(__file__).resolve().parents[2] / "namalms"

# Hostile values for query parameters and form fields.
BAD_VALUES = {
    "nul": "a\x00b",
    "huge-int": "9" * 30,
    "int64-plus-one": str(2**63),
    "negative": "-1",
    "zero": "0",
    "superscript-two": "²",
    "arabic-digit": "٣",
    "fraction": "1.5",
    "empty": "",
    "blank": "   ",
    "long": "x" * 5000,
    "crlf": "a\r\nSet-Cookie: x=1",
    "bad-url": "http://[bad]/x",
    "path": "../../etc/passwd",
    "html": "<script>alert(1)</script>",
    "emoji": "🙂" * 40,
    "date": "31.02.2026",
    "sql": "' OR 1=1 --",
    "email-302": "a" * 290 + "@example.org",
}
# Hostile values in the URL path itself.
BAD_PATH_VALUES = ["a\x00b", "9" * 30, str(2**63), "0", "²", "x" * 3000, "../../etc", "<script>", "🙂", " ", "%"]

_PATTERNS = [
    r"""\bargs\.get\(\s*["'](\w+)["']""",
    r"""\bargs\[\s*["'](\w+)["']\s*\]""",
    r"""requested_(?:page|id|ids)\(\s*request\.(?:args|form)\s*,\s*["'](\w+)["']""",
    r"""\bform\.get(?:list)?\(\s*["'](\w+)["']""",
    r"""\bform\[\s*["'](\w+)["']\s*\]""",
    r"""\bfiles\.get\(\s*["'](\w+)["']""",
    r"""_positive_int\(\s*["'](\w+)["']""",
    r"""\btext\(\s*["'](\w+)["']""",  # office_queries.parse_filters
    r"""for name, label in \(\(\s*["'](\w+)["'],[^)]*\),\s*\(\s*["'](\w+)["']""",  # its date pairs
]


def names_in_source() -> dict[str, set[Path]]:
    """Every query parameter and form field name the app reads, with the files that read it."""
    names: dict[str, set[Path]] = {}

    def found(name: str, path: Path) -> None:
        names.setdefault(name, set()).add(path)

    for path in PACKAGE.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for pattern in _PATTERNS:
            for match in re.findall(pattern, source):
                for name in [match] if isinstance(match, str) else match:
                    found(name, path)
    from flask_wtf import FlaskForm

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for form in subclasses(FlaskForm):
        if form.__module__.startswith("namalms"):
            path = Path(sys.modules[form.__module__].__file__).resolve()
            for name, value in vars(form).items():
                if hasattr(value, "field_class"):
                    found(name, path)
    return names


def is_view_file(path: Path) -> bool:
    """Whether a file defines routes (else it parses input for several views: services, helpers)."""
    return re.search(r"""@\w+\.(?:route|get|post)\(""", path.read_text(encoding="utf-8")) is not None


def dotted(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def uses(view_file: Path, helper_file: Path) -> bool:
    """Whether a view file imports the module of a helper file (a service, a form, the pager)."""
    name = dotted(helper_file)
    parent, _, last = name.rpartition(".")
    source = view_file.read_text(encoding="utf-8")
    return f"{name} import" in source or f"import {name}" in source or \
        re.search(rf"from {re.escape(parent)} import [^\n]*\b{last}\b", source) is not None


def parameters_for(view_file: Path) -> list[str]:
    """The names worth sending to a route one at a time: those its own file reads and those read
    by the services, forms and helpers it imports; the rest are sent all together anyway."""
    return sorted(name for name, files in PARAMETER_FILES.items()
                  if view_file in files or any(not VIEW_FILE[f] and uses(view_file, f) for f in files))


def test_the_source_scan_finds_the_parameters_we_know():
    """If this fails, the scan above lost track of how the app reads its input."""
    known = {"page", "versuch", "revoke", "user_id", "next", "code", "q", "status", "enrolled_from", "per_page",
             "alt", "neu", "verlauf", "source", "base_revision_id", "message", "reason", "email", "name", "password",
             "file", "image", "title", "capacity", "duration", "target", "kurs", "modul"}
    assert known <= set(PARAMETERS), known - set(PARAMETERS)


class World:
    """Real objects to put into URLs, and a logged-in client per role."""

    def __init__(self, app, make_user):
        from namalms import keys
        from namalms.services import certificates, progress, tokens, workshops

        self.learner = make_user("learner")
        self.trainer = make_user("trainer")
        self.admin = make_user("admin")
        progress.enrol(self.learner, db.session.get(Course, "grundlagenkurs"))
        certificate = certificates.grant_certificate(
            self.learner, db.session.get(CertificateDefinition, "zertifikat-grundlagenkurs"),
            reason="Für die Prüfung mit schlechten Eingaben", actor=self.admin)
        draft = workshops.WorkshopDraft(target="course:grundlagenkurs", title="Werkstatt", description="",
                                        date="2030-05-04", start_time="10:00", end_date="", end_time="12:00",
                                        duration="", format="online", location="https://example.org/raum",
                                        capacity="")
        workshop = workshops.schedule_workshop(draft, actor=self.trainer)
        token, self.token_secret = tokens.create_token(name="Fuzz", actor=self.admin)
        asset = db.session.scalar(select(Asset).limit(1))
        db.session.commit()
        self.values = {
            "module_id": "gk-agenda-2030", "course_id": "grundlagenkurs", "number": certificate.number,
            "code": certificate.verification_code, "workshop_id": str(workshop.id), "user_id": str(self.learner.id),
            "certificate_id": str(certificate.id), "token_id": str(token.id), "chart_id": "einschreibungen",
            "sha": asset.sha256, "ext": asset.path.rsplit(".", 1)[-1], "kid": keys.ring().active_id,
            "path": asset.path, "filename": "namalms.css",
        }
        self.revision_number = "1"
        module = db.session.get(Module, "gk-agenda-2030")
        self.module_source, self.revision_id = module.current_revision.source, str(module.current_revision_id)
        app.test_client_class = FreshUserClient
        self.clients = {"anonymous": app.test_client()}
        for role, user in (("learner", self.learner), ("trainer", self.trainer), ("admin", self.admin)):
            client = app.test_client()
            response = client.post("/login", data={"email": user.email, "password": PASSWORD})
            assert response.status_code == 302, role
            self.clients[role] = client
        self.requests = 0
        self.app = app


REASON = "Begründung für die Prüfung"


def valid_forms(world) -> dict[str, dict[str, str]]:
    """A form each POST route accepts; one field at a time is then replaced by a hostile value, so
    the bad value gets past the other checks into the service and the database."""
    workshop = {"target": "course:grundlagenkurs", "title": "Werkstatt", "date": "2030-06-01",
                "start_time": "10:00", "end_time": "12:00", "format": "online",
                "location": "https://example.org/raum", "capacity": "20", "description": "Mit Übungen"}
    return {
        "auth.login": {"email": world.learner.email, "password": PASSWORD},
        "auth.register": {"name": "Neue Person", "email": "neu@example.org", "password": PASSWORD,
                          "password_repeat": PASSWORD, "district_id": "kreis-dueren",
                          "municipality": "Gemeinde Merzenich", "privacy": "y"},
        "learner.profile": {"name": "Neuer Name", "district_id": "kreis-dueren",
                            "municipality": "Gemeinde Niederzier"},
        "office.create_trainer": {"name": "Tina Trainerin", "email": "tina@example.org", "password": ""},
        "office.tokens": {"name": "Auswertung"},
        "office.revoke_certificate": {"category": "error", "reason": REASON},
        "office.reissue_certificate": {"reason": REASON},
        "office.correct_name": {"new_name": "Richtiger Name", "reason": REASON},
        "office.grant_certificate": {"definition_id": "zertifikat-sonderkurs", "reason": REASON},
        "office.change_role": {"role": "trainer", "reason": REASON},
        "office.deactivate": {"reason": REASON},
        "trainer.workshop_new": workshop,
        "trainer.workshop_edit": workshop,
        "trainer.workshop_cancel": {"reason": REASON},
        "trainer.content_retire": {"reason": REASON},
        "trainer.content_edit": {"source": world.module_source, "message": "Tippfehler", "action": "pruefen",
                                 "base_revision_id": world.revision_id},
    }


# Routes whose success logs the client in: each request gets a fresh anonymous client.
FRESH_CLIENT = {"auth.login", "auth.register"}


def roles_for(endpoint: str) -> list[str]:
    blueprint = endpoint.split(".", 1)[0]
    return {"learner": ["learner", "anonymous"], "trainer": ["trainer"], "office": ["admin"],
            "api": ["api"], "auth": ["anonymous", "learner"]}.get(blueprint, ["anonymous", "learner"])


_VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def build_url(rule, values: dict[str, str], override: tuple[str, str] | None = None) -> str:
    def replace(match):
        converter, name = match.group(1) or "default", match.group(2)
        value = override[1] if override and override[0] == name else values.get(name, "x")
        return quote(value, safe="/" if converter == "path" and not override else "")
    return _VARIABLE.sub(replace, rule.rule)


def bad_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("kurs/course.yml", "id: kurs\n")
        archive.writestr("kurs/01-riesig.md", "---\nid: x\n---\n" + "a" * (3 * 1024 * 1024))
    return buffer.getvalue()


BAD_FILES = {
    "nul-bytes": b"---\nid: a\x00b\n---\n\x00\x00",
    "not-utf8": b"\xff\xfe\xfa" * 100,
    "zip-bomb-ish": bad_zip(),
    "bad-image-url": "---\nid: gk-agenda-2030\n---\n![Bild](http://[bad]/x)\n".encode(),
}


# gunicorn refuses a longer request line ("GET <path>?<query> HTTP/1.1") before the app sees it, so
# hostile query strings are sent up to that size: values are cut until the query fits (all
# parameters at once share the room; one parameter alone gets all of it). Form bodies carry the
# full values (up to MAX_CONTENT_LENGTH).
REQUEST_LINE_LIMIT = gunicorn_conf.limit_request_line
REQUEST_LINE_OVERHEAD = len("POST  HTTP/1.1?")


def fitting_query(url: str, values: dict[str, str]) -> dict[str, str]:
    """``values`` with each value cut (from the end) so that the query fits into one request line
    to ``url``; every parameter gets the same share of the room."""
    room = REQUEST_LINE_LIMIT - REQUEST_LINE_OVERHEAD - len(url) - sum(_encoded_length(name) + 2 for name in values)
    if room < 0:
        raise AssertionError(f"{len(values)} parameter names alone do not fit into a request line to {url}")
    share = room // max(len(values), 1)
    return {name: _cut(value, share) for name, value in values.items()}


@lru_cache(maxsize=None)
def _encoded_length(text: str) -> int:
    return len(quote_plus(text))


@lru_cache(maxsize=4096)  # the same few hostile values, again and again
def _cut(value: str, room: int) -> str:
    """The longest start of ``value`` whose URL encoding takes at most ``room`` characters."""
    used = 0
    for index, char in enumerate(value):
        width = _encoded_length(char)
        if used + width > room:
            return value[:index]
        used += width
    return value


def request_as(world, role, method, url, *, query=None, form=None, files=None, fresh=False):
    world.requests += 1
    if fresh:
        client, headers = world.app.test_client(), {}
    elif role == "api":
        client = world.clients["anonymous"]
        headers = {"Authorization": f"Bearer {world.token_secret}"}
    else:
        client, headers = world.clients[role], {}
    if method == "GET":
        return client.get(url, query_string=query, headers=headers)
    data = dict(form or {})
    for name, (filename, content) in (files or {}).items():
        data[name] = (io.BytesIO(content), filename)
    return client.post(url, query_string=query, data=data, headers=headers, content_type="multipart/form-data")


def app_rules(app):
    return sorted((rule for rule in app.url_map.iter_rules()), key=lambda r: (r.rule, r.endpoint))


def rule_ids(app_rules_list):
    return [f"{r.endpoint}:{r.rule}" for r in app_rules_list]


def _all_rules():
    """The url_map of a throwaway app (collection happens before any fixture exists)."""
    import shutil
    import tempfile

    from namalms import create_app
    from tests.conftest import app_config

    instance = tempfile.mkdtemp(prefix="namalms-routes-")
    try:
        return app_rules(create_app(app_config("sqlite://"), instance_path=instance))
    finally:
        shutil.rmtree(instance, ignore_errors=True)


RULES = _all_rules()
PARAMETER_FILES = names_in_source()  # after the app is built: every form class is imported
PARAMETERS = sorted(PARAMETER_FILES)
VIEW_FILE = {path: is_view_file(path) for files in PARAMETER_FILES.values() for path in files}


@pytest.fixture
def world(app, make_user, content):
    """Requests may publish, retire or upload content: ``content`` puts it back afterwards."""
    return World(app, make_user)


@pytest.mark.parametrize("rule_index", range(len(RULES)), ids=rule_ids(RULES))
def test_no_bad_input_gives_a_server_error(app, world, rule_index):
    rule = next(r for r in app.url_map.iter_rules() if r.rule == RULES[rule_index].rule
                and r.endpoint == RULES[rule_index].endpoint)
    failures = []
    raised = []

    def remember(sender, exception, **extra):
        raised.append(f"{type(exception).__name__}: {str(exception)[:150]}")

    def check(role, method, url, **kwargs):
        raised.clear()
        response = request_as(world, role, method, url, fresh=rule.endpoint in FRESH_CLIENT, **kwargs)
        if response.status_code >= 500:
            shown = {k: (v[:30] + "…" if isinstance(v, str) and len(v) > 30 else v)
                     for k, v in (kwargs.get("query") or kwargs.get("form") or {}).items()}
            failures.append(f"{response.status_code} {role} {method} {url[:120]} {str(shown)[:200]} "
                            f"{list((kwargs.get('files') or {}).keys())} {raised}")

    app.config["PROPAGATE_EXCEPTIONS"] = False  # a server error is counted, not raised
    got_request_exception.connect(remember, app)
    try:
        exercise(world, rule, check)
    finally:
        got_request_exception.disconnect(remember, app)
        app.config["PROPAGATE_EXCEPTIONS"] = None
    print(f"\nbad inputs sent to {rule.endpoint} {rule.rule}: {world.requests}")
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:40])


def exercise(world, rule, check):
    """Send every kind of bad input this route can take.

    The first role that can reach the route gets everything; further roles get the hostile
    values in all parameters at once (what differs between roles is mostly who is let in).
    """
    methods = [m for m in ("GET", "POST") if m in rule.methods]
    valid_url = build_url(rule, world.values)
    if rule.endpoint == "trainer.content_revision":
        valid_url = build_url(rule, dict(world.values, number=world.revision_number))
    view_file = Path(inspect.getsourcefile(world.app.view_functions[rule.endpoint])).resolve()
    singles_names = parameters_for(view_file)
    for position, role in enumerate(roles_for(rule.endpoint)):
        thorough = position == 0
        for method in methods:
            if method == "GET":
                def send(values):
                    check(role, method, valid_url, query=fitting_query(valid_url, values))
            else:  # the form gets the full values; the query (e.g. login?next=) what fits into the request line
                def send(values):
                    check(role, method, valid_url, query=fitting_query(valid_url, values), form=values)
            # Every known parameter at once, with each hostile value.
            for value in BAD_VALUES.values():
                send({name: value for name in PARAMETERS})
            if not thorough:
                continue
            # Broken objects in the URL.
            for name in _VARIABLE.findall(rule.rule):
                for value in BAD_PATH_VALUES:
                    check(role, method, build_url(rule, world.values, (name[1], value)))
            # Each parameter alone, on top of a form the route accepts, so an early refusal of one
            # value cannot hide what another does further in.
            base = valid_forms(world).get(rule.endpoint, {}) if method == "POST" else {}
            singles = ["a\x00b", "9" * 30, "²", "x" * 5000, "http://[bad]/x", "/x\r\nSet-Cookie: a=b"]
            if method == "POST":
                singles.append("ü" * 200_000)  # 400 kB: stays below Flask's limit for one form field
            names = sorted(set(singles_names) | set(base))
            for index, name in enumerate(names):
                # Behind a valid form every value is tried; elsewhere one each, in turn.
                for value in singles if base else [singles[index % len(singles)]]:
                    send({**base, name: value})
            if method == "POST":
                for label, content in BAD_FILES.items():
                    files = {name: (f"{label}.md" if label != "zip-bomb-ish" else "kurs.zip", content)
                             for name in ("file", "image")}
                    check(role, method, valid_url, form={"course_id": "grundlagenkurs"}, files=files)
