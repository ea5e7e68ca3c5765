"""Retention empties the provider callbacks that match no call (inbound callers who only heard the
message) once they are older than RETENTION_DAYS, in bounded batches, and keeps younger ones."""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.scheduler.tick import db_now, run_tick
from app.suppression.retention import _DUE_CALLBACKS, sweep
from tests.integration.test_retention import DAYS, context
from tests.support.seed import execute, fetch_all

Sessions = async_sessionmaker[AsyncSession]


async def callback(sessions: Sessions, call_id: str, days_ago: int) -> None:
    """A Twilio status callback of a call to the number, stored matching no attempt."""
    payload = {"CallSid": call_id, "From": "+393331234567", "To": "+390212345678"}
    await execute(
        sessions,
        """
        INSERT INTO telephony_events (provider, provider_call_id, kind, status, dedupe_key,
                                      payload, received_at)
        VALUES ('twilio', :call, 'status', 'completed', :call,
                CAST(:payload AS jsonb), now() - make_interval(days => :days))
        """,
        call=call_id,
        payload=json.dumps(payload),
        days=days_ago,
    )


async def kept(sessions: Sessions) -> list[str]:
    rows = await fetch_all(
        sessions,
        "SELECT provider_call_id FROM telephony_events WHERE payload <> '{}' ORDER BY id",
    )
    return [r.provider_call_id for r in rows]


async def test_old_callbacks_matching_no_call_are_emptied_in_batches(sessions: Sessions) -> None:
    for call, days_ago in (("CA1", DAYS + 3), ("CA2", DAYS + 2), ("CA3", DAYS + 1), ("CA4", 1)):
        await callback(sessions, call, days_ago)
    now = await db_now(sessions)

    await sweep(sessions, now=now, days=DAYS, batch=2)
    first = await kept(sessions)
    await sweep(sessions, now=now, days=DAYS, batch=2)

    assert first == ["CA3", "CA4"]  # the oldest batch first
    assert await kept(sessions) == ["CA4"]
    rows = await fetch_all(sessions, "SELECT count(*) AS n FROM telephony_events")
    assert rows[0].n == 4  # emptied, not deleted: the call's record stays


async def test_the_tick_empties_them_only_with_retention_set(sessions: Sessions) -> None:
    await callback(sessions, "CA1", DAYS + 1)

    await run_tick(context(sessions, None))
    unset = await kept(sessions)
    await run_tick(context(sessions))

    assert unset == ["CA1"]
    assert await kept(sessions) == []


async def test_a_batch_is_read_through_the_index_of_callbacks_matching_no_call(
    sessions: Sessions,
) -> None:
    """A tick reads its batch of due callbacks, never the whole table of events."""
    await execute(
        sessions,
        """
        INSERT INTO telephony_events (provider, provider_call_id, kind, status, dedupe_key,
                                      payload, received_at)
        SELECT 'twilio', 'CA' || g, 'status', 'completed', 'k' || g,
               jsonb_build_object('From', '+39333' || (1000000 + g)),
               now() - make_interval(days => g % 60)
        FROM generate_series(1, 5000) AS g
        """,
    )
    now = await db_now(sessions)
    async with sessions() as session:
        await session.execute(text("ANALYZE telephony_events"))
        explained = await session.execute(
            text("EXPLAIN " + str(_DUE_CALLBACKS)), {"now": now, "days": DAYS, "batch": 1000}
        )
        plan = "\n".join(explained.scalars())

    assert "ix_telephony_events_unlinked_received_at" in plan, plan
    assert "Seq Scan" not in plan, plan
