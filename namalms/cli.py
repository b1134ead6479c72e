"""Command-line interface: `flask --app namalms content|users|demo|instance-init …`.

Commands call the same services as the web views and commit once at the end, so a failed
command leaves nothing half-written. Messages on the command line are English.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app

from namalms.extensions import db
from namalms.services import ServiceError


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
    for problem in result.problems:
        click.echo(str(problem))
    if result.problems:
        click.echo(f"{len(result.problems)} problem(s) found in {root}", err=True)
        sys.exit(1)
    tree = result.tree
    click.echo(f"OK: {len(tree.courses)} courses, {len(tree.modules)} modules, "
               f"{len(tree.programme.certificates)} certificate definitions, {len(tree.districts)} districts")


@content_cli.command("sync")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def content_sync(directory: str | None) -> None:
    """Import the content tree into the database (a new revision only where a file changed)."""
    from namalms.content.loader import load_tree
    from namalms.services.content_sync import sync_tree

    root = content_dir(directory)
    result = load_tree(root)
    if result.problems:
        for problem in result.problems:
            click.echo(str(problem))
        click.echo(f"{len(result.problems)} problem(s): nothing imported. Fix them and run again.", err=True)
        sys.exit(1)
    report = sync_tree(result.tree)
    db.session.commit()
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
def users_create(email: str, name: str, role: str, district_id: str | None, municipality: str,
                 password_stdin: bool) -> None:
    """Create an account; the password comes from a prompt or standard input, never the command line."""
    from namalms.services.accounts import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email=email, name=name, role=role, password=password, district_id=district_id,
                           municipality=municipality, min_length=current_app.config["PASSWORD_MIN_LENGTH"])
    except ServiceError as error:
        db.session.rollback()
        click.echo(f"error: {english(error)}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Created {role} account {user.email} (id {user.id}).")


CLI_MESSAGES = {
    "email": "invalid or already registered e-mail address",
    "password": "password too weak (at least 10 characters, not a common word, not your name or e-mail)",
    "name": "a name is required",
    "district_id": "unknown district id (see content/regions.yml)",
    "role": "unknown role",
}


def english(error: ServiceError) -> str:
    """A short English version of a service message for the command line (German kept in brackets)."""
    return f"{CLI_MESSAGES.get(error.field or '', 'request refused')} ({error.message})"


@click.command("demo")
def demo_command() -> None:
    """Create demo accounts and demo progress (idempotent) and print the logins."""
    from namalms.demo import seed_demo

    logins = seed_demo()
    db.session.commit()
    click.echo("Demo accounts (password for all: see right column):")
    for role, email, password in logins:
        click.echo(f"  {role:<8} {email:<34} {password}")


def init_app(app: Flask) -> None:
    app.cli.add_command(content_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_command)
