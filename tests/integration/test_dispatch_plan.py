"""The dispatcher's pick walks ix_contacts_due to its LIMIT: it neither reads nor sorts every
pending contact of the campaign (the bench found a claim doing that at 50,000 contacts)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.scheduler.dispatch import _PICK
from app.scheduler.window import CallWindow, open_zones
from tests.support.seed import execute, seed_campaign

Sessions = async_sessionmaker[AsyncSession]

ALWAYS = {
    "start": "00:00",
    "end": "23:59:59",
    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
}


async def test_the_pick_walks_the_due_index_to_its_limit(sessions: Sessions) -> None:
    campaign_id = await seed_campaign(sessions, contacts=20_000, call_window=ALWAYS)
    await execute(sessions, "ANALYZE")  # an empty do-not-call list included: probes cost nothing
    now = datetime.now(UTC)
    zones = open_zones(CallWindow.parse(ALWAYS), now)
    async with sessions() as session, session.begin():
        # As the dispatcher plans it: with its values, every time.
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        params = {"campaign_id": campaign_id, "now": now, "zones": zones, "limit": 2_000}
        plan = "\n".join(
            row[0] for row in await session.execute(text(f"EXPLAIN {_PICK.text}"), params)
        )

    assert "Index Scan using ix_contacts_due" in plan, plan
    assert "Seq Scan on contacts" not in plan and "Sort" not in plan, plan
