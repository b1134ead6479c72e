"""`flask tokens …`: API tokens for the programme office's own tooling.

    flask --app namalms tokens create --name NAME   prints the new token once
    flask --app namalms tokens list
    flask --app namalms tokens revoke ID
"""
from __future__ import annotations


import click

from namalms.formatting import to_local
from namalms.services import tokens as service
from namalms.unit_of_work import cli_command

CLI_ACTOR = "CLI"


@click.group("tokens", help="Create, list and revoke API tokens for /api/v1.")
def tokens_cli() -> None:
    pass


@tokens_cli.command("create")
@click.option("--name", required=True, help="what the token is for (shown in lists and the audit log)")
@click.option("--expires", "expires_on", default=None, metavar="YYYY-MM-DD",
              help="last day the token works (default: one year from today; at most two years)")
@cli_command
def tokens_create(name: str, expires_on: str | None) -> None:
    """Create a token and print it once; only its hash is stored."""
    token, raw = service.create_token(name, expires_on=expires_on, actor_label=CLI_ACTOR)
    click.echo(f"Created API token {token.id} ({token.name}), valid until {to_local(token.expires_at):%Y-%m-%d %H:%M} "
               "Europe/Berlin. Copy it now, it is not shown again:", err=True)
    click.echo(raw)


@tokens_cli.command("list")
def tokens_list() -> None:
    """Print every token: id, prefix, name, created, last used, status."""
    rows = service.list_tokens()
    labels = {"active": "active", "expired": "expired", "creator": "inactive (creator no longer an active admin)"}
    for token, creator, standing in rows:
        last_used = token.last_used_at.strftime("%Y-%m-%d %H:%M") if token.last_used_at else "never"
        status = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else labels[standing]
        expires = f"{to_local(token.expires_at):%Y-%m-%d %H:%M}" if token.expires_at else "never"
        click.echo(f"{token.id:>4}  {token.prefix}…  {token.name}  created {token.created_at:%Y-%m-%d} "
                   f"by {creator or 'CLI'}  expires {expires}  last used {last_used}  {status}")
    click.echo(f"{len(rows)} token(s)")


@tokens_cli.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
@cli_command
def tokens_revoke(token_id: int) -> None:
    """Revoke a token: every request with it gets 401 from now on."""
    token = service.revoke_token(token_id, actor_label=CLI_ACTOR)
    click.echo(f"Revoked API token {token.id} ({token.name}).")
