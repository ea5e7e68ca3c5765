"""The asyncpg connection under a pooled SQLAlchemy connection, for the few hot statements that
skip SQLAlchemy (`app.calls.hotpath`): one pool, one connection budget, one liveness check."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
from asyncpg.exceptions._base import DataError as ClientDataError
from sqlalchemy.ext.asyncio import AsyncConnection

# What says the server connection is gone: the pool must not hand it out again. A server shutting
# down or crashing says so (57P01, 57P02) before it closes the connection; one starting up
# (57P03) refuses it. A cancelled statement (57014) leaves the connection usable.
# asyncpg's internal error says its protocol is in a state it did not expect: as when the server
# ended the connection while it sat in the pool, and asyncpg has read the server's last message
# but not yet the end of the stream (the pool's check at checkout still finds it open).
SERVER_GONE: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)
# Invalid query input is no lost connection: asyncpg refuses it before sending anything. The
# `DataError` asyncpg declares for it is an InterfaceError; the one its encoder raises (0.32) is
# `asyncpg.DataError`, a PostgresError, not in SERVER_GONE in the first place.
NOT_GONE: tuple[type[BaseException], ...] = (ClientDataError,)

# A connection that comes with a transaction open is discarded and another one taken; one that
# is new never has one, so a few tries only fail if stray transactions keep appearing.
_CHECKOUTS = 3


class StrayTransaction(Exception):
    """Every connection the pool handed out had a transaction open; each was discarded."""


class LeftOpenTransaction(RuntimeError):
    """The hot path left a transaction open: its writes were discarded with the connection."""


def _lost(exc: BaseException) -> bool:
    """Whether `exc` says the driver connection can no longer be used."""
    return isinstance(exc, SERVER_GONE) and not isinstance(exc, NOT_GONE)


@contextlib.asynccontextmanager
async def driver_connection(
    connection: AsyncConnection, *, pooled: bool
) -> AsyncIterator[asyncpg.Connection]:
    """`connection`'s asyncpg connection while SQLAlchemy has no transaction open on it.

    Directly connected, each statement is its own transaction. Through a transaction pooler
    they run in one transaction: only within one does the pooler keep the same server
    connection for a statement's Parse and its Execute.
    """
    driver = await _idle_driver(connection)
    try:
        if pooled:
            async with driver.transaction():
                yield driver
        else:
            yield driver
    except BaseException as exc:  # a cancelled request too: its connection must not go back dirty
        if _lost(exc) or driver.is_in_transaction():
            await connection.invalidate()
        raise
    if driver.is_in_transaction():
        # Never expected; committing what the hot path left would commit it half done, and the
        # pool's reset does not roll back what SQLAlchemy did not begin: the connection would go
        # back to the pool with the transaction and its locks. The request fails, so that the
        # provider retries it, rather than answer for writes that were never committed.
        await connection.invalidate()
        raise LeftOpenTransaction("the hot path left a transaction open")


async def _idle_driver(connection: AsyncConnection) -> asyncpg.Connection:
    """`connection`'s asyncpg connection, replaced while it has a transaction open.

    SQLAlchemy does not know of a transaction begun under it (or has lost track of it, as when a
    request is cancelled mid-commit), so its reset on return to the pool does not end it. Used
    as it is, each statement would join it and never commit; through a pooler,
    `driver.transaction()` would refuse it. Rolling it back would keep the connection, but
    whoever began it may still believe it open (SQLAlchemy's adapter would then run a session's
    statements outside any transaction, its row locks released at once): the connection is
    discarded instead, and SQLAlchemy takes another from the pool for this same `connection`.
    """
    for _ in range(_CHECKOUTS):
        proxied = await connection.get_raw_connection()
        driver = proxied.driver_connection
        assert isinstance(driver, asyncpg.Connection)
        if not driver.is_in_transaction():
            return driver
        await connection.invalidate()
    raise StrayTransaction(f"{_CHECKOUTS} connections in a row had a transaction open")
