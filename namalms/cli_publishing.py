"""`flask content import|history|restore`: the trainer workspace's service from the command line.

`import` runs exactly what the web upload runs (namalms.services.publishing): the same checks on
the whole content tree, the same new revision, the same atomic write-back into content/. On any
problem it prints them as path:line: message, changes nothing and exits with 1.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from namalms.cli import content_cli
from namalms.extensions import db
from namalms.services import ServiceError
from namalms.unit_of_work import cli_command


def _author_label(label: str | None) -> str:
    return label or "Kommandozeile"


def _print_problems(problems) -> None:
    for problem in problems:
        location = f"{problem.path}:{problem.line}" if problem.line else problem.path
        click.echo(f"{location}: {problem.message}")


def _fail(error: ServiceError) -> None:
    """Print why (English, the service's German message in brackets) and exit 1; the unit of work
    rolls back everything the command did."""
    from namalms.services import publishing

    if isinstance(error, publishing.ContentProblems):
        _print_problems(error.problems)
        click.echo(f"error: {len(error.problems)} problem(s) found; nothing was imported or changed.", err=True)
    elif isinstance(error, publishing.ContentConflict):
        click.echo(f"error: conflict, revision {error.current.number} was published meanwhile "
                   f"({error.message})", err=True)
    elif isinstance(error, publishing.NothingChanged):
        click.echo(f"nothing to do: {error.message}", err=True)
    else:
        click.echo(f"error: request refused ({error.message})", err=True)
    sys.exit(1)


@content_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--course", "course_id", default=None, help="course id, needed for a new module")
@click.option("--message", "-m", default="", help="what changed (kept in the history)")
@click.option("--author", "author_label", default=None, help="name shown as author (default: Kommandozeile)")
@click.option("--dry-run", is_flag=True, help="only check, change nothing")
@cli_command
def content_import(file: str, course_id: str | None, message: str, author_label: str | None, dry_run: bool,
                   work) -> None:
    """Import a module (.md) or a whole course folder (.zip) exactly as the web upload does."""
    from namalms.services import publishing

    path = Path(file)
    data = path.read_bytes()
    label = _author_label(author_label)
    message = message or f"Import von {path.name} (Kommandozeile)"
    try:
        if path.suffix.lower() == ".zip":
            if dry_run:
                plan = publishing.plan_course_zip(path.name, data)
                if not plan.ok:
                    raise publishing.ContentProblems(plan.problems, plan)
            else:
                plan = publishing.publish_course_zip(path.name, data, author_label=label, message=message)
            summary = (f"course {plan.course_id} ({plan.folder}/): "
                       + ", ".join(f"{m.id} {_STATUS.get(m.status, m.status)}" for m in plan.modules))
        elif path.suffix.lower() == ".md":
            plan = publishing.plan_module_upload(path.name, data, course_id=course_id)
            if not plan.ok:
                raise publishing.ContentProblems(plan.problems, plan)
            if dry_run:
                summary = f"{plan.path}: OK ({'new module' if plan.is_new else plan.diff.summary})"
            else:
                revision = publishing.publish_module_source(
                    plan.source, module_id=plan.module_id, course_id=plan.course_id,
                    base_revision_id=plan.base_revision_id, author_label=label, message=message)
                summary = f"{revision.key}: revision {revision.number} published, written to {revision.path}"
        else:
            click.echo("error: FILE must be a module (.md) or a course folder (.zip)", err=True)
            sys.exit(2)
    except ServiceError as error:
        _fail(error)
    if dry_run:
        work.discard()
        click.echo(f"Check passed, nothing changed (dry run). {summary}")
        return
    click.echo(f"Imported {path.name}: {summary}")


_STATUS = {"neu": "new", "geändert": "changed", "unverändert": "unchanged", "wird zurückgezogen": "retired"}


@content_cli.command("history")
@click.argument("module_id")
def content_history(module_id: str) -> None:
    """List a module's revisions: number, author, time (UTC), hash and message; newest first."""
    from namalms.models import Module
    from namalms.services import publishing

    module = db.session.get(Module, module_id)
    if module is None:
        click.echo(f"error: no module with id {module_id}", err=True)
        sys.exit(1)
    for revision in publishing.revisions_of(module_id):
        current = " (current)" if revision.id == module.current_revision_id else ""
        click.echo(f"{revision.number:>4}  {revision.created_at:%Y-%m-%d %H:%M} UTC  {revision.source_hash[:12]}  "
                   f"{revision.author_label or '-':<24}  {revision.message or '-'}{current}")


@content_cli.command("restore")
@click.argument("module_id")
@click.argument("revision", type=int)
@click.option("--message", "-m", default="", help="what and why (default: Revision N wiederhergestellt)")
@click.option("--author", "author_label", default=None, help="name shown as author (default: Kommandozeile)")
@cli_command
def content_restore(module_id: str, revision: int, message: str, author_label: str | None) -> None:
    """Publish an older revision's text again as a new revision and write it back to content/."""
    from namalms.services import publishing

    try:
        restored = publishing.restore_revision(module_id, revision, author_label=_author_label(author_label),
                                               message=message)
    except ServiceError as error:
        _fail(error)
    click.echo(f"Restored {module_id} revision {revision} as revision {restored.number}, written to {restored.path}")
