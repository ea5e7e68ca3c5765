"""COPY on a session's own connection, one batch in flight while the caller prepares the next.

Uploads are checked in Python and copied into a staging table: overlapping the two keeps both
the process and the server busy, with never more than one batch waiting in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


async def copy_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under `session`: COPY is asyncpg's own, and runs there in the
    session's transaction."""
    driver = (await (await session.connection()).get_raw_connection()).driver_connection
    if driver is None:  # only on a connection SQLAlchemy has given up, after an error
        raise RuntimeError("the session's database connection is closed")
    connection: asyncpg.Connection = driver
    return connection


class OverlappedCopy(Generic[T]):
    """Runs `copy` on each batch in the background while the caller prepares the next."""

    def __init__(self, copy: Callable[[T], Awaitable[None]]) -> None:
        self._copy = copy
        self._running: asyncio.Task[None] | None = None

    async def send(self, batch: T) -> None:
        """Wait for the batch before (raising its error), then start copying this one."""
        await self.drain()
        self._running = asyncio.ensure_future(self._copy(batch))

    async def drain(self) -> None:
        """Wait for the COPY under way, raising its error."""
        running, self._running = self._running, None
        if running is not None:
            await running

    async def settle(self) -> None:
        """After a failure: let a COPY under way end, so the connection can roll back."""
        with contextlib.suppress(Exception):
            await self.drain()
