"""A content check is not repeated for the same text on the same content folder.

"Prüfen" pressed twice, or "Veröffentlichen" right after "Prüfen", answers from the first check;
any change to the text or to any file of the content folder checks again.
"""
from __future__ import annotations

import pytest

from namalms.content.loader import parsed_modules
from namalms.extensions import db
from namalms.models import Module
from namalms.services.publishing import files
from namalms.services.publishing.modules import plan_module_edit
from tests.web.test_trainer_content import content  # noqa: F401  (fixture)

MODULE_ID = "gk-agenda-2030"


@pytest.fixture
def checks(monkeypatch):
    """How many checks really ran (each one is a child process)."""
    ran = []
    original = files.run_with_deadline

    def counted(function, *args, seconds):
        ran.append(function.__name__)
        return original(function, *args, seconds=seconds)

    files._checked.clear()
    monkeypatch.setattr(files, "run_with_deadline", counted)
    yield ran
    files._checked.clear()


def test_the_same_text_is_checked_once_and_a_change_anywhere_checks_again(app, content, checks):
    module = db.session.get(Module, MODULE_ID)
    source, base = module.current_revision.source, module.current_revision_id
    edited = source.replace("title:", "title: Neu –", 1)

    first = plan_module_edit(MODULE_ID, edited, base_revision_id=base)
    assert not first.problems and checks == ["parse_module", "load_tree_seeded"]
    assert parsed_modules({first.path}), "what the check's child process parsed is kept for the next check"
    again = plan_module_edit(MODULE_ID, edited, base_revision_id=base)
    assert not again.problems and again.module == first.module
    assert checks == ["parse_module", "load_tree_seeded"], "the second check of the same text ran again"

    plan_module_edit(MODULE_ID, edited + "\nNoch ein Satz.\n", base_revision_id=base)
    assert checks[2:] == ["parse_module", "load_tree_seeded"], "a changed text must be checked"

    page = next((content / "seiten").glob("*.md"))
    page.write_text(page.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    plan_module_edit(MODULE_ID, edited, base_revision_id=base)
    assert checks[4:] == ["load_tree_seeded"], "another file of the content folder changed: the tree is checked again"


def test_a_check_that_ran_out_of_time_is_not_kept(app, content, checks):
    saved = app.config.get("CONTENT_CHECK_TIMEOUT")
    app.config["CONTENT_CHECK_TIMEOUT"] = 0.000001
    try:
        module = db.session.get(Module, MODULE_ID)
        for _ in range(2):
            plan = plan_module_edit(MODULE_ID, module.current_revision.source, base_revision_id=None)
            assert plan.problems and "abgebrochen" in plan.problems[0].message
    finally:
        if saved is None:
            app.config.pop("CONTENT_CHECK_TIMEOUT", None)
        else:
            app.config["CONTENT_CHECK_TIMEOUT"] = saved
    assert checks == ["parse_module", "parse_module"]
