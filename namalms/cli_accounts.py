"""Commands for cron jobs around accounts and mail (English output, one line per action)::

    flask --app namalms mail send-queued                       send what waits (run every few minutes)
    flask --app namalms notifications send-due                 day-before workshop reminders (hourly or daily)
    flask --app namalms accounts purge-inactive [--older-than 36m] [--dry-run]   the retention rule

All are idempotent: running them twice in a row does nothing the second time.
"""
from __future__ import annotations

import sys

import click
from flask import current_app

from namalms.unit_of_work import cli_command


@click.group("mail", help="Send queued e-mail.")
def mail_cli() -> None:
    pass


@mail_cli.command("send-queued")
@cli_command
def mail_send_queued() -> None:
    """Send every waiting message; give up on those older than MAIL_GIVE_UP_HOURS; forget old ones.

    Each message is claimed and recorded on its own connection as it goes (see services.mail), so
    an interrupted run never sends a message twice that it recorded as sent.
    """
    from namalms.services import mail

    server = mail.mail_server()
    report = mail.send_queued()
    click.echo(f"Mail via {server.describe()}: {report.summary()}")
    if report.connection_failed:
        sys.exit(1)


@click.group("notifications", help="E-mail notifications for learners.")
def notifications_cli() -> None:
    pass


@notifications_cli.command("send-due")
@cli_command
def notifications_send_due() -> None:
    """Queue the reminders for workshops starting by the end of tomorrow (each learner once per date)."""
    from namalms.services import notifications

    done = notifications.send_due_reminders()
    for workshop, count in done:
        click.echo(f"reminder: workshop {workshop.id} ({workshop.starts_at:%Y-%m-%d %H:%M} UTC) to {count} learner(s)")
    click.echo(f"{sum(count for _, count in done)} reminder(s) queued; they are sent after this command commits")


@click.group("accounts", help="Retention of learner accounts.")
def accounts_cli() -> None:
    pass


@accounts_cli.command("purge-inactive")
@click.option("--older-than", "older_than", default=None, metavar="AGE",
              help="unused for longer than AGE, e.g. 36m, 30d or 3y (default: RETENTION_INACTIVE_MONTHS)")
@click.option("--dry-run", is_flag=True, help="only show what would be deleted")
@cli_command
def accounts_purge_inactive(older_than: str | None, dry_run: bool, work) -> None:
    """Delete learner accounts that are unconfirmed too long or unused too long (DSGVO retention).

    Deletion follows the same rule as a learner deleting their own account: certificates stay as
    anonymous, still verifiable records; everything personal goes.
    """
    from namalms.services import privacy

    config = current_app.config
    try:
        inactive = privacy.parse_age(older_than or f"{config['RETENTION_INACTIVE_MONTHS']}m")
    except ValueError as error:
        click.echo(f"error: --older-than: {error}", err=True)
        sys.exit(2)
    unconfirmed = privacy.parse_age(f"{config['RETENTION_UNCONFIRMED_DAYS']}d")
    if dry_run:
        candidates = privacy.purge_candidates(inactive_for=inactive, unconfirmed_for=unconfirmed)
        work.discard()
    else:
        candidates = privacy.purge(inactive_for=inactive, unconfirmed_for=unconfirmed)
    verb = "would delete" if dry_run else "deleted"
    for candidate in candidates:
        # After a deletion only the number: cron output must not keep the address that was erased.
        who = f"{candidate.user_id} ({candidate.email})" if dry_run else str(candidate.user_id)
        click.echo(f"{verb}: account {who} – {candidate.english}")
    if dry_run:
        click.echo(f"{len(candidates)} account(s) to delete (dry run, nothing changed)")
    else:
        click.echo(f"{len(candidates)} account(s) deleted")
