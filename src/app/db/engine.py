"""Engine and session factory; the URL comes from settings or the embedded server."""

from __future__ import annotations

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


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        # A failed statement's parameters are contacts' numbers, names and answers: not for logs.
        hide_parameters=True,
        # Server-side keepalives: a client that vanished (SIGKILL, cable) is noticed by the server.
        connect_args={"server_settings": SERVER_SETTINGS},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


SERVER_SETTINGS = {
    "application_name": "voicesurvey",
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}
