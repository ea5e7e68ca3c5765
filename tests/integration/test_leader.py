"""Leader election on the advisory lock: one holder, loss noticed, takeover."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.scheduler.leader import LEADER_LOCK_KEY, LOCK_HOLDERS, LeaderElection
from app.scheduler.runner import SchedulerLoop
from app.telephony.mock import MockProvider
from tests.integration.test_dispatch import make_ctx
from tests.support.syncdb import dsn_of

Sessions = async_sessionmaker[AsyncSession]


WAIT_SECONDS = 10.0


async def eventually(condition: Callable[[], bool | Awaitable[bool]], what: str) -> None:
    """Poll `condition` until it holds, rather than sleeping for a guessed time."""

    async def holds() -> bool:
        result = condition()
        return bool(await result if inspect.isawaitable(result) else result)

    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while not await holds():  # noqa: ASYNC110  # polls state that has no event to wait on
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out after {WAIT_SECONDS}s waiting for {what}") from None


class CountingElection(LeaderElection):
    """The real election, counting its completed attempts so that a test can wait for them."""

    def __init__(self, dsn: str) -> None:
        super().__init__(dsn)
        self.attempts = 0

    async def try_acquire(self) -> bool:
        try:
            return await super().try_acquire()
        finally:
            self.attempts += 1


async def lock_holders(dsn: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(LOCK_HOLDERS, LEADER_LOCK_KEY)
        return [r["pid"] for r in rows]
    finally:
        await conn.close()


Loops = list[tuple[SchedulerLoop, CountingElection]]


@contextlib.asynccontextmanager
async def two_loops(database_url: str, sessions: Sessions) -> AsyncIterator[Loops]:
    """Two scheduler loops on one database, as two workers would run them; stopped on exit."""
    ctx = make_ctx(sessions, MockProvider())
    elections = [CountingElection(dsn_of(database_url)) for _ in range(2)]
    loops = [SchedulerLoop(ctx, election, 0.05, 0.05) for election in elections]
    tasks = [asyncio.create_task(loop.run()) for loop in loops]
    try:
        yield list(zip(loops, elections, strict=True))
    finally:
        for loop in loops:
            loop.stop()
        await asyncio.gather(*tasks)


async def no_holders(dsn: str) -> bool:
    return not await lock_holders(dsn)


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
        await eventually(lambda: no_holders(dsn), "the terminated backend to release the lock")

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
    async with two_loops(database_url, sessions) as loops:
        # The leader tries once; the standby retries every 0.05 s. Four retries in standby
        # show whether "standby" is said on every retry.
        await eventually(
            lambda: max(election.attempts for _, election in loops) >= 5, "four standby retries"
        )

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

    def leaders(loops: Loops) -> int:
        return sum(loop.is_leader for loop, _ in loops)

    def lost_logged() -> bool:
        return any(r.getMessage().startswith("Scheduler leader lock lost") for r in caplog.records)

    async with two_loops(database_url, sessions) as loops:
        await eventually(lambda: all(e.attempts for _, e in loops), "both loops to try the lock")
        assert leaders(loops) == 1
        (old,) = await lock_holders(dsn)

        await terminate(dsn, old)
        await eventually(lost_logged, "the leader to notice it lost the lock")

        async def taken_over() -> bool:
            holders = await lock_holders(dsn)
            return leaders(loops) == 1 and len(holders) == 1 and holders != [old]

        await eventually(taken_over, "one loop to hold the lock again")
