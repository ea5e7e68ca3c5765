"""Leader election on the advisory lock: one holder, loss noticed, takeover."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.scheduler.leader import LEADER_LOCK_KEY, LOCK_HOLDERS, LeaderElection
from app.scheduler.runner import SchedulerLoop
from app.telephony.mock import MockProvider
from tests.integration.test_dispatch import make_ctx
from tests.support.syncdb import dsn_of

Sessions = async_sessionmaker[AsyncSession]


async def lock_holders(dsn: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(LOCK_HOLDERS, LEADER_LOCK_KEY)
        return [r["pid"] for r in rows]
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def two_loops(database_url: str, sessions: Sessions) -> AsyncIterator[list[SchedulerLoop]]:
    """Two scheduler loops on one database, as two workers would run them; stopped on exit."""
    ctx = make_ctx(sessions, MockProvider())
    loops = [SchedulerLoop(ctx, LeaderElection(dsn_of(database_url)), 0.05, 0.05) for _ in range(2)]
    tasks = [asyncio.create_task(loop.run()) for loop in loops]
    try:
        yield loops
    finally:
        for loop in loops:
            loop.stop()
        await asyncio.gather(*tasks)


async def terminate(dsn: str, pid: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


async def test_one_holder_then_takeover_after_terminate(database_url: str) -> None:
    dsn = dsn_of(database_url)
    first, second = LeaderElection(dsn), LeaderElection(dsn)
    try:
        assert await first.try_acquire() is True
        assert await second.try_acquire() is False
        assert second.last_error is None
        assert await first.still_held() is True
        holders = await lock_holders(dsn)
        assert len(holders) == 1

        await terminate(dsn, holders[0])
        # pg_terminate_backend only signals the backend: wait until it is gone.
        for _ in range(100):
            if not await lock_holders(dsn):
                break
            await asyncio.sleep(0.05)

        assert await first.still_held() is False
        assert first.is_leader is False
        assert await second.try_acquire() is True
        assert len(await lock_holders(dsn)) == 1
    finally:
        await first.release()
        await second.release()
    assert await lock_holders(dsn) == []


async def test_unreachable_database_is_an_error_not_a_standby() -> None:
    election = LeaderElection("postgresql://postgres@127.0.0.1:1/none")

    assert await election.try_acquire() is False
    assert election.last_error is not None


async def test_loop_logs_the_checklist_lines(
    database_url: str, sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app")
    dsn = dsn_of(database_url)
    async with two_loops(database_url, sessions):
        await asyncio.sleep(0.5)

    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("Scheduler enabled") == 2
    assert messages.count("Scheduler leader lock acquired") == 1
    # Standby is said once, not on every retry.
    assert messages.count("Scheduler leader lock busy; standby") == 1
    assert await lock_holders(dsn) == []


async def test_leader_that_loses_its_lock_stops_and_a_standby_takes_over(
    database_url: str, sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app")
    dsn = dsn_of(database_url)
    async with two_loops(database_url, sessions) as loops:
        await asyncio.sleep(0.3)
        assert sum(loop.is_leader for loop in loops) == 1

        await terminate(dsn, (await lock_holders(dsn))[0])
        await asyncio.sleep(0.5)

        messages = [r.getMessage() for r in caplog.records]
        assert any(m.startswith("Scheduler leader lock lost") for m in messages)
        assert sum(loop.is_leader for loop in loops) == 1
        assert len(await lock_holders(dsn)) == 1
