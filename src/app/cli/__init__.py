"""The `voicesurvey` command line: thin commands over the services."""

from __future__ import annotations

import sys

import typer

from app.cli.campaigns import campaign_cli, contacts_cli
from app.cli.check import check
from app.cli.demo import demo
from app.cli.dnc import dnc_cli
from app.cli.reports import audit, export, report
from app.cli.server import db_cli, serve
from app.cli.trial import try_

cli = typer.Typer(
    help="VoiceSurveyAgent: outbound automated phone surveys.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
cli.command()(serve)
cli.add_typer(db_cli, name="db")
cli.add_typer(campaign_cli, name="campaign")
cli.add_typer(contacts_cli, name="contacts")
cli.add_typer(dnc_cli, name="dnc")
cli.command()(check)
cli.command()(report)
cli.command()(export)
cli.command()(audit)
cli.command()(demo)
cli.command("try")(try_)


def main() -> None:
    """Entry point of the console script."""
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
