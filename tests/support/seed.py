"""Put campaigns and contacts straight into the database (set-based), for scheduler tests."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.factories import campaign_document

ALWAYS_OPEN = {
    "start": "00:00",
    "end": "23:59:59",
    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
}


async def seed_campaign(
    sessions: async_sessionmaker[AsyncSession],
    *,
    contacts: int = 3,
    status: str = "running",
    timezone: str = "UTC",
    call_window: dict[str, Any] | None = None,
    max_attempts: int = 3,
    retry_after_minutes: list[int] | None = None,
    max_concurrent_calls: int = 100,
    max_call_minutes: int = 15,
    first_number: int = 3_000_000_000,
) -> int:
    """Create one campaign with `contacts` pending, due contacts; return its id."""
    async with sessions() as session, session.begin():
        campaign_id: int = (
            await session.execute(
                text("""
                INSERT INTO campaigns (name, status, language, timezone, call_window,
                    max_attempts, retry_after_minutes, max_concurrent_calls, max_call_minutes,
                    definition)
                VALUES ('test', :status, 'en-US', :tz, CAST(:window AS jsonb), :max_attempts,
                    :retry, :max_concurrent, :max_call_minutes, CAST(:definition AS jsonb))
                RETURNING id
                """),
                {
                    "status": status,
                    "tz": timezone,
                    "window": json.dumps(call_window or ALWAYS_OPEN),
                    "max_attempts": max_attempts,
                    "retry": retry_after_minutes if retry_after_minutes is not None else [0],
                    "max_concurrent": max_concurrent_calls,
                    "max_call_minutes": max_call_minutes,
                    # A real survey, so that calls placed by these tests can be answered.
                    "definition": json.dumps(campaign_document()),
                },
            )
        ).scalar_one()
        await session.execute(
            text("""
            INSERT INTO contacts (campaign_id, phone_number, timezone, next_attempt_at)
            SELECT :cid, '+39' || (CAST(:first AS bigint) + g), :tz, now() - interval '1 minute'
            FROM generate_series(1, :n) AS g
            """),
            {"cid": campaign_id, "first": first_number, "tz": timezone, "n": contacts},
        )
    return campaign_id


async def fetch_all(
    sessions: async_sessionmaker[AsyncSession], sql: str, **params: Any
) -> list[Any]:
    async with sessions() as session:
        return list((await session.execute(text(sql), params)).all())


async def execute(sessions: async_sessionmaker[AsyncSession], sql: str, **params: Any) -> None:
    async with sessions() as session, session.begin():
        await session.execute(text(sql), params)


async def seen_in_activity(
    sessions: async_sessionmaker[AsyncSession], query: str, *, waiting: bool = False
) -> None:
    """Until another session of this database runs, or last ran, `query` (LIKE), waiting on a
    lock if `waiting`; AssertionError after 30 s."""
    sql = (
        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE :q"
        " AND pid <> pg_backend_pid()"
    ) + (" AND wait_event_type = 'Lock'" if waiting else "")
    deadline = time.monotonic() + 30
    while not await fetch_all(sessions, sql, q=query):
        if time.monotonic() > deadline:
            raise AssertionError(f"no session ran {query}")
        await asyncio.sleep(0.02)
