"""One transaction boundary: a request or command saves everything it did, or nothing."""
from __future__ import annotations

import click
import pytest
from flask import Blueprint, abort, redirect
from sqlalchemy import insert, select

from namalms import create_app
from namalms.extensions import db
from namalms.models import Region
from namalms.services import ServiceError
from namalms.unit_of_work import cli_command, refuse


def add_region(region_id: str) -> None:
    db.session.add(Region(id=region_id, name=region_id))
    db.session.flush()


@pytest.fixture
def probe(tmp_path):
    """A fresh app with a few routes that change the database and then end in different ways."""
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'uow.sqlite3'}"},
                     instance_path=str(tmp_path))
    routes = Blueprint("probe", __name__)

    @routes.post("/ok")
    def ok():
        add_region("ok")
        return redirect("/")

    @routes.post("/refused-form")
    def refused_form():
        add_region("form")
        return "Bitte korrigieren", 422

    @routes.post("/refused")
    def refused():
        add_region("refused")
        return refuse(ServiceError("Geht nicht."), "/")

    @routes.post("/service-error")
    def service_error():
        add_region("service")
        raise ServiceError("Das Zertifikat ist bereits widerrufen.")

    @routes.post("/not-found")
    def not_found():
        add_region("404")
        abort(404)

    @routes.post("/crash")
    def crash():
        add_region("crash")
        raise RuntimeError("boom")

    @routes.post("/core-insert")
    def core_insert():  # a write statement, no ORM object: nothing is pending in the session
        db.session.execute(insert(Region).values(id="core", name="core"))
        return redirect("/")

    @click.command("probe-cli")
    @click.option("--fail", is_flag=True)
    @click.option("--dry-run", is_flag=True)
    @cli_command
    def probe_cli(fail: bool, dry_run: bool, work) -> None:
        add_region("cli")
        if fail:
            raise ServiceError("Begründung fehlt.", "reason", english="a reason is required")
        if dry_run:
            work.discard()

    app.register_blueprint(routes)
    app.cli.add_command(probe_cli)
    with app.app_context():
        db.create_all()
    return app


def regions(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(Region.id)))


def test_a_successful_request_is_committed(probe):
    assert probe.test_client().post("/ok").status_code == 302
    assert regions(probe) == {"ok"}


@pytest.mark.parametrize("path, status", [("/refused-form", 422), ("/refused", 302), ("/not-found", 404)])
def test_a_refused_request_saves_nothing(probe, path, status):
    assert probe.test_client().post(path).status_code == status
    assert regions(probe) == set()


def test_an_unhandled_service_error_is_a_german_message_where_the_user_came_from(probe):
    client = probe.test_client()
    response = client.post("/service-error", headers={"Referer": "http://localhost/office/"})
    assert response.status_code == 302 and response.location.endswith("/office/")
    with client.session_transaction() as session:
        assert ("error", "Das Zertifikat ist bereits widerrufen.") in session["_flashes"]
    without_referrer = client.post("/service-error")
    assert without_referrer.status_code == 422
    assert "Das Zertifikat ist bereits widerrufen." in without_referrer.get_data(as_text=True)
    assert regions(probe) == set()


def test_a_crash_saves_nothing(probe):
    probe.config["PROPAGATE_EXCEPTIONS"] = False
    assert probe.test_client().post("/crash").status_code == 500
    assert regions(probe) == set()


def test_a_write_statement_without_orm_objects_is_committed_too(probe):
    assert probe.test_client().post("/core-insert").status_code == 302
    assert regions(probe) == {"core"}


def test_a_failed_request_does_not_spoil_the_next_one(probe):
    client = probe.test_client()
    client.post("/refused")
    assert client.post("/ok").status_code == 302
    assert regions(probe) == {"ok"}


def test_cli_commands_commit_on_success_and_explain_refusals_in_english(probe):
    runner = probe.test_cli_runner()
    with probe.app_context():  # what the `flask` command does for every command
        failed = runner.invoke(args=["probe-cli", "--fail"])
    assert failed.exit_code == 1
    assert "error: a reason is required (Begründung fehlt.)" in failed.output
    assert regions(probe) == set()
    with probe.app_context():
        assert runner.invoke(args=["probe-cli", "--dry-run"]).exit_code == 0
    assert regions(probe) == set(), "a dry run saves nothing"
    with probe.app_context():
        assert runner.invoke(args=["probe-cli"]).exit_code == 0
    assert regions(probe) == {"cli"}


def test_only_the_unit_of_work_commits():
    """Views, services and commands never commit; the unit of work does (see its docstring)."""
    from pathlib import Path

    package = Path(__file__).resolve().parents[2] / "namalms"
    committing = sorted(str(path.relative_to(package)) for path in package.rglob("*.py")
                        if "session.commit(" in path.read_text(encoding="utf-8"))
    assert committing == ["unit_of_work.py"]
    rolling_back = sorted(str(path.relative_to(package)) for path in package.rglob("*.py")
                          if "session.rollback(" in path.read_text(encoding="utf-8"))
    assert rolling_back == ["unit_of_work.py"]
