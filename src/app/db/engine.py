"""Engine and session factory; the URL comes from settings or the embedded server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from app.config import Settings
from app.db.embedded import start_embedded


def resolve_database_url(settings: Settings) -> str:
    """Return DATABASE_URL, or start the embedded server and return its URL."""
    if settings.database_url:
        return settings.database_url
    return start_embedded(settings.embedded_pg_dir)


@dataclass(frozen=True)
class Databases:
    """Where the pool connects, and where the connections that hold session locks do."""

    pool_url: str  # DATABASE_URL (perhaps a transaction pooler), or the embedded server
    direct_url: str  # LEADER_DATABASE_URL, or the same as pool_url
    pooled: bool  # pool_url goes through a transaction pooler


def resolve_databases(settings: Settings) -> Databases:
    """The pool's URL (starting the embedded server when DATABASE_URL is unset) and the
    direct URL for the leader lock and migrations."""
    pool_url = resolve_database_url(settings)
    direct = settings.leader_database_url
    return Databases(pool_url, direct or pool_url, pooled=direct is not None)


def make_engine(url: str, *, pool_size: int = 10, pooler: bool = False) -> AsyncEngine:
    engine = create_async_engine(
        url,
        # Up to twice `pool_size` connections, opened as needed and then kept. Overflow
        # connections beyond a pool of `pool_size` would be closed as soon as they are returned,
        # and a burst of webhooks then reconnects and re-prepares its statements over and over
        # (bench/README.md, "Voice turn latency").
        pool_size=2 * pool_size,
        max_overflow=0,
        # A failed statement's parameters are contacts' numbers, names and answers: not for logs.
        hide_parameters=True,
        connect_args=POOLER_CONNECT_ARGS if pooler else DIRECT_CONNECT_ARGS,
    )
    # Liveness at checkout without a round trip (pool_pre_ping costs three: BEGIN, ";",
    # ROLLBACK): see _replace_if_closed.
    event.listen(engine.sync_engine.pool, "checkout", _replace_if_closed)
    return engine


def _replace_if_closed(
    dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
) -> None:
    """Hand out no connection the server has closed (a restart, pg_terminate_backend, a pooler
    gone): the pool discards it and checks out another, or connects anew.

    asyncpg's connection keeps reading its socket while it sits in the pool, so it knows it is
    closed as soon as the event loop has seen the server's goodbye or the EOF; asking costs no
    round trip. A connection that dies after checkout fails its one request (503) and the pool
    is invalidated, as with a ping that races the restart.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("connection closed by the server")


def asyncpg_dsn(url: str) -> str:
    """The URL as asyncpg.connect takes it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _unnamed() -> str:
    # PostgreSQL's unnamed statement: each Parse replaces the last, so none outlives its
    # transaction's server connection, none collides, none is left to close.
    return ""


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


SERVER_SETTINGS = {
    "application_name": "voicesurvey",
    # Server-side keepalives: a client that vanished (SIGKILL, cable) is noticed by the server.
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}
DIRECT_CONNECT_ARGS = {"server_settings": SERVER_SETTINGS}
# Through a transaction pooler, consecutive transactions of one client may run on different
# server connections: a statement prepared by name in one is unknown (or another's) in the next,
# so none is cached or named (every query runs inside a transaction, where the pooler keeps one
# server connection). The pooler keeps its own keepalives and passes on application_name only:
# any other startup setting would make it refuse the connection.
POOLER_CONNECT_ARGS = {
    "server_settings": {"application_name": SERVER_SETTINGS["application_name"]},
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": _unnamed,
}
