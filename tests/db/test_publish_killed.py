"""A worker killed with SIGKILL in the middle of publishing: file and database agree afterwards.

`tests/web/test_publishing_recovery.py` stops the write-back inside the test process. Here a real
second process publishes a module edit on the same database and content folder and is killed
(`kill -9`, nothing of Python runs any more) at the worst moments: after the database commit,
before the file was replaced; and before the commit, with the new file only staged. What the
next start (`namalms.startup.recover`) finds must agree with the database, with the trainer kept
as the author and no revision made up by `content sync`.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from namalms.extensions import db
from namalms.models import ContentRevision, ContentWrite, Module
from namalms.startup import recover
from tests.web.test_trainer_content import FIRST, FIRST_PATH, content, current_source, revision_count  # noqa: F401

pytestmark = pytest.mark.both_databases  # the commit point is the database's

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 120  # for the child to reach the moment it is killed at (a busy machine is slow, never this slow)

# The publishing worker: the app on the test's database and content folder, one module edit
# published through the service and committed by the unit of work – as a trainer's request does.
# It says where it is on stdout and then waits there until it is killed.
CHILD = r"""
import json, sys, time
settings, instance, trainer_id, text, moment = json.loads(sys.argv[1])
from tests.conftest import app_config
from namalms import create_app
from namalms.extensions import db
from namalms.models import Module, User
from namalms.services import publishing
from namalms.services.publishing import files
from namalms.unit_of_work import unit_of_work

def stop_here(*args, **kwargs):
    print("at " + moment, flush=True)
    time.sleep(600)

if moment == "after-commit":  # the revision is committed, the file not yet replaced
    files._StagedWrite.complete = stop_here
app = create_app(app_config(**settings), instance_path=instance)
with app.app_context():
    with unit_of_work():
        trainer = db.session.get(User, trainer_id)
        publishing.publish_module_source(
            text, module_id="gk-agenda-2030", base_revision_id=db.session.get(Module, "gk-agenda-2030").current_revision_id,
            author=trainer, author_label=trainer.name, message="vom Prozess, der gleich stirbt")
        if moment == "before-commit":  # the new file staged next to the old one, nothing committed
            stop_here()
print("finished", flush=True)
"""


def killed_while_publishing(app, trainer, text: str, moment: str) -> None:
    """Run the publishing worker and SIGKILL it when it reports ``moment``."""
    settings = {"database_url": app.config["SQLALCHEMY_DATABASE_URI"], "CONTENT_DIR": app.config["CONTENT_DIR"]}
    arguments = json.dumps([settings, app.instance_path, trainer.id, text, moment])
    db.session.commit()  # hold no transaction (on SQLite: no lock) while the worker publishes
    child = subprocess.Popen([sys.executable, "-c", CHILD, arguments], cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = child.stdout.readline().strip()
        assert line == f"at {moment}", f"the worker did not reach {moment!r}: {line!r}\n{child.stderr.read()}"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=WAIT_S) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()
    db.session.expire_all()


@pytest.fixture
def trainer(make_user):
    return make_user("trainer", name="Tanja Trainerin")


def test_killed_after_the_commit_the_next_start_writes_the_file_and_keeps_the_author(app, content, trainer):
    old_text = (content / FIRST_PATH).read_text(encoding="utf-8")
    new_text = current_source().replace("title: Nachhaltige", "title: Hart beendete")
    revisions = revision_count()

    killed_while_publishing(app, trainer, new_text, "after-commit")

    assert (content / FIRST_PATH).read_text(encoding="utf-8") == old_text, "killed before the file was replaced"
    assert revision_count() == revisions + 1, "the revision was committed"
    assert db.session.scalar(select(func.count()).select_from(ContentWrite)) == 1, "the write-back is pending"
    db.session.commit()
    recover(app)  # what the next start does
    assert (content / FIRST_PATH).read_text(encoding="utf-8") == new_text
    assert revision_count() == revisions + 1, "no revision by 'content sync' in the trainer's place"
    latest = db.session.scalar(select(ContentRevision).where(ContentRevision.key == FIRST)
                               .order_by(ContentRevision.number.desc()).limit(1))
    assert latest.author_label == "Tanja Trainerin" and latest.message == "vom Prozess, der gleich stirbt"
    assert db.session.get(Module, FIRST).current_revision_id == latest.id
    assert db.session.scalar(select(func.count()).select_from(ContentWrite)) == 0


def test_killed_before_the_commit_nothing_is_published(app, content, trainer):
    old_text = (content / FIRST_PATH).read_text(encoding="utf-8")
    revisions = revision_count()
    current = db.session.get(Module, FIRST).current_revision_id

    killed_while_publishing(app, trainer, current_source().replace("title: Nachhaltige", "title: Nie"), "before-commit")

    db.session.commit()
    recover(app)
    assert (content / FIRST_PATH).read_text(encoding="utf-8") == old_text
    assert revision_count() == revisions
    assert db.session.get(Module, FIRST).current_revision_id == current
    assert db.session.scalar(select(func.count()).select_from(ContentWrite)) == 0
