"""What every command shares: the console, one-line errors, a database session."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.campaigns.errors import CampaignError
from app.config import Settings, SettingsError, get_settings
from app.db.engine import make_engine, make_sessionmaker, resolve_databases
from app.db.migrate import migrate
from app.logs import configure_logging, one_line

T = TypeVar("T")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def fail(message: str) -> NoReturn:
    """Print one readable line on stderr and exit 1."""
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(1)


def settings_or_exit() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        fail(str(exc))


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Run async work; domain and database errors become one line and exit 1."""
    try:
        return asyncio.run(_wrapped(work))
    except CampaignError as exc:
        fail(exc.message)
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:
        if os.environ.get("VOICESURVEY_DEBUG"):
            raise
        # The operator gets one line; VOICESURVEY_DEBUG=1 shows the traceback.
        fail(one_line(exc))


async def _wrapped(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the configured (or embedded) database, its schema brought up to date."""
    configure_logging("WARNING", settings.log_format)
    databases = await asyncio.to_thread(resolve_databases, settings)
    engine = make_engine(databases.pool_url, pool_size=2, pooler=databases.pooled)
    try:
        await migrate(engine, databases)
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def file_chunks(path: Path, size: int = 1 << 20) -> AsyncIterator[bytes]:
    """The file's bytes, a piece at a time (a local file: reading blocks only briefly)."""
    try:
        with path.open("rb") as file:
            while chunk := file.read(size):
                yield chunk
    except OSError as exc:
        fail(f"{path}: {exc.strerror or exc}")


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        fail(f"{path}: {exc.strerror or exc}")


def file_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"{path}: {exc.strerror or exc}")
