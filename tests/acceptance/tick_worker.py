"""A scheduler process with no leader election: ticks until there is nothing left to dispatch.

Run as `python -m tests.acceptance.tick_worker START_AT IDLE_TICKS` with DATABASE_URL and
MOCK_CALL_LOG set. Several of these started for the same instant dispatch over the same due
contacts at once: the situation two leaders would create.
"""

from __future__ import annotations

import asyncio
import sys
import time

from app.config import get_settings
from app.db.engine import make_engine, make_sessionmaker
from app.scheduler.tick import TickContext, run_tick
from app.telephony.factory import create_provider


async def main(start_at: float, idle_ticks: int) -> None:
    settings = get_settings()
    assert settings.database_url is not None
    engine = make_engine(settings.database_url, pool_size=2)
    ctx = TickContext.from_settings(settings, make_sessionmaker(engine), create_provider(settings))
    await asyncio.sleep(max(0.0, start_at - time.time()))
    idle = 0
    try:
        while idle < idle_ticks:
            report = await run_tick(ctx)
            idle = 0 if report.dispatched else idle + 1
            if idle:
                await asyncio.sleep(0.05)  # others may hold the campaigns right now
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]), int(sys.argv[2])))
