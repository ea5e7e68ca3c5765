"""Synchronous database helpers for tests that drive other processes."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from app.db.engine import make_engine, make_sessionmaker
from tests.support.seed import seed_campaign


def dsn_of(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


def query(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn_of(database_url))
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


def seed(database_url: str, **campaign: Any) -> int:
    async def run() -> int:
        engine = make_engine(database_url, pool_size=1)
        try:
            return await seed_campaign(make_sessionmaker(engine), **campaign)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def duplicates(database_url: str) -> list[asyncpg.Record]:
    """The checklist's G3.2 query, verbatim."""
    return query(
        database_url,
        "SELECT contact_id, attempt_number, COUNT(*) FROM call_attempts "
        "GROUP BY contact_id, attempt_number HAVING COUNT(*) > 1",
    )


def count_mismatches(database_url: str) -> list[asyncpg.Record]:
    """Contacts whose attempts_count differs from max(call_attempts.attempt_number)."""
    return query(
        database_url,
        "SELECT c.id, c.attempts_count, coalesce(max(a.attempt_number), 0) AS max_attempt "
        "FROM contacts c LEFT JOIN call_attempts a ON a.contact_id = c.id "
        "GROUP BY c.id HAVING c.attempts_count <> coalesce(max(a.attempt_number), 0)",
    )
