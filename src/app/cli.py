"""The `voicesurvey` command line: thin commands over the services."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Annotated

import typer
from rich.console import Console

from app.config import Settings, SettingsError, get_settings
from app.db.engine import make_engine, resolve_database_url
from app.db.migrate import upgrade_to_head
from app.logs import configure_logging

cli = typer.Typer(help="VoiceSurveyAgent: outbound automated phone surveys.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
err = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    """Print one readable line and return the exit to raise."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(1)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8880,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the web service and the scheduler (one leader among the workers)."""
    import uvicorn

    _settings_or_exit()
    os.environ.setdefault("PYTHONPATH", "src")
    uvicorn.run("app.main:app", host=host, port=port, workers=workers, log_level="info")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (safe while workers run: it takes an advisory lock)."""
    settings = _settings_or_exit()
    configure_logging(settings.log_level)

    async def upgrade() -> None:
        engine = make_engine(await asyncio.to_thread(resolve_database_url, settings))
        try:
            await upgrade_to_head(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(upgrade())
    except Exception as exc:
        raise fail(f"migration failed: {type(exc).__name__}: {exc}") from None
    err.print("database schema is at the latest migration")


def _settings_or_exit() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        raise fail(str(exc)) from None


def main() -> None:
    """Entry point of the console script."""
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
