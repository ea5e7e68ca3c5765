"""The asyncpg connection under a pooled SQLAlchemy connection, for the few hot statements that
skip SQLAlchemy (`app.calls.hotpath`): one pool, one connection budget, one liveness check."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

# What says the server connection is gone: the pool must not hand it out again.
_LOST = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)


@contextlib.asynccontextmanager
async def driver_connection(
    connection: AsyncConnection, *, pooled: bool
) -> AsyncIterator[asyncpg.Connection]:
    """`connection`'s asyncpg connection while SQLAlchemy has no transaction open on it.

    Directly connected, each statement is its own transaction. Through a transaction pooler
    they run in one transaction: only within one does the pooler keep the same server
    connection for a statement's Parse and its Execute.
    """
    proxied = await connection.get_raw_connection()
    driver = proxied.driver_connection
    assert isinstance(driver, asyncpg.Connection)
    try:
        if pooled:
            async with driver.transaction():
                yield driver
        else:
            yield driver
    except _LOST:
        await connection.invalidate()
        raise
