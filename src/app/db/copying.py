"""COPY on a session's own connection, batches saved in the background while the caller
prepares the next.

Uploads are checked in Python and saved by the server: overlapping the two keeps both the
process and the server busy, with a bounded number of batches waiting in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
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
    """Runs `copy` on each batch in the background, in order, while the caller prepares the
    next; at most `waiting` batches wait behind the one being copied."""

    def __init__(self, copy: Callable[[T], Awaitable[None]], *, waiting: int = 0) -> None:
        self._copy = copy
        self._waiting = waiting
        self._running: deque[asyncio.Task[None]] = deque()

    async def send(self, batch: T) -> None:
        """Wait for room (raising the error of a batch before), then queue this one."""
        while len(self._running) > self._waiting:
            await self._running.popleft()
        before = self._running[-1] if self._running else None
        self._running.append(asyncio.ensure_future(self._after(before, batch)))

    async def _after(self, before: asyncio.Task[None] | None, batch: T) -> None:
        if before is not None:
            await before  # its error stops the batches behind it too
        await self._copy(batch)

    async def drain(self) -> None:
        """Wait for every batch sent, raising the first error."""
        while self._running:
            await self._running.popleft()

    async def settle(self) -> None:
        """After a failure: let the copies under way end, so the connection can roll back."""
        while self._running:
            with contextlib.suppress(Exception):
                await self._running.popleft()
