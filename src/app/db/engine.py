"""Engine and session factory; the URL comes from settings or the embedded server."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

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
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        # A failed statement's parameters are contacts' numbers, names and answers: not for logs.
        hide_parameters=True,
        connect_args=POOLER_CONNECT_ARGS if pooler else DIRECT_CONNECT_ARGS,
    )


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
