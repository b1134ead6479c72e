"""Certificates are signed once; every download and verification checks the stored signature
with the key it names. Keys rotate without invalidating anything, and production refuses to run
without its key."""
import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, update

from namalms import create_app, keys
from namalms.certificates import keyring
from namalms.extensions import db
from namalms.models import Certificate
from tests.web.test_certificates import certificates_of, work_through

pytestmark = pytest.mark.both_databases  # the snapshot's JSON round trip differs between databases

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def tamper(certificate, name="Fälscher Name"):
    """Change the holder name in the stored snapshot directly in the database, as an attacker with
    database access would (the signature stays as it was)."""
    snapshot = dict(certificate.snapshot, holder=dict(certificate.snapshot["holder"], name=name))
    db.session.execute(update(Certificate).where(Certificate.id == certificate.id).values(snapshot=snapshot))
    db.session.commit()
    db.session.expire_all()


@pytest.fixture
def issued(learner):
    work_through(learner, "grundlagenkurs")
    [certificate] = certificates_of(learner)
    return certificate


def test_a_certificate_is_signed_once_at_issue_with_the_key_id(app, issued):
    ring = keys.ring()
    assert issued.key_id == ring.active_id and issued.signature
    stored = issued.signature
    db.session.expire_all()
    assert db.session.get(Certificate, issued.id).signature == stored


def test_downloads_serve_the_stored_signature_and_never_sign_anew(client, issued):
    document = client.get(f"/certificates/{issued.number}.json").get_json()
    assert document["signature"] == issued.signature and document["key_id"] == issued.key_id
    assert document["status"]["state"] == "valid" and "checked_at" in document["status"]
    assert "not signed" in document["status"]["note"]


def test_a_tampered_row_is_an_integrity_error_everywhere_never_valid(client, issued, caplog):
    tamper(issued)
    with caplog.at_level(logging.ERROR, logger="namalms.services.certificates"):
        page = client.get(f"/verify/{issued.verification_code}")
    text = page.get_data(as_text=True)
    assert page.status_code == 409
    assert "Integritätsfehler" in text and "Gültig" not in text and "Fälscher Name" not in text
    assert any(issued.number in r.getMessage() and "integrity" in r.getMessage() for r in caplog.records)
    as_json = client.get(f"/verify/{issued.verification_code}.json")
    assert as_json.status_code == 409 and as_json.get_json()["error"] == "integrity_error"
    for suffix in ("", ".pdf", ".json"):
        download = client.get(f"/certificates/{issued.number}{suffix}")
        assert download.status_code == 409 and b"Integrit" in download.data, suffix


def test_a_row_naming_an_unknown_key_is_an_integrity_error(client, issued):
    db.session.execute(update(Certificate).where(Certificate.id == issued.id).values(key_id="0000000000000000"))
    db.session.commit()
    page = client.get(f"/verify/{issued.verification_code}")
    assert page.status_code == 409 and "Integritätsfehler" in page.get_data(as_text=True)


def download(client, certificate, tmp_path, name="certificate.json"):
    path = tmp_path / name
    path.write_bytes(client.get(f"/certificates/{certificate.number}.json").data)
    return path


def test_cli_verify_reports_a_revoked_certificate_as_revoked(client, runner, issued, tmp_path):
    path = download(client, issued, tmp_path)
    assert runner.invoke(args=["certificates", "revoke", issued.number, "--category", "fraud",
                               "--reason", "Täuschung festgestellt"]).exit_code == 0
    result = runner.invoke(args=["certificates", "verify", str(path)])
    assert result.exit_code == 3, result.output
    assert "REVOKED" in result.output and "VALID:" not in result.output.replace("SIGNATURE VALID", "")


def test_cli_verify_ignores_a_status_block_edited_to_valid(client, runner, issued, tmp_path):
    runner.invoke(args=["certificates", "revoke", issued.number, "--category", "error", "--reason", "irrtümlich"])
    path = download(client, issued, tmp_path)
    document = json.loads(path.read_text(encoding="utf-8"))
    document["status"] = {"state": "valid", "label": "gültig"}
    path.write_text(json.dumps(document), encoding="utf-8")
    result = runner.invoke(args=["certificates", "verify", str(path)])
    assert result.exit_code == 3 and "REVOKED" in result.output


def test_cli_verify_reports_a_superseded_certificate(client, runner, issued, tmp_path):
    path = download(client, issued, tmp_path)
    result = runner.invoke(args=["certificates", "reissue", issued.number, "--reason", "Name korrigiert"])
    replacement = result.output.split("-> ")[-1].strip()
    result = runner.invoke(args=["certificates", "verify", str(path)])
    assert result.exit_code == 3 and "SUPERSEDED" in result.output and replacement in result.output


def test_cli_verify_says_when_it_cannot_check_the_status(client, runner, issued, tmp_path):
    path = download(client, issued, tmp_path)
    db.session.delete(db.session.get(Certificate, issued.id))
    db.session.commit()
    result = runner.invoke(args=["certificates", "verify", str(path)])
    assert result.exit_code == 0 and "SIGNATURE VALID" in result.output and "STATUS NOT CHECKED" in result.output


@pytest.fixture
def disk_ring(app, tmp_path):
    """This app's keys in a ring directory on disk for the test (as in production)."""
    location = tmp_path / "signing-keys"
    keyring.generate(location)
    saved = app.extensions["namalms_keys"]
    app.extensions["namalms_keys"] = keys.SigningKeys(location, keyring.read_ring(location))
    yield location
    app.extensions["namalms_keys"] = saved


def restart_app_servers(app, location):
    app.extensions["namalms_keys"] = keys.SigningKeys(location, keyring.read_ring(location))


def test_rotation_keeps_every_earlier_certificate_verifiable(app, client, runner, make_user, auth, disk_ring):
    first = make_user("learner")
    work_through(first, "grundlagenkurs")
    [old] = certificates_of(first)
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    restart_app_servers(app, disk_ring)
    second = make_user("learner")
    work_through(second, "grundlagenkurs")
    [new] = certificates_of(second)
    assert new.key_id != old.key_id and new.key_id == keyring.read_ring(disk_ring).active_id
    for certificate in (old, new):
        page = client.get(f"/verify/{certificate.verification_code}")
        assert page.status_code == 200 and "Gültig" in page.get_data(as_text=True)
    published = {k["kid"] for k in client.get("/verify/keys.json").get_json()["keys"]}
    assert published == {old.key_id, new.key_id}
    assert client.get(f"/verify/keys/{old.key_id}.pem").data.startswith(b"-----BEGIN PUBLIC KEY")
    assert client.get("/verify/keys/0000000000000000.pem").status_code == 404
    assert client.get("/verify/public-key.pem").data.decode() == keys.ring().public_pem(new.key_id)


def test_a_server_that_did_not_restart_picks_up_a_rotated_key(app, client, runner, make_user, disk_ring):
    runner.invoke(args=["keys", "rotate"])
    stale = app.extensions["namalms_keys"]
    restart_app_servers(app, disk_ring)  # another server restarted and signs with the new key
    learner = make_user("learner")
    work_through(learner, "grundlagenkurs")
    [certificate] = certificates_of(learner)
    app.extensions["namalms_keys"] = stale  # this server still holds the old ring
    stale._checked_at = 0.0
    assert client.get(f"/verify/{certificate.verification_code}").status_code == 200


def test_keys_generate_refuses_to_replace_a_key(runner, disk_ring):
    result = runner.invoke(args=["keys", "generate"])
    assert result.exit_code == 1 and "keys rotate" in result.output
    listing = runner.invoke(args=["keys", "list"])
    assert "active" in listing.output and listing.exit_code == 0


def production_config(tmp_path, **extra):
    return {"NAMALMS_ENV": "production", "SECRET_KEY": "s" * 32,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}", **extra}


def test_production_refuses_to_start_without_a_key_and_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    with pytest.raises(RuntimeError, match=r"No certificate signing key configured.*flask --app namalms keys generate"):
        create_app(production_config(tmp_path), instance_path=str(tmp_path / "instance"))


def test_keys_generate_works_where_the_server_refused_and_then_it_starts(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")  # what the `flask` command sets
    cli_app = create_app(production_config(tmp_path), instance_path=str(instance))
    with cli_app.app_context():
        result = cli_app.test_cli_runner().invoke(args=["keys", "generate"])
    assert result.exit_code == 0, result.output
    [key_file] = (instance / "signing-keys").glob("*.pem")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    monkeypatch.delenv("FLASK_RUN_FROM_CLI")
    served = create_app(production_config(tmp_path), instance_path=str(instance))
    with served.app_context():
        assert keys.ring().active_id == key_file.stem


def test_a_key_lost_from_a_running_installation_stops_the_server_from_starting(tmp_path):
    """The WSGI entry point gunicorn loads (wsgi.py) fails with the message instead of making a new key."""
    instance = tmp_path / "instance"
    keyring.generate(instance / "signing-keys")
    env = {**os.environ, "NAMALMS_ENV": "production", "NAMALMS_SECRET_KEY": "s" * 32,
           "NAMALMS_INSTANCE_PATH": str(instance), "NAMALMS_CONTENT_DIR": str(PROJECT_ROOT / "content"),
           "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("FLASK_RUN_FROM_CLI", None)
    env.pop("NAMALMS_DATABASE_URL", None)
    started = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=PROJECT_ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    for path in (instance / "signing-keys").iterdir():
        path.unlink()  # the key is lost
    refused = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=PROJECT_ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0
    assert "flask --app namalms keys generate" in refused.stderr
    assert not list((instance / "signing-keys").glob("*.pem")), "no new key appears silently"


def test_development_creates_its_key_ring_readable_by_the_owner_only(tmp_path):
    instance = tmp_path / "instance"
    create_app({"NAMALMS_ENV": "development", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'd.sqlite3'}"},
               instance_path=str(instance))
    ring_dir = instance / "signing-keys"
    assert stat.S_IMODE(ring_dir.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in ring_dir.iterdir())


def test_the_key_file_from_before_key_rings_keeps_verifying(tmp_path, monkeypatch):
    """An installation upgraded from the single instance/certificate_signing_key.pem reads it as its ring."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from namalms.certificates.signing import key_id, load_or_create_private_key

    instance = tmp_path / "instance"
    legacy = load_or_create_private_key(instance / "certificate_signing_key.pem")
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    app = create_app(production_config(tmp_path), instance_path=str(instance))
    with app.app_context():
        assert keys.ring().active_id == key_id(legacy)
        assert isinstance(keys.active_key(), Ed25519PrivateKey)
    with app.app_context():  # what the `flask` command does for every command
        result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    ring = keyring.read_ring(instance / "signing-keys")
    assert key_id(legacy) in ring.private and ring.active_id != key_id(legacy)
    assert not (instance / "certificate_signing_key.pem").exists()


def test_make_run_creates_the_key_once(tmp_path):
    from namalms.keys import ensure_signing_keys

    location = ensure_signing_keys(str(tmp_path))
    first = sorted(p.name for p in location.iterdir())
    ensure_signing_keys(str(tmp_path))
    assert sorted(p.name for p in location.iterdir()) == first


def test_stored_certificates_without_a_signature_are_signed_by_the_migration(app, issued):
    """Rows from before signatures were stored get one with the current key (the migration's job)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("signing_migration", next(
        (PROJECT_ROOT / "migrations" / "versions").glob("80ff47f97a01_*.py")))
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    db.session.execute(update(Certificate).where(Certificate.id == issued.id).values(signature="", key_id=""))
    db.session.commit()
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    with db.engine.begin() as connection:
        with Operations.context(MigrationContext.configure(connection)):
            migration.upgrade()
    db.session.expire_all()
    row = db.session.scalar(select(Certificate).where(Certificate.id == issued.id))
    assert row.signature and row.key_id == keys.ring().active_id
