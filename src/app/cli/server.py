"""`voicesurvey serve` and `voicesurvey db upgrade`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import database, err, run, settings_or_exit
from app.logs import server_log_config

db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8880,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the web service and the scheduler (one leader among the workers)."""
    import uvicorn

    settings = settings_or_exit()
    _fresh_metrics_dir()
    os.environ.setdefault("PYTHONPATH", "src")
    uvicorn.run(
        "app.main:app",
        host=host,
        port=port,
        workers=workers,
        # Pinned dependencies, named so that a missing one fails loudly instead of falling back
        # to the asyncio loop and h11, which cost about a fifth of the webhook throughput.
        loop="uvloop",
        http="httptools",
        log_level="info",
        # Uvicorn's lines masked from its first one, in the chosen format, in every worker.
        log_config=server_log_config(settings.log_format),
    )


def _fresh_metrics_dir() -> None:
    """Empty PROMETHEUS_MULTIPROC_DIR before the workers start: old files would add up."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (safe while workers run: it takes an advisory lock)."""
    settings = settings_or_exit()

    async def upgrade() -> None:
        async with database(settings):
            pass

    run(upgrade)
    err.print("database schema is at the latest migration")
