"""Apply Alembic migrations, serialised across processes by an advisory lock."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import Databases, make_engine

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant will do; it only has to differ from the scheduler's leader key.
MIGRATION_LOCK_KEY = 0x56530002


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Upgrade the schema to head; N workers starting at once take turns."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        try:
            await conn.run_sync(_upgrade)
            await conn.commit()
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
            await conn.commit()


async def migrate(engine: AsyncEngine, databases: Databases) -> None:
    """Upgrade to head through the pool's engine, or, when the pool goes through a transaction
    pooler, through a direct connection: the lock that serialises migrations is a session lock."""
    if not databases.pooled:
        await upgrade_to_head(engine)
        return
    direct = make_engine(databases.direct_url, pool_size=1)
    try:
        await upgrade_to_head(direct)
    finally:
        await direct.dispose()


def _upgrade(connection: Connection) -> None:
    current = MigrationContext.configure(connection).get_current_revision()
    if current != head_revision():
        log.info("Applying database migrations (from %s)", current or "empty")
    command.upgrade(alembic_config(connection), "head")


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
