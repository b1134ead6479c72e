"""`flask content import|history|restore` run the web upload's service, and `retired:` in course.yml."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from namalms.content.loader import load_tree
from namalms.extensions import db
from namalms.models import AuditEvent, Module
from namalms.content.listing import CourseListing, ListingError, read_listing, set_order_line, write_listing
from tests.conftest import minutes_line
from tests.web.test_trainer_content import (  # noqa: F401  (fixtures)
    FIRST, FIRST_PATH, NEW_MODULE, SECOND, content, course_zip, current_source, revision_count, snapshot_files,
)


def write(tmp_path: Path, name: str, data: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return str(path)


def test_import_of_a_changed_module_publishes_and_writes_it_back(runner, content, tmp_path):
    source = current_source() + "\nNeuer Absatz von der Kommandozeile.\n"
    revisions = revision_count()
    result = runner.invoke(args=["content", "import", write(tmp_path, "agenda.md", source), "-m", "Absatz ergänzt",
                                 "--author", "Redaktion"])
    assert result.exit_code == 0, result.output
    assert f"{FIRST}: revision" in result.output and FIRST_PATH in result.output
    assert (content / FIRST_PATH).read_text(encoding="utf-8") == source
    db.session.expire_all()
    revision = db.session.get(Module, FIRST).current_revision
    assert revision_count() == revisions + 1
    assert (revision.author_label, revision.message, revision.source) == ("Redaktion", "Absatz ergänzt", source)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "content_published")).actor_label == "Redaktion"


def test_import_of_a_broken_module_lists_the_problems_and_changes_nothing(runner, content, tmp_path):
    files, revisions = snapshot_files(content), revision_count()
    broken = current_source().replace(minutes_line(), "minutes: neunzig").replace("sdgs: [1,", "sdgs: [18, 1,")
    result = runner.invoke(args=["content", "import", write(tmp_path, "agenda.md", broken)])
    assert result.exit_code == 1
    assert f"{FIRST_PATH}:5: „minutes“ muss eine ganze Zahl sein" in result.output
    assert "nothing was imported or changed" in result.output
    assert snapshot_files(content) == files and revision_count() == revisions


def test_dry_run_checks_without_changing_anything(runner, content, tmp_path):
    files, revisions = snapshot_files(content), revision_count()
    source = current_source().replace(minutes_line(), "minutes: 80")
    result = runner.invoke(args=["content", "import", "--dry-run", write(tmp_path, "agenda.md", source)])
    assert result.exit_code == 0 and "Check passed, nothing changed" in result.output
    assert snapshot_files(content) == files and revision_count() == revisions


def test_import_of_a_new_module_needs_the_course(runner, content, tmp_path):
    path = write(tmp_path, "neu.md", NEW_MODULE)
    result = runner.invoke(args=["content", "import", path])
    assert result.exit_code == 1 and "bitte den Kurs auswählen" in result.output
    result = runner.invoke(args=["content", "import", path, "--course", "grundlagenkurs"])
    assert result.exit_code == 0, result.output
    assert (content / "grundlagenkurs/07-gk-neues-thema.md").exists()
    assert "- id: gk-neues-thema" in (content / "grundlagenkurs/course.yml").read_text(encoding="utf-8")
    assert load_tree(content).is_ok


def test_import_of_a_zip_with_dot_dot_is_refused(runner, content, tmp_path):
    files, revisions = snapshot_files(content), revision_count()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("grundlagenkurs/course.yml", "id: grundlagenkurs\n")
        archive.writestr("grundlagenkurs/../../boese.md", "x")
    result = runner.invoke(args=["content", "import", write(tmp_path, "kurs.zip", buffer.getvalue())])
    assert result.exit_code == 1
    assert "kurs.zip: „grundlagenkurs/../../boese.md“: „..“ im Pfad" in result.output
    assert snapshot_files(content) == files and revision_count() == revisions


def test_import_of_a_course_zip_publishes_what_changed(runner, content, tmp_path):
    changed = (content / FIRST_PATH).read_text(encoding="utf-8") + "\nAus dem Archiv.\n"
    data = course_zip(content, replace={FIRST_PATH: changed.encode()})
    revisions = revision_count()
    result = runner.invoke(args=["content", "import", write(tmp_path, "grundlagenkurs.zip", data)])
    assert result.exit_code == 0, result.output
    assert f"{FIRST} changed" in result.output and f"{SECOND} unchanged" in result.output
    assert revision_count() == revisions + 1
    assert (content / FIRST_PATH).read_text(encoding="utf-8") == changed


def test_other_files_are_refused(runner, tmp_path):
    result = runner.invoke(args=["content", "import", write(tmp_path, "notizen.txt", "x")])
    assert result.exit_code == 2 and ".md" in result.output


def test_history_lists_number_author_time_hash_and_message(runner, content, tmp_path):
    runner.invoke(args=["content", "import", write(tmp_path, "a.md", current_source().replace(minutes_line(), "minutes: 85")),
                        "-m", "Zeit angepasst", "--author", "Redaktion"])
    result = runner.invoke(args=["content", "history", FIRST])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    current = db.session.get(Module, FIRST).current_revision
    assert lines[0].split()[0] == str(current.number) and current.source_hash[:12] in lines[0]
    assert "Redaktion" in lines[0] and "Zeit angepasst (current)" in lines[0]
    assert "content sync" in lines[-1]
    assert runner.invoke(args=["content", "history", "gibt-es-nicht"]).exit_code == 1


def test_restore_publishes_the_old_text_as_a_new_revision(runner, content, tmp_path):
    old = current_source()
    old_number = db.session.get(Module, FIRST).current_revision.number
    runner.invoke(args=["content", "import", write(tmp_path, "a.md", old.replace(minutes_line(), "minutes: 85")), "-m", "x"])
    result = runner.invoke(args=["content", "restore", FIRST, str(old_number)])
    assert result.exit_code == 0, result.output
    assert f"as revision {old_number + 2}" in result.output
    assert (content / FIRST_PATH).read_text(encoding="utf-8") == old
    db.session.expire_all()
    assert db.session.get(Module, FIRST).current_revision.message == f"Revision {old_number} wiederhergestellt"


def test_restore_adjusts_the_order_to_the_current_position(runner, content, trainer_client, tmp_path):
    old = current_source()
    old_number = db.session.get(Module, FIRST).current_revision.number
    assert trainer_client.post(f"/trainer/content/module/{FIRST}/verschieben", data={"richtung": "runter"}).status_code == 302
    runner.invoke(args=["content", "import", write(tmp_path, "a.md", current_source().replace(minutes_line(), "minutes: 85"))])
    result = runner.invoke(args=["content", "restore", FIRST, str(old_number)])
    assert result.exit_code == 0, result.output
    assert (content / FIRST_PATH).read_text(encoding="utf-8") == old.replace("\norder: 1\n", "\norder: 2\n")
    assert load_tree(content).is_ok


@pytest.fixture
def trainer_client(client, make_user, auth):
    auth.login(make_user("trainer").email)
    return client


def test_restore_of_an_unknown_revision_fails(runner, content):
    files = snapshot_files(content)
    result = runner.invoke(args=["content", "restore", FIRST, "999"])
    assert result.exit_code == 1 and "Revision 999" in result.output
    assert snapshot_files(content) == files


# --- retired modules in course.yml (the loader accepts them; sync keeps them retired) --------

RETIRED_COURSE = """id: grundlagenkurs
title: Grundlagenkurs
order: 1
modules:
  - id: gk-sdgs-lokalisieren
  - id: gk-nachhaltigkeitsstrategie
  - id: gk-nachhaltigkeitsbericht
  - id: gk-nachhaltigkeitshaushalt
  - id: gk-verwaltung-verankern
retired:
  - gk-agenda-2030
"""


def test_course_listing_round_trip_keeps_everything_else():
    text = "id: k\n# Kommentar\ntitle: T\nmodules:\n  - id: a\n  - id: b\n    required: false\n\n# Zum Schluss\naudience: x\n"
    listing = read_listing(text)
    assert listing.modules == [("a", True), ("b", False)] and listing.retired == []
    listing.modules.reverse()
    listing.retired.append("c")
    rewritten = write_listing(text, listing)
    assert rewritten.startswith("id: k\n# Kommentar\ntitle: T\nmodules:\n  - id: b\n    required: false\n  - id: a\nretired:")
    assert rewritten.endswith("  - c\n\n# Zum Schluss\naudience: x\n")
    assert read_listing(rewritten) == CourseListing([("b", False), ("a", True)], ["c"])
    assert read_listing(write_listing(rewritten, CourseListing([("a", True)], []))).retired == []


@pytest.mark.parametrize("source, order, expected", [
    ("---\nid: a\norder: 1\n---\nText order: 1\n", 3, "---\nid: a\norder: 3\n---\nText order: 1\n"),
    ("---\norder: 12   # Position\n---\n", 2, "---\norder: 2   # Position\n---\n"),
])
def test_set_order_line_changes_only_the_front_matter(source, order, expected):
    assert set_order_line(source, order) == expected


def test_set_order_line_without_order_is_refused():
    with pytest.raises(ListingError, match="order"):
        set_order_line("---\nid: a\n---\norder: 1\n", 2)


def retired_tree(tmp_path: Path, course_yml: str) -> Path:
    """The shipped content with the first Grundlagenkurs module retired by hand, as a trainer in git would."""
    import shutil

    root = tmp_path / "content"
    shutil.copytree(Path(__file__).resolve().parents[2] / "content", root)
    folder = root / "grundlagenkurs"
    for position, path in enumerate(sorted(folder.glob("0[2-6]-*.md")), start=1):
        path.write_text(set_order_line(path.read_text(encoding="utf-8"), position), encoding="utf-8")
    (folder / "course.yml").write_text(course_yml, encoding="utf-8")
    return root


def test_content_check_accepts_a_retired_module_and_leaves_it_out_of_the_tree(tmp_path):
    result = load_tree(retired_tree(tmp_path, RETIRED_COURSE))
    assert result.problems == []
    assert FIRST not in result.tree.modules and result.tree.course("grundlagenkurs").retired_ids == (FIRST,)
    assert result.tree.modules[SECOND].order == 1


@pytest.mark.parametrize("retired, message", [
    ("  - gk-sdgs-lokalisieren\n  - gk-agenda-2030\n", "steht unter „modules“ und unter „retired“"),
    ("  - gk-agenda-2030\n  - gk-agenda-2030\n", "doppelt unter „retired“"),
    ("  - gk-gibt-es-nicht\n  - gk-agenda-2030\n", "keine Moduldatei hat diese id – zurückgezogene Module behalten ihre Datei"),
    ("  - Großes Modul\n  - gk-agenda-2030\n", "Einträge in „retired“ sind Modul-ids"),
])
def test_content_check_reports_bad_retired_lists(tmp_path, retired, message):
    course = RETIRED_COURSE.split("retired:\n")[0] + "retired:\n" + retired
    problems = load_tree(retired_tree(tmp_path, course)).problems
    assert any(p.path == "grundlagenkurs/course.yml" and message in p.message for p in problems), problems


def test_content_check_rejects_an_unlisted_module_file_as_before(tmp_path):
    course = RETIRED_COURSE.split("retired:\n")[0]
    problems = load_tree(retired_tree(tmp_path, course)).problems
    assert any(p.path == FIRST_PATH and "wird in keiner course.yml aufgeführt" in p.message for p in problems)
