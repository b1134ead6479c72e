"""Each class of bad input has one answer, in German, on both databases (never a 500)."""
import io
import re
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import String, func, select

from namalms.extensions import db
from namalms.models import Module, User
from namalms.models.base import check_text, text_limit
from namalms.services import ServiceError
from tests.conftest import PASSWORD

pytestmark = pytest.mark.both_databases  # PostgreSQL refuses what SQLite stores: the answers must agree

MEGABYTE_NAME = "Ä" * 1_048_576


# --- NUL bytes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("request_kind", ["path", "query", "form"])
def test_nul_bytes_anywhere_in_a_request_are_a_german_400(client, learner, request_kind):
    if request_kind == "path":
        response = client.get("/courses/grundlagen%00kurs")
    elif request_kind == "query":
        response = client.get("/verify?code=ab%00c")
    else:
        response = client.post("/profile", data={"name": "Nu\x00ll", "district_id": "kreis-dueren",
                                                 "municipality": "Gemeinde"})
    assert response.status_code == 400 and "Ungültige Anfrage" in response.get_data(as_text=True)


def test_nul_bytes_in_an_api_query_are_a_json_400(client):
    response = client.get("/api/v1/learners?q=a%00b", headers={"Authorization": "Bearer egal"})
    assert response.status_code == 400 and "NUL" in response.get_json()["error"]


# --- lengths of text columns -------------------------------------------------------------------------

def test_every_text_column_refuses_an_overlong_value_with_a_german_message():
    from namalms.extensions import db as database

    checked = 0
    for table in database.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, String):
                continue
            limit = text_limit(column)
            with pytest.raises(ServiceError, match=r"ist zu lang .* höchstens") as refused:
                check_text(column.key, column, "x" * (limit + 1))
            assert refused.value.field == column.key and "characters" in refused.value.english
            with pytest.raises(ServiceError, match="Steuerzeichen"):
                check_text(column.key, column, "a\x00b")
            check_text(column.key, column, "x" * limit)
            checked += 1
    assert checked > 50


def test_a_megabyte_trainer_name_is_refused_in_german_and_nothing_is_stored(client, admin):
    response = client.post("/office/users/new", data={"name": "T" + "x" * 300, "email": "lang@example.org"})
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "„Name“ ist zu lang (301 Zeichen; erlaubt sind höchstens 200)" in text
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == "lang@example.org")) == 0


def test_a_1_mb_profile_name_is_refused_before_it_reaches_the_database(client, learner):
    too_big = client.post("/profile", data={"name": MEGABYTE_NAME, "district_id": "kreis-dueren",
                                            "municipality": "Gemeinde"})
    assert too_big.status_code == 422
    assert "Feld kann nicht länger als 200 Zeichen sein." in too_big.get_data(as_text=True)
    long = client.post("/profile", data={"name": "N" * 201, "district_id": "kreis-dueren", "municipality": "Gemeinde"})
    assert long.status_code == 422 and "Feld kann nicht länger als 200 Zeichen sein." in long.get_data(as_text=True)
    assert db.session.get(User, learner.id).name == learner.name


@pytest.mark.parametrize("where", ["office", "register"])
def test_a_302_character_email_is_refused_in_german(client, admin, where):
    address = "a" * 290 + "@example.org"
    if where == "office":
        response = client.post("/office/users/new", data={"name": "Tom Trainer", "email": address})
    else:
        client.post("/logout")
        response = client.post("/register", data={
            "name": "Rita Registriert", "email": address, "password": PASSWORD, "password_repeat": PASSWORD,
            "district_id": "kreis-dueren", "municipality": "Gemeinde Merzenich", "privacy": "y"})
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "zu lang" in text or "nicht länger als 254 Zeichen" in text
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == address.lower())) == 0


def test_form_messages_of_every_form_are_german(app):
    """WTForms' own messages (required, too long) come in German for every form of the app."""
    from flask_wtf import FlaskForm
    from wtforms.validators import Length

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    checked = []
    with app.test_request_context(method="POST"):
        for form_class in subclasses(FlaskForm):
            if not form_class.__module__.startswith("namalms"):
                continue
            form = form_class(meta={"csrf": False})
            for field in form:
                for validator in field.validators:
                    if isinstance(validator, Length) and validator.message is None and validator.max > 0:
                        field.data = "x" * (validator.max + 1)
                        with pytest.raises(ValueError) as refused:  # wtforms.ValidationError
                            validator(form, field)
                        assert "nicht länger als" in str(refused.value), (form_class.__name__, field.name)
                        checked.append(field.name)
    assert len(checked) >= 4, checked


# --- numbers -----------------------------------------------------------------------------------------

def test_digits_that_are_not_ascii_are_no_numbers(client, make_user, auth):
    trainer = make_user("trainer")
    auth.login(trainer.email)
    response = client.post("/trainer/workshops/new", data={
        "target": "course:grundlagenkurs", "title": "Werkstatt", "date": "2030-06-01", "start_time": "10:00",
        "duration": "٩٠", "format": "online", "location": "https://example.org/raum", "capacity": "²"})
    assert response.status_code == 422 and "Dauer in ganzen Minuten" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/office/tokens?revoke=" + "9" * 30, "/office/tokens?revoke=²",
                                 "/office/users?page=" + "9" * 40, "/office/learners/1?verlauf=" + "9" * 30])
def test_huge_or_odd_numbers_in_query_parameters_are_ignored_or_404(client, admin, url):
    assert client.get(url).status_code in (200, 404)


def test_huge_revision_numbers_are_refused(client, make_user, auth):
    auth.login(make_user("trainer").email)
    diff = client.get("/trainer/content/module/gk-agenda-2030/vergleich?alt=" + "9" * 30 + "&neu=1")
    assert diff.status_code == 302
    restore = client.post("/trainer/content/module/gk-agenda-2030/wiederherstellen", data={"revision": "9" * 30})
    assert restore.status_code == 400


# --- exports -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, message", [
    ("enrolled_from=31.02.2026", "Bitte ein Datum im Format TT.MM.JJJJ angeben"),
    ("course=gibt-es-nicht", "Diesen Kurs gibt es nicht"),
    ("status=irgendwas", "Unbekannter Status"),
])
@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_an_export_with_a_broken_filter_is_refused_before_it_streams(client, admin, query, message, suffix):
    response = client.get(f"/office/zertifizierungsstand.{suffix}?{query}")
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert message in response.get_data(as_text=True) and "attachment" not in response.headers.get(
        "Content-Disposition", "")


def test_a_valid_export_still_streams(client, admin):
    response = client.get("/office/zertifizierungsstand.csv?course=grundlagenkurs")
    assert response.status_code == 200 and response.get_data().startswith(b"\xef\xbb\xbf")


# --- content: size, images -----------------------------------------------------------------------------

def module_text(body: str, module_id: str = "gk-agenda-2030") -> str:
    source = (Path(__file__).resolve().parents[2] / "content" / "grundlagenkurs" / "01-agenda-2030.md").read_text(
        encoding="utf-8")
    head, _, _ = source.partition("\n---\n")
    return head + "\n---\n" + body


def test_a_module_above_512_kb_is_refused_by_the_check_at_once(runner, tmp_path, app):
    import shutil

    tree = tmp_path / "content"
    shutil.copytree(app.config["CONTENT_DIR"], tree)
    (tree / "grundlagenkurs" / "01-agenda-2030.md").write_text(module_text("- x\n" * 200_000), encoding="utf-8")
    result = runner.invoke(args=["content", "check", str(tree)])
    assert result.exit_code == 1
    assert re.search(r"grundlagenkurs/01-agenda-2030\.md:1: Datei ist zu groß \(\d+ KB; erlaubt sind höchstens "
                     r"512 KB\)", result.output), result.output


def test_an_uploaded_module_above_512_kb_is_refused_unread(client, make_user, auth):
    auth.login(make_user("trainer").email)
    data = module_text("[a](b) " * 100_000).encode()
    response = client.post("/trainer/content/hochladen", data={"file": (io.BytesIO(data), "modul.md")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "Datei ist zu groß" in response.get_data(as_text=True)


def test_a_small_zip_holding_a_huge_module_is_refused_before_decompressing(client, make_user, auth):
    auth.login(make_user("trainer").email)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("kurs/course.yml", "id: kurs\n")
        archive.writestr("kurs/01-riesig.md", "a" * (45 * 1024 * 1024))
    assert len(buffer.getvalue()) < 100_000
    response = client.post("/trainer/content/zip", data={"file": (io.BytesIO(buffer.getvalue()), "kurs.zip"),
                                                         "action": "pruefen"}, content_type="multipart/form-data")
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "01-riesig.md“: Datei ist zu groß (45,0 MB" in text


def test_an_unparsable_image_url_is_reported_with_path_and_line(runner, tmp_path, app):
    import shutil

    tree = tmp_path / "content"
    shutil.copytree(app.config["CONTENT_DIR"], tree)
    module = tree / "grundlagenkurs" / "01-agenda-2030.md"
    module.write_text(module.read_text(encoding="utf-8") + "\n![Ein Bild](http://[bad]/x)\n", encoding="utf-8")
    result = runner.invoke(args=["content", "check", str(tree)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert re.search(r"grundlagenkurs/01-agenda-2030\.md:\d+: Bildadresse „http://\[bad\]/x“ ist keine gültige",
                     result.output), result.output


# --- redirects and generated passwords ---------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/dashboard\r\nSet-Cookie: x=1", "/\\evil.example", "http://[bad]/x",
                                    "//evil.example/"])
def test_a_broken_next_after_login_goes_home(client, make_user, target):
    user = make_user("learner")
    response = client.post("/login", query_string={"next": target}, data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")


def test_generated_passwords_pass_the_policy_they_are_checked_against(client, admin):
    """A trainer named "T": most random passwords contain a "t" – and were refused as personal."""
    for number in range(25):
        response = client.post("/office/users/new", data={"name": "T", "email": f"t{number}@example.org"})
        assert response.status_code == 200, response.get_data(as_text=True)[:2000]


def test_a_module_too_slow_to_render_is_stopped_with_a_german_problem(app, client, make_user, auth):
    """32 KB of headings without blank lines take Python-Markdown seconds (quadratic): cut off."""
    auth.login(make_user("trainer").email)
    nested = "## Kapitel\n" * 8000
    app.config["CONTENT_CHECK_TIMEOUT"] = 1
    try:
        response = client.post("/trainer/content/module/gk-agenda-2030/bearbeiten", data={
            "source": module_text(nested), "action": "pruefen", "message": "",
            "base_revision_id": db.session.get(Module, "gk-agenda-2030").current_revision_id})
    finally:
        app.config["CONTENT_CHECK_TIMEOUT"] = 20
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "Die Prüfung wurde nach 1 Sekunden abgebrochen" in text


def test_a_module_nested_too_deeply_is_a_problem_not_a_crash(client, make_user, auth):
    auth.login(make_user("trainer").email)
    nested = "".join("  " * depth + "- Punkt\n" for depth in range(700))
    response = client.post("/trainer/content/module/gk-agenda-2030/bearbeiten", data={
        "source": module_text(nested), "action": "pruefen", "message": "",
        "base_revision_id": db.session.get(Module, "gk-agenda-2030").current_revision_id})
    assert response.status_code == 422 and "zu tief verschachtelt" in response.get_data(as_text=True)
