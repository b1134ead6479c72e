"""A publication is committed in the database first; the file follows. A process killed at any
moment leaves file and database in agreement once the app starts again, with the author kept."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select

from namalms.extensions import db
from namalms.models import ContentRevision, ContentWrite, Module
from namalms.services import publishing
from namalms.services.publishing import files
from namalms.startup import recover
from tests.web.test_trainer_content import FIRST, FIRST_PATH, content, current_source, revision_count  # noqa: F401

pytestmark = pytest.mark.both_databases  # its behaviour depends on the database


@pytest.fixture
def trainer(make_user):
    return make_user("trainer", name="Tanja Trainerin")


def publish_edit(trainer, text: str, message: str = "Titel geschärft"):
    return publishing.publish_module_source(
        text, module_id=FIRST, base_revision_id=db.session.get(Module, FIRST).current_revision_id,
        author=trainer, author_label=trainer.name, message=message)


def die_after_commit(monkeypatch):
    """The process is killed right after the commit: the staged file never replaces the old one."""
    monkeypatch.setattr(files._StagedWrite, "complete", lambda self, bind: None)


def staged_files(root):
    return sorted(p for p in root.rglob(".*.tmp"))


@pytest.mark.parametrize("restart", ["content sync", "app start"])
def test_killed_after_the_commit_the_file_catches_up_and_the_author_is_kept(
        app, runner, content, trainer, monkeypatch, restart):
    old_text = (content / FIRST_PATH).read_text(encoding="utf-8")
    new_text = current_source().replace("title: Nachhaltige", "title: Wirklich nachhaltige")
    die_after_commit(monkeypatch)
    revision = publish_edit(trainer, new_text)
    db.session.commit()
    assert (content / FIRST_PATH).read_text(encoding="utf-8") == old_text, "the file is behind the database"
    assert db.session.scalar(select(func.count()).select_from(ContentWrite)) == 1
    monkeypatch.undo()
    revisions = revision_count()

    if restart == "content sync":
        result = runner.invoke(args=["content", "sync"])
        assert result.exit_code == 0, result.output
        assert f"Completed the interrupted write-back of {FIRST_PATH}" in result.output
    else:
        db.session.commit()  # a starting server has no other transaction open
        recover(app)

    assert (content / FIRST_PATH).read_text(encoding="utf-8") == new_text
    assert revision_count() == revisions, "no revision by 'content sync' in the trainer's place"
    latest = db.session.scalar(select(ContentRevision).where(ContentRevision.key == FIRST)
                               .order_by(ContentRevision.number.desc()).limit(1))
    assert latest.id == revision.id and latest.author_label == "Tanja Trainerin"
    assert db.session.scalar(select(func.count()).select_from(ContentWrite)) == 0


def test_an_older_unfinished_write_never_overwrites_a_newer_one(app, runner, content, trainer, monkeypatch):
    first = current_source().replace("title: Nachhaltige", "title: Erste")
    die_after_commit(monkeypatch)
    publish_edit(trainer, first, "erste Fassung")
    db.session.commit()
    monkeypatch.undo()
    second = first.replace("title: Erste", "title: Zweite")
    publish_edit(trainer, second, "zweite Fassung")
    db.session.commit()
    assert (content / FIRST_PATH).read_text(encoding="utf-8") == second
    db.session.commit()
    recover(app)
    assert (content / FIRST_PATH).read_text(encoding="utf-8") == second
    assert db.session.scalar(select(func.count()).select_from(ContentWrite)) == 0


def test_a_publication_that_fails_before_the_commit_leaves_nothing(app, content, trainer):
    old_text = (content / FIRST_PATH).read_text(encoding="utf-8")
    revisions = revision_count()
    publish_edit(trainer, current_source().replace("title: Nachhaltige", "title: Abgebrochene"))
    assert staged_files(content), "the new file is staged next to the old one"
    db.session.rollback()  # e.g. the commit fails, or the request raises afterwards
    assert staged_files(content) == []
    assert (content / FIRST_PATH).read_text(encoding="utf-8") == old_text
    assert revision_count() == revisions
    assert db.session.scalar(select(func.count()).select_from(ContentWrite)) == 0


def test_temporary_files_of_a_killed_worker_are_removed_at_start(app, content, tmp_path, monkeypatch):
    stale = content / "grundlagenkurs" / ".01-agenda-2030.md.abc123.tmp"
    stale.write_text("halb geschrieben", encoding="utf-8")
    fresh = content / "grundlagenkurs" / ".01-agenda-2030.md.def456.tmp"
    fresh.write_text("wird gerade geschrieben", encoding="utf-8")
    monkeypatch.setattr(files.tempfile, "gettempdir", lambda: str(tmp_path))
    check_copy = tmp_path / f"{files.CHECK_PREFIX}xyz"
    (check_copy / "content").mkdir(parents=True)
    an_hour_ago = os.path.getmtime(stale) - 3600
    for path in (stale, check_copy):
        os.utime(path, (an_hour_ago, an_hour_ago))
    db.session.commit()
    recover(app)
    assert not stale.exists() and not check_copy.exists()
    assert fresh.exists(), "a publication running in another worker keeps its file"
    fresh.unlink()
