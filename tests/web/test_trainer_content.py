"""The trainer's content workspace: check, preview, publish, history, restore, structure, uploads.

Every refused change must leave the content folder byte for byte and the revision count as they
were; every accepted one must write the file back and keep every learner's progress.
"""
from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest
import yaml
from PIL import Image
from sqlalchemy import delete, func, select

from namalms.content.loader import load_tree
from namalms.extensions import db
from namalms.models import (
    Asset, AuditEvent, ContentRevision, ContentWrite, Course, Module, ModuleProgress, QuizAttempt,
)
from namalms.services import progress as progress_service
from tests.conftest import minutes_line

FIRST = "gk-agenda-2030"
SECOND = "gk-sdgs-lokalisieren"
FIRST_PATH = "grundlagenkurs/01-agenda-2030.md"
MODULE_COLUMNS = ("course_id", "title", "summary", "position", "minutes", "is_required", "has_workshop",
                  "workshop_title", "has_quiz", "pass_mark", "is_retired", "current_revision_id")
COURSE_COLUMNS = ("title", "short_title", "description_html", "audience_html", "position", "current_revision_id")


# --- keeping the session-wide content copy and content tables as they were -------------------


def snapshot_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def revision_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ContentRevision))


@pytest.fixture
def content(app):
    """The content folder and content tables are shared by the whole test session: put them back."""
    root = Path(app.config["CONTENT_DIR"])
    files = snapshot_files(root)
    folders = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir()}
    last_revision = db.session.scalar(select(func.max(ContentRevision.id)))
    modules = {m.id: {c: getattr(m, c) for c in MODULE_COLUMNS} for m in db.session.scalars(select(Module))}
    courses = {c.id: {k: getattr(c, k) for k in COURSE_COLUMNS} for c in db.session.scalars(select(Course))}
    assets = set(db.session.scalars(select(Asset.sha256)))
    yield root
    db.session.rollback()
    for path in sorted(root.rglob("*"), reverse=True):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and relative not in files:
            path.unlink()
        elif path.is_dir() and relative not in folders:
            path.rmdir()
    for relative, data in files.items():
        target = root / relative
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
    db.session.execute(delete(ModuleProgress).where(ModuleProgress.module_id.not_in(list(modules))))
    for row in db.session.scalars(select(Module)).all():
        if row.id not in modules:
            db.session.delete(row)
        else:
            for column, value in modules[row.id].items():
                setattr(row, column, value)
    for row in db.session.scalars(select(Course)).all():
        if row.id not in courses:
            db.session.delete(row)
        else:
            for column, value in courses[row.id].items():
                setattr(row, column, value)
    db.session.flush()
    db.session.execute(delete(QuizAttempt).where(QuizAttempt.revision_id > last_revision))
    db.session.execute(delete(ContentRevision).where(ContentRevision.id > last_revision))
    db.session.execute(delete(Asset).where(Asset.sha256.not_in(list(assets))))
    db.session.execute(delete(ContentWrite))
    db.session.commit()


@pytest.fixture
def trainer(make_user, auth):
    user = make_user("trainer", name="Tina Trainerin")
    auth.login(user.email)
    return user


def current_source(module_id: str = FIRST) -> str:
    db.session.expire_all()
    return db.session.get(Module, module_id).current_revision.source


def current_revision_id(module_id: str = FIRST) -> int:
    db.session.expire_all()
    return db.session.get(Module, module_id).current_revision_id


def edit(client, source: str, action: str, *, module_id: str = FIRST, base: int | None = None, message: str = ""):
    return client.post(f"/trainer/content/module/{module_id}/bearbeiten", data={
        "source": source, "action": action, "message": message,
        "base_revision_id": base if base is not None else current_revision_id(module_id)})


def assert_nothing_changed(root: Path, files: dict[str, bytes], revisions: int) -> None:
    assert snapshot_files(root) == files
    assert revision_count() == revisions


def make_zip(entries) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def course_zip(root: Path, folder: str = "grundlagenkurs", replace: dict | None = None, drop=()) -> bytes:
    """The course folder as a zip, with some files replaced or left out."""
    replace = replace or {}
    entries = []
    for path in sorted((root / folder).rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and relative not in drop:
            entries.append((relative, replace.get(relative, path.read_bytes())))
    return make_zip(entries)


def png_bytes(size=(32, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (0, 89, 79)).save(buffer, format="PNG")
    return buffer.getvalue()


# --- access ----------------------------------------------------------------------------------

PAGES = ["/trainer/content", f"/trainer/content/module/{FIRST}", f"/trainer/content/module/{FIRST}/bearbeiten",
         f"/trainer/content/module/{FIRST}/revision/1", f"/trainer/content/module/{FIRST}/vergleich?alt=1&neu=1",
         f"/trainer/content/module/{FIRST}/zurueckziehen", "/trainer/content/kurs/grundlagenkurs/neu",
         "/trainer/content/kurs/grundlagenkurs/bilder",
         "/trainer/content/bild/grundlagenkurs/img/gk-agenda-2030-nachhaltigkeitsmodelle.png"]
ACTIONS = [f"/trainer/content/module/{FIRST}/bearbeiten", "/trainer/content/hochladen", "/trainer/content/zip",
           f"/trainer/content/module/{FIRST}/wiederherstellen", f"/trainer/content/module/{FIRST}/verschieben",
           f"/trainer/content/module/{FIRST}/zurueckziehen", "/trainer/content/kurs/grundlagenkurs/neu",
           "/trainer/content/kurs/grundlagenkurs/bilder"]


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("role, expected", [(None, 302), ("learner", 403), ("trainer", 200), ("admin", 200)])
def test_pages_are_for_trainers_and_admins(client, make_user, auth, role, expected, url):
    if role:
        auth.login(make_user(role).email)
    response = client.get(url)
    assert response.status_code == expected, url
    if role is None:
        assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("url", ACTIONS)
def test_learners_cannot_change_content(client, learner, content, url):
    files, revisions = snapshot_files(content), revision_count()
    assert client.post(url, data={"source": "x", "action": "veroeffentlichen", "richtung": "runter",
                                  "revision": "1", "reason": "weg"}).status_code == 403
    assert_nothing_changed(content, files, revisions)


@pytest.mark.parametrize("url", ACTIONS)
def test_anonymous_users_are_sent_to_the_login(client, url):
    response = client.post(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- overview --------------------------------------------------------------------------------


def test_overview_lists_courses_modules_revision_status_and_learners(client, trainer, learner_with_progress):
    auth_login(client, trainer)
    page = client.get("/trainer/content").get_data(as_text=True)
    revision = db.session.get(Module, FIRST).current_revision
    assert "Grundlagenkurs Kommunales Nachhaltigkeitsmanagement" in page
    assert "Nachhaltige Entwicklung und die Agenda 2030" in page and FIRST in page
    assert f"Nr. {revision.number}" in page and "aus dem Inhaltsordner übernommen" in page
    assert revision.source_hash[:10] not in page and "content sync" not in page  # no developer jargon
    assert "veröffentlicht" in page
    assert "1 mit Fortschritt" in page and "1 Selbstcheck bestanden" in page and "1 abgeschlossen" in page
    assert f"/trainer/content/module/{FIRST}/bearbeiten" in page and "nach oben" in page


def auth_login(client, user):
    from tests.conftest import PASSWORD

    client.post("/logout")
    client.post("/login", data={"email": user.email, "password": PASSWORD})


@pytest.fixture
def learner_with_progress(make_user):
    """A learner who completed the first module (marked done and passed the quiz)."""
    user = make_user("learner", name="Lena Lernende")
    module = db.session.get(Module, FIRST)
    progress_service.enrol(user, module.course)
    progress_service.record_visit(user, module)
    progress_service.mark_done(user, module)
    quiz = progress_service.quiz_of(module)
    progress_service.submit_quiz(user, module, {q.id: set(q.correct_indices) for q in quiz.questions})
    db.session.commit()
    row = db.session.scalar(select(ModuleProgress).filter_by(user_id=user.id, module_id=FIRST))
    assert row.completed_at is not None and row.quiz_passed_at is not None
    return user


# --- the scenario: broken upload, fix, preview, publish, learner, restore ----------------------


def test_uploaded_module_with_broken_front_matter_shows_the_line_and_changes_nothing(client, trainer, content):
    files, revisions = snapshot_files(content), revision_count()
    broken = current_source().replace(minutes_line(), "minutes: neunzig")
    response = client.post("/trainer/content/hochladen", data={
        "file": (io.BytesIO(broken.encode()), "01-agenda-2030.md")}, content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<a href="#zeile-5">Zeile 5</a>: „minutes“ muss eine ganze Zahl sein, gefunden: Text „neunzig“' in page
    assert '<tr id="zeile-5" class="has-problem">' in page and "Problem in Zeile 5:" in page
    assert "minutes: neunzig" in page  # the uploaded text is in the editor, nothing is lost
    assert "nichts wurde veröffentlicht" in page
    assert_nothing_changed(content, files, revisions)


def test_yaml_syntax_error_points_at_its_line(client, trainer, content):
    broken = current_source().replace("order: 1", "order: 1: 2")
    page = edit(client, broken, "pruefen").get_data(as_text=True)
    assert '<a href="#zeile-4">Zeile 4</a>: YAML-Syntaxfehler: Doppelpunkt an unerwarteter Stelle' in page
    assert '<tr id="zeile-4" class="has-problem">' in page


def test_fix_preview_publish_and_the_learner_sees_the_new_text_with_progress_kept(
        client, trainer, content, learner_with_progress):
    files, revisions = snapshot_files(content), revision_count()
    before = db.session.scalar(select(ModuleProgress).filter_by(user_id=learner_with_progress.id, module_id=FIRST))
    completed_at, passed_at = before.completed_at, before.quiz_passed_at
    source = current_source() + "\n## Neu im Modul\n\nDieser Absatz ist neu und gilt für alle.\n"
    base = current_revision_id()

    preview = edit(client, source, "vorschau", base=base)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "Vorschau – noch nicht veröffentlicht" in page and "Dieser Absatz ist neu und gilt für alle." in page
    assert "<h1>Nachhaltige Entwicklung und die Agenda 2030</h1>" in page and "Lernziele" in page
    assert "<strong>1</strong> Teilnehmende haben Fortschritt" in page and "<strong>1</strong> das Modul abgeschlossen" in page
    assert "4 Zeilen hinzugefügt, 0 Zeilen entfernt" in page
    assert_nothing_changed(content, files, revisions)  # a preview stores nothing
    assert db.session.scalar(select(func.count()).select_from(ModuleProgress)
                             .where(ModuleProgress.user_id == trainer.id)) == 0

    response = edit(client, source, "veroeffentlichen", base=base, message="Abschnitt ergänzt")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/trainer/content/module/{FIRST}")
    assert (content / FIRST_PATH).read_text(encoding="utf-8") == source
    assert not [p for p in (content / "grundlagenkurs").iterdir() if p.name.endswith(".tmp")]
    db.session.expire_all()
    module = db.session.get(Module, FIRST)
    revision = module.current_revision
    assert revision_count() == revisions + 1
    assert (revision.author_id, revision.author_label, revision.message) == (trainer.id, "Tina Trainerin", "Abschnitt ergänzt")
    assert revision.source == source and "Dieser Absatz ist neu" in revision.html
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "content_published"))
    assert audit.target_id == FIRST and audit.actor_id == trainer.id and audit.data["revision"] == revision.number

    auth_login(client, learner_with_progress)
    learner_page = client.get(f"/modules/{FIRST}").get_data(as_text=True)
    assert "Dieser Absatz ist neu und gilt für alle." in learner_page
    after = db.session.scalar(select(ModuleProgress).filter_by(user_id=learner_with_progress.id, module_id=FIRST))
    assert (after.completed_at, after.quiz_passed_at) == (completed_at, passed_at)
    assert "Modul abgeschlossen" in learner_page


def test_publishing_needs_a_message_and_keeps_the_text(client, trainer, content):
    files, revisions = snapshot_files(content), revision_count()
    source = current_source().replace("title: Nachhaltige", "title: Ganz nachhaltige")
    response = edit(client, source, "veroeffentlichen", message="  ")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Bitte beschreiben Sie die Änderung" in page
    assert "title: Ganz nachhaltige" in page
    assert_nothing_changed(content, files, revisions)


def test_unchanged_text_creates_no_revision(client, trainer, content):
    revisions = revision_count()
    response = edit(client, current_source(), "veroeffentlichen", message="nichts")
    assert response.status_code == 302 and revision_count() == revisions
    assert "Keine Änderung" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_windows_line_endings_from_the_browser_are_stored_as_in_git(client, trainer, content):
    source = current_source().replace("title: Nachhaltige", "title: Wirklich nachhaltige")
    edit(client, source.replace("\n", "\r\n"), "veroeffentlichen", message="Titel")
    assert (content / FIRST_PATH).read_bytes() == source.encode("utf-8")


def test_changing_the_module_id_is_refused_with_a_clear_message(client, trainer, content):
    files, revisions = snapshot_files(content), revision_count()
    response = edit(client, current_source().replace(f"id: {FIRST}", "id: gk-anderer-name", 1), "veroeffentlichen",
                    message="Umbenannt")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'href="#zeile-2"' in page and "Die id darf nicht geändert werden" in page and "gk-anderer-name" in page
    assert_nothing_changed(content, files, revisions)


def test_cross_file_problems_are_found_with_the_whole_tree(client, trainer, content):
    files, revisions = snapshot_files(content), revision_count()
    source = current_source().replace("order: 1", "order: 2") + "\n![Karte](img/gibt-es-nicht.png)\n"
    response = edit(client, source, "veroeffentlichen", message="x")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "„order: 2“ passt nicht zur Position in grundlagenkurs/course.yml" in page
    assert "Bild „img/gibt-es-nicht.png“ nicht gefunden" in page
    assert_nothing_changed(content, files, revisions)


def test_a_quiz_change_keeps_earlier_passes(client, trainer, content, learner_with_progress):
    source = current_source().replace("pass_mark: 70", "pass_mark: 100")
    preview = edit(client, source, "vorschau").get_data(as_text=True)
    assert "Der Selbstcheck ändert sich: Bereits bestandene Selbstchecks und Abschlüsse bleiben gültig" in preview
    edit(client, source, "veroeffentlichen", message="Bestehensgrenze 100 %")
    db.session.expire_all()
    assert db.session.get(Module, FIRST).pass_mark == 100
    row = db.session.scalar(select(ModuleProgress).filter_by(user_id=learner_with_progress.id, module_id=FIRST))
    assert row.quiz_passed_at is not None and row.completed_at is not None and row.best_quiz_score == 100


# --- two trainers at once ----------------------------------------------------------------------


def test_the_second_trainer_gets_a_conflict_and_keeps_their_text(app, client, trainer, make_user, content):
    other = make_user("trainer", name="Otto Obermeier")
    second = app.test_client()
    auth_login(second, other)
    base = current_revision_id()
    original = current_source()
    first_text = original.replace("title: Nachhaltige", "title: Erste nachhaltige")
    second_text = original.replace(minutes_line(), "minutes: 75")

    assert edit(second, second_text, "vorschau", base=base).status_code == 200  # both started from `base`
    assert edit(client, first_text, "veroeffentlichen", base=base, message="Titel").status_code == 302
    revisions = revision_count()

    response = edit(second, second_text, "veroeffentlichen", base=base, message="Zeit")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Konflikt: Während Sie bearbeitet haben, hat Tina Trainerin am" in page and "nichts wurde überschrieben" in page
    assert "minutes: 75" in page  # their text is still in the editor
    assert "title: Erste nachhaltige" in page  # the diff shows what the other trainer published
    assert (content / FIRST_PATH).read_text(encoding="utf-8") == first_text
    assert revision_count() == revisions
    # Having seen the conflict, publishing again is a deliberate decision and works.
    new_base = current_revision_id()
    assert f'name="base_revision_id" value="{new_base}"' in page
    assert edit(second, second_text, "veroeffentlichen", base=new_base, message="Zeit").status_code == 302


def test_the_conflict_is_checked_again_inside_the_transaction(app, trainer, content, monkeypatch):
    """The plan may pass before another publish lands; the locked, freshly read row still decides."""
    from namalms.services import publishing

    base = current_revision_id()
    late_text = current_source().replace("title: Nachhaltige", "title: Späte nachhaltige")
    landed_text = current_source().replace(minutes_line(), "minutes: 80")
    original_plan = publishing.plan_module_edit

    def plan_then_someone_else_publishes(module_id, source, *, base_revision_id):
        plan = original_plan(module_id, source, base_revision_id=base_revision_id)
        monkeypatch.setattr(publishing.modules, "plan_module_edit", original_plan)
        publishing.publish_module_source(landed_text, module_id=FIRST, base_revision_id=base,
                                         author_label="Zweite", message="dazwischen")
        db.session.commit()  # the other publication lands (and is written back) first
        return plan

    monkeypatch.setattr(publishing.modules, "plan_module_edit", plan_then_someone_else_publishes)
    revisions = revision_count()
    with pytest.raises(publishing.ContentConflict) as caught:
        publishing.publish_module_source(late_text, module_id=FIRST, base_revision_id=base,
                                         author_label="Erste", message="zu spät")
    assert caught.value.current.message == "dazwischen"
    assert revision_count() == revisions + 1  # only the one that landed first
    assert (content / FIRST_PATH).read_text(encoding="utf-8") == landed_text
    db.session.rollback()


# --- history, diff, restore --------------------------------------------------------------------


def test_history_diff_and_restore_as_a_new_revision(client, trainer, content):
    old = current_source()
    old_number = db.session.get(Module, FIRST).current_revision.number
    new = old.replace("title: Nachhaltige Entwicklung", "title: Nachhaltigkeit")
    edit(client, new, "veroeffentlichen", message="Kürzerer Titel")
    history = client.get(f"/trainer/content/module/{FIRST}").get_data(as_text=True)
    assert "Kürzerer Titel" in history and "Tina Trainerin" in history and "Wiederherstellen" in history

    diff = client.get(f"/trainer/content/module/{FIRST}/vergleich?alt={old_number}&neu={old_number + 1}")
    page = diff.get_data(as_text=True)
    assert diff.status_code == 200 and "1 Zeile hinzugefügt, 1 Zeile entfernt" in page
    assert '<span class="sr-only">entfernt</span>' in page and '<span class="sr-only">hinzugefügt</span>' in page
    assert "<del><code class=\"source-text\">title: Nachhaltige Entwicklung und die Agenda 2030</code></del>" in page
    columns = client.get(f"/trainer/content/module/{FIRST}/vergleich?alt={old_number}&neu={old_number + 1}"
                         f"&ansicht=nebeneinander").get_data(as_text=True)
    assert "diff-columns" in columns and "title: Nachhaltigkeit und die Agenda 2030" in columns

    revisions = revision_count()
    response = client.post(f"/trainer/content/module/{FIRST}/wiederherstellen",
                           data={"revision": old_number, "base_revision_id": current_revision_id()})
    assert response.status_code == 302
    db.session.expire_all()
    module = db.session.get(Module, FIRST)
    assert revision_count() == revisions + 1
    assert module.current_revision.number == old_number + 2 and module.current_revision.source == old
    assert module.current_revision.message == f"Revision {old_number} wiederhergestellt"
    assert module.title == "Nachhaltige Entwicklung und die Agenda 2030"
    assert (content / FIRST_PATH).read_text(encoding="utf-8") == old
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "content_restored")).data["restored_revision"] == old_number


def test_restoring_the_current_revision_changes_nothing(client, trainer, content):
    revisions = revision_count()
    number = db.session.get(Module, FIRST).current_revision.number
    response = client.post(f"/trainer/content/module/{FIRST}/wiederherstellen", data={"revision": number},
                           follow_redirects=True)
    assert "bereits die aktuelle Fassung" in response.get_data(as_text=True) and revision_count() == revisions


def test_restoring_with_a_stale_page_is_a_conflict(client, trainer, content):
    old_number = db.session.get(Module, FIRST).current_revision.number
    stale = current_revision_id()
    edit(client, current_source().replace(minutes_line(), "minutes: 95"), "veroeffentlichen", message="Zeit")
    revisions = revision_count()
    response = client.post(f"/trainer/content/module/{FIRST}/wiederherstellen",
                           data={"revision": old_number, "base_revision_id": stale}, follow_redirects=True)
    assert "Konflikt" in response.get_data(as_text=True) and revision_count() == revisions


def test_a_revision_page_shows_the_numbered_source(client, trainer):
    page = client.get(f"/trainer/content/module/{FIRST}/revision/1").get_data(as_text=True)
    assert '<tr id="zeile-2">' in page and f"id: {FIRST}" in page
    assert client.get(f"/trainer/content/module/{FIRST}/revision/999").status_code == 404


# --- new module, order, retire -----------------------------------------------------------------

NEW_MODULE = """---
id: gk-neues-thema
title: Ein neues Thema
order: 7
minutes: 30
objectives:
  - "Sie kennen das neue Thema."
sdgs: [11]
---

## Worum es geht

Das ist das neue Modul.
"""


def test_new_module_starts_from_a_valid_skeleton(client, trainer, content):
    page = client.get("/trainer/content/kurs/grundlagenkurs/neu").get_data(as_text=True)
    assert "order: 7" in page and "id: gk-neues-modul-7" in page
    from namalms.services.publishing import new_module_skeleton, plan_new_module

    assert plan_new_module("grundlagenkurs", new_module_skeleton("grundlagenkurs")).ok


def test_new_module_is_created_listed_and_published(client, trainer, content):
    revisions = revision_count()
    response = client.post("/trainer/content/kurs/grundlagenkurs/neu", data={
        "source": NEW_MODULE, "action": "veroeffentlichen", "message": "Neues Modul"})
    assert response.status_code == 302
    assert (content / "grundlagenkurs/07-gk-neues-thema.md").read_text(encoding="utf-8") == NEW_MODULE
    listing = yaml.safe_load((content / "grundlagenkurs/course.yml").read_text(encoding="utf-8"))
    assert listing["modules"][-1] == {"id": "gk-neues-thema"}
    assert "Der Grundlagenkurs führt in das kommunale" in (content / "grundlagenkurs/course.yml").read_text(encoding="utf-8")
    assert load_tree(content).is_ok
    db.session.expire_all()
    module = db.session.get(Module, "gk-neues-thema")
    assert module.position == 7 and not module.is_retired and module.course_id == "grundlagenkurs"
    assert revision_count() == revisions + 2  # the module and course.yml
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "module_created")).target_id == "gk-neues-thema"
    assert "Ein neues Thema" in client.get("/courses/grundlagenkurs").get_data(as_text=True)


def test_new_module_with_an_existing_id_is_refused(client, trainer, content):
    files, revisions = snapshot_files(content), revision_count()
    response = client.post("/trainer/content/kurs/grundlagenkurs/neu", data={
        "source": NEW_MODULE.replace("gk-neues-thema", SECOND), "action": "veroeffentlichen", "message": "x"})
    assert response.status_code == 422 and f"Die id „{SECOND}“ ist schon vergeben" in response.get_data(as_text=True)
    assert_nothing_changed(content, files, revisions)


def test_uploading_a_new_module_needs_its_course(client, trainer, content):
    upload = {"file": (io.BytesIO(NEW_MODULE.encode()), "neu.md")}
    response = client.post("/trainer/content/hochladen", data=upload, content_type="multipart/form-data",
                           follow_redirects=True)
    assert "bitte den Kurs auswählen" in response.get_data(as_text=True)
    response = client.post("/trainer/content/hochladen", data={
        "file": (io.BytesIO(NEW_MODULE.encode()), "neu.md"), "course_id": "grundlagenkurs"},
        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Prüfung bestanden" in page and "/trainer/content/kurs/grundlagenkurs/neu" in page


def test_move_down_rewrites_course_yml_and_both_order_lines(client, trainer, content, learner_with_progress):
    revisions = revision_count()
    response = client.post(f"/trainer/content/module/{FIRST}/verschieben", data={"richtung": "runter"})
    assert response.status_code == 302
    listing = yaml.safe_load((content / "grundlagenkurs/course.yml").read_text(encoding="utf-8"))
    assert [m["id"] for m in listing["modules"][:2]] == [SECOND, FIRST]
    assert "\norder: 2\n" in (content / FIRST_PATH).read_text(encoding="utf-8")
    assert "\norder: 1\n" in (content / "grundlagenkurs/02-sdgs-lokalisieren.md").read_text(encoding="utf-8")
    assert load_tree(content).is_ok
    db.session.expire_all()
    assert (db.session.get(Module, FIRST).position, db.session.get(Module, SECOND).position) == (2, 1)
    assert revision_count() == revisions + 3
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "modules_reordered")).data["direction"] == "down"
    row = db.session.scalar(select(ModuleProgress).filter_by(user_id=learner_with_progress.id, module_id=FIRST))
    assert row.completed_at is not None


def test_the_first_module_cannot_move_up(client, trainer, content):
    files, revisions = snapshot_files(content), revision_count()
    response = client.post(f"/trainer/content/module/{FIRST}/verschieben", data={"richtung": "hoch"},
                           follow_redirects=True)
    assert "steht schon an erster Stelle" in response.get_data(as_text=True)
    assert_nothing_changed(content, files, revisions)


def test_retire_hides_the_module_from_new_learners_and_keeps_progress(
        app, client, trainer, content, learner_with_progress, make_user, auth, runner):
    page = client.get(f"/trainer/content/module/{FIRST}/zurueckziehen").get_data(as_text=True)
    assert "<strong>1</strong> Teilnehmende haben Fortschritt" in page
    assert client.post(f"/trainer/content/module/{FIRST}/zurueckziehen", data={"reason": " "}).status_code == 422
    response = client.post(f"/trainer/content/module/{FIRST}/zurueckziehen", data={"reason": "Inhalt veraltet"})
    assert response.status_code == 302
    assert (content / FIRST_PATH).exists()
    course_yml = (content / "grundlagenkurs/course.yml").read_text(encoding="utf-8")
    listing = yaml.safe_load(course_yml)
    assert FIRST not in [m["id"] for m in listing["modules"]] and listing["retired"] == [FIRST]
    assert "\norder: 1\n" in (content / "grundlagenkurs/02-sdgs-lokalisieren.md").read_text(encoding="utf-8")
    assert load_tree(content).is_ok
    db.session.expire_all()
    assert db.session.get(Module, FIRST).is_retired and db.session.get(Module, SECOND).position == 1
    row = db.session.scalar(select(ModuleProgress).filter_by(user_id=learner_with_progress.id, module_id=FIRST))
    assert row.completed_at is not None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "module_retired"))
    assert event.reason == "Inhalt veraltet" and event.data["learners_with_progress"] == 1
    # content sync keeps it retired, because course.yml says so.
    assert runner.invoke(args=["content", "sync"]).exit_code == 0
    db.session.expire_all()
    assert db.session.get(Module, FIRST).is_retired
    # A new learner does not see it; the one who worked on it still can open it.
    newcomer = make_user("learner")
    auth.login(newcomer.email)
    client.post("/courses/grundlagenkurs/enrol")
    assert "Nachhaltige Entwicklung und die Agenda 2030" not in client.get("/courses/grundlagenkurs").get_data(as_text=True)
    auth_login(client, learner_with_progress)
    assert client.get(f"/modules/{FIRST}").status_code == 200


# --- images ------------------------------------------------------------------------------------


def test_an_image_upload_is_reencoded_stored_and_written_back(client, trainer, content):
    response = client.post("/trainer/content/kurs/grundlagenkurs/bilder", data={
        "image": (io.BytesIO(png_bytes()), "Neue Grafik.PNG")}, content_type="multipart/form-data",
        follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Bild „neue-grafik.png“ gespeichert (32 × 24 Pixel" in page and "![Beschreibung des Bildes](img/neue-grafik.png)" in page
    stored = (content / "grundlagenkurs/img/neue-grafik.png").read_bytes()
    import hashlib

    assert db.session.get(Asset, hashlib.sha256(stored).hexdigest()) is not None
    assert client.get("/trainer/content/bild/grundlagenkurs/img/neue-grafik.png").data == stored
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "image_uploaded"))
    assert event.data["path"] == "grundlagenkurs/img/neue-grafik.png" and event.actor_id == trainer.id
    assert load_tree(content).is_ok


@pytest.mark.parametrize("name, data, message", [
    ("bild.png", b"Ich bin nur Text, umbenannt in .png\n", "kein PNG-, JPEG- oder WebP-Bild"),
    ("riesig.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * (5 * 1024 * 1024), "erlaubt sind höchstens 5,0 MB"),
])
def test_bad_images_are_refused_and_nothing_changes(client, trainer, content, name, data, message):
    files, revisions = snapshot_files(content), revision_count()
    assets = db.session.scalar(select(func.count()).select_from(Asset))
    response = client.post("/trainer/content/kurs/grundlagenkurs/bilder", data={
        "image": (io.BytesIO(data), name)}, content_type="multipart/form-data", follow_redirects=True)
    assert message in response.get_data(as_text=True)
    assert_nothing_changed(content, files, revisions)
    assert db.session.scalar(select(func.count()).select_from(Asset)) == assets


def test_an_existing_image_name_is_not_overwritten(client, trainer, content):
    files = snapshot_files(content)
    response = client.post("/trainer/content/kurs/grundlagenkurs/bilder", data={
        "image": (io.BytesIO(png_bytes()), "gk-agenda-2030-nachhaltigkeitsmodelle.png")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "gibt es schon ein Bild" in response.get_data(as_text=True)
    assert snapshot_files(content) == files


def test_the_image_route_serves_only_images_inside_the_content_folder(client, trainer):
    assert client.get("/trainer/content/bild/grundlagenkurs/course.yml").status_code == 404
    assert client.get("/trainer/content/bild/grundlagenkurs/img/../../programme.yml").status_code == 404
    assert client.get("/trainer/content/bild/grundlagenkurs/img/fehlt.png").status_code == 404


# --- a whole course as zip -------------------------------------------------------------------


def upload_zip(client, data: bytes, action: str = "pruefen", name: str = "grundlagenkurs.zip"):
    return client.post("/trainer/content/zip", data={"file": (io.BytesIO(data), name), "action": action,
                                                      "message": "Kurs überarbeitet"},
                       content_type="multipart/form-data")


def symlink_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("grundlagenkurs/course.yml", "id: grundlagenkurs\n")
        info = zipfile.ZipInfo("grundlagenkurs/01-agenda-2030.md")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def lying_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("grundlagenkurs/course.yml", "id: grundlagenkurs\n")
        archive.writestr("grundlagenkurs/01-agenda-2030.md", b"\x00" * 2_000_000)
        archive.getinfo("grundlagenkurs/01-agenda-2030.md").file_size = 12
    return buffer.getvalue()


BAD_ZIPS = {
    "dot-dot": (lambda root: make_zip([("grundlagenkurs/course.yml", b"id: x\n"), ("grundlagenkurs/../programme.yml", b"x")]),
                "„..“ im Pfad"),
    "absolute": (lambda root: make_zip([("/grundlagenkurs/course.yml", b"id: x\n")]), "absoluter Pfad"),
    "symlink": (lambda root: symlink_zip(), "symbolische Verknüpfung"),
    "too-many": (lambda root: make_zip([(f"grundlagenkurs/{i}.md", b"x") for i in range(301)]), "301 Einträge"),
    "lying-size": (lambda root: lying_zip(), "Größenangabe stimmt nicht"),
    "unknown-file": (lambda root: course_zip(root, replace={}) and make_zip(
        [("grundlagenkurs/course.yml", b"id: x\n"), ("grundlagenkurs/install.sh", b"rm -rf /")]), "unbekannte Datei"),
    "not-a-zip": (lambda root: b"Hallo", "keine gültige ZIP-Datei"),
}


@pytest.mark.parametrize("case", sorted(BAD_ZIPS))
@pytest.mark.parametrize("action", ["pruefen", "veroeffentlichen"])
def test_unsafe_zips_are_refused_with_the_tree_and_database_unchanged(client, trainer, content, case, action):
    files, revisions = snapshot_files(content), revision_count()
    build, message = BAD_ZIPS[case]
    response = upload_zip(client, build(content), action)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page
    assert "Der Inhaltsordner und die Datenbank sind unverändert" in page
    assert_nothing_changed(content, files, revisions)


def test_a_zip_whose_module_fails_the_check_is_refused(client, trainer, content):
    files, revisions = snapshot_files(content), revision_count()
    broken = (content / FIRST_PATH).read_text(encoding="utf-8").replace(minutes_line(), "minutes: -1")
    response = upload_zip(client, course_zip(content, replace={FIRST_PATH: broken.encode()}), "veroeffentlichen")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and f"{FIRST_PATH}:5" in page and "„minutes“ muss mindestens 1 sein" in page
    assert_nothing_changed(content, files, revisions)


def test_a_zip_that_drops_a_module_is_refused(client, trainer, content):
    files, revisions = snapshot_files(content), revision_count()
    course_yml = (content / "grundlagenkurs/course.yml").read_text(encoding="utf-8").replace(f"  - id: {FIRST}\n", "")
    data = course_zip(content, replace={"grundlagenkurs/course.yml": course_yml.encode()}, drop=(FIRST_PATH,))
    response = upload_zip(client, data, "veroeffentlichen")
    assert response.status_code == 422
    assert f"Modul „{FIRST}“ („Nachhaltige Entwicklung und die Agenda 2030“) fehlt in der ZIP-Datei" in response.get_data(as_text=True)
    assert_nothing_changed(content, files, revisions)


def test_a_valid_zip_is_checked_then_published(client, trainer, content, learner_with_progress):
    changed = (content / FIRST_PATH).read_text(encoding="utf-8") + "\nNeu aus der ZIP-Datei.\n"
    data = course_zip(content, replace={FIRST_PATH: changed.encode()})
    files, revisions = snapshot_files(content), revision_count()
    check = upload_zip(client, data, "pruefen")
    page = check.get_data(as_text=True)
    assert check.status_code == 200 and "Prüfung bestanden" in page and "1 Modul würde sich ändern" in page
    assert_nothing_changed(content, files, revisions)
    response = upload_zip(client, data, "veroeffentlichen")
    assert response.status_code == 302
    assert (content / FIRST_PATH).read_text(encoding="utf-8") == changed
    assert revision_count() == revisions + 1
    db.session.expire_all()
    revision = db.session.get(Module, FIRST).current_revision
    assert revision.message == "Kurs überarbeitet" and revision.author_id == trainer.id
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "content_uploaded")).target_id == "grundlagenkurs"
    assert db.session.scalar(select(ModuleProgress).filter_by(user_id=learner_with_progress.id,
                                                              module_id=FIRST)).completed_at is not None
