"""Configuration safety and the content/demo commands."""
import shutil

import pytest
from sqlalchemy import func, select

from namalms.extensions import db
from namalms.models import ContentRevision, User
from tests.conftest import minutes_line


def test_app_refuses_to_start_without_secret_key_outside_development(tmp_path, monkeypatch):
    monkeypatch.delenv("NAMALMS_SECRET_KEY", raising=False)
    monkeypatch.delenv("NAMALMS_ENV", raising=False)
    from namalms import config

    settings = {"NAMALMS_ENV": "production"}
    with pytest.raises(RuntimeError, match="No secret key configured"):
        config.finish(settings, str(tmp_path))
    (tmp_path / "secret_key").write_text("from-instance")
    config.finish(settings, str(tmp_path))
    assert settings["SECRET_KEY"] == "from-instance"


def test_database_url_from_environment_uses_psycopg(monkeypatch):
    from namalms.config import apply_environment, normalise_database_url

    monkeypatch.setenv("NAMALMS_DATABASE_URL", "postgresql://u@h/db")
    settings = {}
    apply_environment(settings)
    assert normalise_database_url(settings["SQLALCHEMY_DATABASE_URI"]) == "postgresql+psycopg://u@h/db"


def test_content_check_names_file_and_line_and_exits_1(app, runner, tmp_path):
    broken = tmp_path / "content"
    shutil.copytree(app.config["CONTENT_DIR"], broken)
    module = broken / "grundlagenkurs" / "01-agenda-2030.md"
    text = module.read_text(encoding="utf-8")
    module.write_text(text.replace(minutes_line(), "minutes: viel", 1), encoding="utf-8")
    result = runner.invoke(args=["content", "check", str(broken)])
    assert result.exit_code == 1
    assert "grundlagenkurs/01-agenda-2030.md:5:" in result.output
    clean = runner.invoke(args=["content", "check", app.config["CONTENT_DIR"]])
    assert clean.exit_code == 0 and "OK:" in clean.output


def test_content_sync_creates_revisions_only_for_changed_files(app, runner):
    before = db.session.scalar(select(func.count()).select_from(ContentRevision))
    result = runner.invoke(args=["content", "sync", app.config["CONTENT_DIR"]])
    assert result.exit_code == 0 and "0 new revision(s)" in result.output
    assert db.session.scalar(select(func.count()).select_from(ContentRevision)) == before


def test_content_sync_refuses_a_broken_tree_and_changes_nothing(app, runner, tmp_path):
    broken = tmp_path / "content"
    shutil.copytree(app.config["CONTENT_DIR"], broken)
    (broken / "programme.yml").write_text("issuer: [unclosed\n", encoding="utf-8")
    before = db.session.scalar(select(func.count()).select_from(ContentRevision))
    result = runner.invoke(args=["content", "sync", str(broken)])
    assert result.exit_code == 1 and "nothing imported" in result.output
    assert db.session.scalar(select(func.count()).select_from(ContentRevision)) == before


def test_demo_is_idempotent_and_prints_logins(runner):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "programmbuero@demo.nama.nrw" in first.output and "NaMa-Demo-2026!" in first.output
    assert "Demo-Zugänge" in first.output, "make run speaks German"
    # The states shown are read from the database, not a fixed text.
    assert "hat Zertifikat Grundlagenkurs" in first.output and "widerrufen:" in first.output
    assert "NAMA-" in first.output and "noch ohne Zertifikat – für" in first.output
    users = db.session.scalar(select(func.count()).select_from(User))
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(User)) == users
