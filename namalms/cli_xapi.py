"""`flask xapi …`: learning records as xAPI 1.0.3 statements.

    flask --app namalms xapi export --since DATE [--until DATE] [FILE]   JSON lines (stdout or FILE)
    flask --app namalms xapi send-queued [--limit N] [--now]              forward the queue to the LRS (cron)
    flask --app namalms xapi status                                       what is waiting for the LRS
"""
from __future__ import annotations

import json
import sys

import click

from namalms.services import xapi as service
from namalms.unit_of_work import unit_of_work


@click.group("xapi", help="Export learning records as xAPI statements and forward them to an LRS.")
def xapi_cli() -> None:
    pass


def _moment(value: str | None, option: str, *, end_of_day: bool = False):
    try:
        return service.parse_moment(value or "", end_of_day=end_of_day)
    except ValueError:
        click.echo(f"error: {option} must be a date (2026-01-31 or 31.01.2026) or an ISO 8601 time with zone",
                   err=True)
        sys.exit(2)


@xapi_cli.command("export")
@click.option("--since", required=True, help="first day (Berlin time) or ISO 8601 time with zone")
@click.option("--until", default=None, help="last day, included (default: up to now)")
@click.argument("file", required=False, type=click.File("w", encoding="utf-8"))
def xapi_export(since: str, until: str | None, file) -> None:
    """Write every statement of the period as JSON lines, oldest first."""
    out = file or sys.stdout
    count = 0
    for statement in service.iter_statements(since=_moment(since, "--since"),
                                             until=_moment(until, "--until", end_of_day=True)):
        out.write(json.dumps(statement, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    click.echo(f"exported {count} statement(s)", err=True)


@xapi_cli.command("send-queued")
@click.option("--limit", default=5000, show_default=True, help="at most this many statements per run")
@click.option("--now", "ignore_backoff", is_flag=True, help="also send statements still waiting after a failure")
def xapi_send_queued(limit: int, ignore_backoff: bool) -> None:
    """Forward queued statements to the LRS (NAMALMS_LRS_URL); failures stay queued for the next run."""
    # One unit of work that is saved in any case (sent rows and the failed attempts), then the
    # exit status: 1 when the LRS failed, so cron tells the operator.
    with unit_of_work():
        report = service.send_queued(limit=limit, ignore_backoff=ignore_backoff)
    click.echo(f"sent {report.sent}, failed {report.failed}, still queued {report.waiting}")
    if report.error:
        click.echo(f"error: {report.error} (the statements stay queued and are retried)", err=True)
        sys.exit(1)


@xapi_cli.command("status")
def xapi_status() -> None:
    """How many statements wait for the LRS."""
    click.echo(f"{service.pending_count()} statement(s) queued for the LRS")
