"""A real PostgreSQL for the tests: DATABASE_URL when set, else an embedded server.

Each test gets its own database, cloned from a template that is migrated once per run.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from app.config import to_asyncpg_url
from app.db.embedded import start_embedded
from app.db.engine import make_engine
from app.db.migrate import upgrade_to_head


class PgServer:
    """Creates and drops databases on one server."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)

    def database_url(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def dsn(self, name: str = "postgres") -> str:
        """A libpq-style DSN (for asyncpg and psql-like tools)."""
        url = self.url.set(drivername="postgresql", database=name)
        return url.render_as_string(hide_password=False)

    def admin_dsn(self) -> str:
        return self.dsn(self.url.database or "postgres")

    async def execute(self, sql: str) -> None:
        conn = await asyncpg.connect(self.admin_dsn())
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def create_template(self) -> str:
        name = f"vs_template_{os.getpid()}"
        await self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await self.execute(f'CREATE DATABASE "{name}"')
        engine = make_engine(self.database_url(name), pool_size=1)
        try:
            await upgrade_to_head(engine)
        finally:
            await engine.dispose()
        return name

    async def create_database(self, template: str) -> str:
        name = f"vs_test_{uuid.uuid4().hex[:12]}"
        await self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    async def drop_database(self, name: str) -> None:
        await self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_test_server(data_root: Path) -> PgServer:
    """Use DATABASE_URL's server when set; otherwise start an embedded one under data_root."""
    configured = os.environ.get("DATABASE_URL", "").strip()
    if configured:
        return PgServer(to_asyncpg_url(configured))
    return PgServer(start_embedded(data_root / "pgdata"))
