"""Command-line interface: `flask --app namalms content|users|demo|instance-init …`.

Commands call the same services as the web views; each command is one unit of work
(:func:`namalms.unit_of_work.cli_command`), so a failed command leaves nothing half-written.
Messages on the command line are English.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app

from namalms.extensions import db
from namalms.unit_of_work import cli_command


def content_dir(path: str | None) -> Path:
    return Path(path) if path else Path(current_app.config["CONTENT_DIR"])


@click.group("content", help="Check and import the course content in content/.")
def content_cli() -> None:
    pass


@content_cli.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def content_check(directory: str | None) -> None:
    """Validate the whole content tree; print every problem as path:line: message."""
    from namalms.content.loader import load_tree

    root = content_dir(directory)
    if not root.is_dir():
        click.echo(f"error: content directory {root} does not exist", err=True)
        sys.exit(2)
    result = load_tree(root)
    for finding in sorted(result.problems + result.warnings, key=lambda p: (p.path, p.line)):
        click.echo(str(finding))
    if result.problems:
        click.echo(f"{len(result.problems)} problem(s) and {len(result.warnings)} warning(s) found in {root}",
                   err=True)
        sys.exit(1)
    tree = result.tree
    click.echo(f"OK: {len(tree.courses)} courses, {len(tree.modules)} modules, "
               f"{len(tree.programme.certificates)} certificate definitions, {len(tree.districts)} districts, "
               f"{len(tree.glossary.terms) if tree.glossary else 0} glossary terms, {len(tree.workaids)} work aids"
               + (f"; {len(result.warnings)} warning(s)" if result.warnings else ""))


@content_cli.command("sync")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@cli_command
def content_sync(directory: str | None) -> None:
    """Import the content tree into the database (a new revision only where a file changed).

    First finishes write-backs an interrupted publication left, so a file that is only behind
    the database is brought up to it instead of being imported as someone else's revision.
    """
    from namalms.content.loader import load_tree
    from namalms.services.content_sync import sync_tree
    from namalms.services.publishing.files import complete_pending_writes, remove_stale_temporaries

    root = content_dir(directory)
    if directory is None:
        for path in complete_pending_writes():
            click.echo(f"Completed the interrupted write-back of {path}")
        remove_stale_temporaries()
    result = load_tree(root)
    if result.problems:
        for problem in result.problems:
            click.echo(str(problem))
        click.echo(f"{len(result.problems)} problem(s): nothing imported. Fix them and run again.", err=True)
        sys.exit(1)
    report = sync_tree(result.tree)
    click.echo(f"Content synced from {root}: {report.summary()}")


@click.group("users", help="Manage accounts.")
def users_cli() -> None:
    pass


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["learner", "trainer", "admin"]), default="learner", show_default=True)
@click.option("--district", "district_id", default=None, help="district id from content/regions.yml")
@click.option("--municipality", default="")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@cli_command
def users_create(email: str, name: str, role: str, district_id: str | None, municipality: str,
                 password_stdin: bool) -> None:
    """Create an account; the password comes from a prompt or standard input, never the command line."""
    from namalms.services.accounts import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = create_user(email=email, name=name, role=role, password=password, district_id=district_id,
                       municipality=municipality, min_length=current_app.config["PASSWORD_MIN_LENGTH"])
    click.echo(f"Created {role} account {user.email} (id {user.id}).")


@click.command("demo")
@cli_command
def demo_command() -> None:
    """Create demo accounts and demo progress (idempotent) and print the logins (in German, for
    the person who just ran `make run`)."""
    from namalms.demo import DEMO_PASSWORD, describe_demo_learners, seed_demo
    from namalms.services import accounts, trainer_courses

    logins = seed_demo()
    click.echo("")
    click.echo(f"Demo-Zugänge (Passwort für alle: {DEMO_PASSWORD}):")
    for role, email, _ in logins:
        courses = trainer_courses.assigned_courses(accounts.find_user_by_email(email)) if role == "trainer" else []
        betreut = f"  betreut: {', '.join(c.short_title or c.title for c in courses)}" if courses else ""
        click.echo(f"  {ROLE_NAMES.get(role, role):<22} {email}{betreut}")
    click.echo("Teilnehmende mit Zertifikaten in jedem Zustand:")
    for email, state in describe_demo_learners():
        click.echo(f"  {email:<34} {state}")
    click.echo("")


ROLE_NAMES = {"learner": "Teilnehmerin", "trainer": "Trainer*in", "admin": "Programmbüro"}


@click.group("certificates", help="Evaluate, list, revoke, re-issue and verify certificates.")
def certificates_cli() -> None:
    pass


@certificates_cli.command("evaluate")
@click.option("--dry-run", is_flag=True, help="only show who would get which certificate")
@cli_command
def certificates_evaluate(dry_run: bool, work) -> None:
    """Evaluate every learner against the current rules (run after a rule change)."""
    from namalms.services.evaluation import evaluate_everyone

    report = evaluate_everyone(dry_run=dry_run, actor_label="CLI certificates evaluate")
    if dry_run:
        for due in report.due:
            click.echo(f"would issue: {due.definition.id} to {due.email}")
        work.discard()
        click.echo(f"{report.learners} learners evaluated, {len(report.due)} certificate(s) would be issued "
                   f"(dry run, nothing changed)")
        return
    for certificate in report.issued:
        click.echo(f"issued: {certificate.number} {certificate.definition_id} to {certificate.user.email}")
    click.echo(f"{report.learners} learners evaluated, {len(report.issued)} certificate(s) issued")


@certificates_cli.command("list")
@click.option("--csv", "as_csv", is_flag=True, help="CSV output (semicolon, UTF-8)")
def certificates_list(as_csv: bool) -> None:
    """Print number, verification code, holder, definition, date and status of every certificate."""
    import csv as csv_module

    from sqlalchemy import select

    from namalms.models import Certificate

    rows = db.session.scalars(select(Certificate).order_by(Certificate.id)).all()
    header = ["number", "verification_code", "holder", "email", "definition", "issued_on", "status", "grounds"]
    values = [[c.number, c.verification_code, c.snapshot.get("holder", {}).get("name", ""),
               c.user.email if c.user else "(account deleted)",
               c.definition_id, c.issued_at.date().isoformat(), c.status, c.grounds] for c in rows]
    if as_csv:
        writer = csv_module.writer(sys.stdout, delimiter=";", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(values)
        return
    for row in values:
        click.echo("  ".join(str(v) for v in row))
    click.echo(f"{len(values)} certificate(s)")


def _certificate_or_exit(number: str):
    from namalms.services import certificates as service

    certificate = service.find_by_number(number)
    if certificate is None:
        click.echo(f"error: no certificate with number {number}", err=True)
        sys.exit(1)
    return certificate


@certificates_cli.command("revoke")
@click.argument("number")
@click.option("--category", type=click.Choice(["error", "fraud", "data", "request", "other"]), required=True)
@click.option("--reason", required=True, help="why (kept in the audit log)")
@cli_command
def certificates_revoke(number: str, category: str, reason: str) -> None:
    """Revoke a certificate; its verification page shows "widerrufen" at once."""
    from namalms.services import certificates as service

    certificate = _certificate_or_exit(number)
    service.revoke_certificate(certificate, category=category, reason=reason, actor_label="CLI")
    click.echo(f"revoked: {number}")


@certificates_cli.command("reissue")
@click.argument("number")
@click.option("--reason", required=True, help="why (kept in the audit log)")
@cli_command
def certificates_reissue(number: str, reason: str) -> None:
    """Replace a certificate by a new one (new number); the old one is marked superseded."""
    from namalms.services import certificates as service

    certificate = _certificate_or_exit(number)
    replacement = service.reissue_certificate(certificate, reason=reason, actor_label="CLI")
    click.echo(f"re-issued: {number} -> {replacement.number}")


@certificates_cli.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--public-key", "public_key_file", type=click.Path(exists=True, dir_okay=False),
              help="PEM file of the issuer's public key (default: the key of this installation's key ring "
                   "with the key id the file names)")
def certificates_verify(file: str, public_key_file: str | None) -> None:
    """Check a downloaded certificate file: the signed JSON, or the Open Badges 3.0 credential
    (signature, issuer, revocation status, tampering).

    For the signed JSON the exit status is 0 valid; 1 the signature does not check out; 3 genuine,
    but revoked or superseded. The file's own "status" block is not signed and is never trusted: the
    status is looked up live. A certificate this installation does not know is reported as such.
    """
    import json

    from namalms import keys
    from namalms.certificates import signing
    from namalms.services import certificates as service

    try:
        document = json.loads(Path(file).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        click.echo(f"INVALID: {file} is not a JSON document ({error})", err=True)
        sys.exit(1)
    if isinstance(document, dict) and "@context" in document:
        _verify_open_badge(file, document)
        return
    if public_key_file:
        try:
            key = signing.public_key_from_pem(Path(public_key_file).read_bytes())
        except ValueError as error:
            click.echo(f"error: {public_key_file}: {error}", err=True)
            sys.exit(2)
    else:
        kid = document.get("key_id") if isinstance(document, dict) else None
        key = keys.public_key(kid) if isinstance(kid, str) else None
        if key is None:
            click.echo(f"INVALID: the file names key id {kid!r}, which is not in this installation's key ring "
                       f"(pass the issuer's key with --public-key, see /verify/keys.json)", err=True)
            sys.exit(1)
    result = signing.verify_document(document, key)
    if not result.ok:
        click.echo(f"INVALID: {result.message}", err=True)
        sys.exit(1)
    snapshot = document["snapshot"]
    what = (f"{snapshot.get('number')} – {snapshot.get('certificate', {}).get('title')} – "
            f"{snapshot.get('holder', {}).get('name')}")
    code = snapshot.get("verification_code")
    certificate = service.find_by_code(code) if isinstance(code, str) and code else None
    if certificate is None or certificate.number != snapshot.get("number"):
        click.echo(f"SIGNATURE VALID: {what} ({result.message}). STATUS NOT CHECKED: this installation does "
                   f"not know the certificate; ask the issuer ({snapshot.get('verify_url') or 'its /verify page'}).")
        return
    if certificate.signature != document.get("signature"):
        click.echo(f"WARNING: the signature stored here for {certificate.number} differs from the file's",
                   err=True)
    status = service.status_of(certificate)
    if certificate.status == "revoked":
        reason = status.get("reason_label") or status.get("reason_category") or "no reason given"
        click.echo(f"REVOKED: {what} – revoked on {status.get('revoked_at', '?')[:10]} ({reason}); "
                   f"the signature is genuine, the certificate is no longer valid.")
        sys.exit(3)
    if certificate.status == "superseded":
        successor = status.get("superseded_by") or "a newer certificate"
        click.echo(f"SUPERSEDED: {what} – replaced by {successor}; the signature is genuine, this version is "
                   f"no longer valid.")
        sys.exit(3)
    click.echo(f"VALID: {what} ({result.message}; status looked up in this installation's database)")


def _verify_open_badge(file: str, document: dict) -> None:
    """Explain in English whether an Open Badges 3.0 credential is genuine and still valid."""
    from namalms.services import open_badges

    check = open_badges.check_credential(document)
    name = document.get("name", "?")
    if not check.ok:
        click.echo(f"INVALID: {file} (Open Badges 3.0 credential \"{name}\")", err=True)
        for line in check.lines:
            click.echo(f"  {line}", err=True)
        sys.exit(1)
    click.echo(f"VALID: Open Badges 3.0 credential \"{name}\" issued {document.get('validFrom')}")
    for line in check.lines:
        click.echo(f"  {line}")


@certificates_cli.command("export-ob3")
@click.argument("number")
@click.argument("file", required=False, type=click.Path(dir_okay=False, writable=True))
def certificates_export_ob3(number: str, file: str | None) -> None:
    """Write a certificate as a signed Open Badges 3.0 credential (JSON) to FILE or standard output."""
    import json

    from namalms.services import open_badges

    certificate = _certificate_or_exit(number)
    text = json.dumps(open_badges.credential_for(certificate), ensure_ascii=False, indent=2) + "\n"
    if file:
        Path(file).write_text(text, encoding="utf-8")
        click.echo(f"wrote {file} ({certificate.number}, status {certificate.status})", err=True)
    else:
        click.echo(text, nl=False)
    if not certificate.is_valid:
        click.echo(f"note: {certificate.number} is {certificate.status}; verifiers will see it as revoked", err=True)


def init_app(app: Flask) -> None:
    # Further commands live beside the code they drive and attach themselves to these groups.
    from namalms import backup, cli_accounts, cli_publishing, cli_tokens, cli_xapi  # noqa: F401

    app.cli.add_command(certificates_cli)
    app.cli.add_command(content_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(cli_tokens.tokens_cli)
    app.cli.add_command(cli_xapi.xapi_cli)
    app.cli.add_command(cli_accounts.mail_cli)
    app.cli.add_command(cli_accounts.notifications_cli)
    app.cli.add_command(cli_accounts.accounts_cli)
    app.cli.add_command(backup.backup_cli)
