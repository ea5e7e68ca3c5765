"""A pending contact whose number got listed where no suppression could see it is made final.

An opt-out or a list load that commits in the instant between a contact upload's last look at
the list and the upload's commit cannot mark the upload's contacts (it does not see them), and
the upload no longer looks: the contact is pending, listed, never dialled, and would keep its
campaign running for good. The leader's tick finds such contacts at the front of the claim order.
These tests list a pending contact's number directly, as that race leaves it.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.scheduler import recovery
from app.scheduler.recovery import finish_campaigns
from app.suppression.numbers import listed_hash
from tests.support.seed import execute, fetch_all, seed_campaign

Sessions = async_sessionmaker[AsyncSession]


async def states(sessions: Sessions, campaign_id: int) -> dict[str, str]:
    rows = await fetch_all(
        sessions,
        "SELECT phone_number, state FROM contacts WHERE campaign_id = :id",
        id=campaign_id,
    )
    return {row.phone_number: row.state for row in rows}


async def status(sessions: Sessions, campaign_id: int) -> str:
    rows = await fetch_all(sessions, "SELECT status FROM campaigns WHERE id = :id", id=campaign_id)
    return str(rows[0].status)


async def test_listed_pending_contacts_are_made_final_and_the_campaign_completes(
    sessions: Sessions,
) -> None:
    campaign_id = await seed_campaign(sessions, contacts=3)
    first, second, third = sorted(await states(sessions, campaign_id))
    await execute(
        sessions, "UPDATE contacts SET state = 'completed' WHERE phone_number = :p", p=first
    )
    # Listed by number, and by the hash a forgotten person's number is listed by.
    await execute(
        sessions,
        "INSERT INTO do_not_call (phone_number, reason) VALUES (:a, 'asked'), (:b, 'forgotten')",
        a=second,
        b=listed_hash(third),
    )

    finished = await finish_campaigns(sessions)

    assert await states(sessions, campaign_id) == {
        first: "completed",
        second: "do_not_call",
        third: "do_not_call",
    }
    assert finished == [campaign_id]
    assert await status(sessions, campaign_id) == "completed"


async def test_a_pending_contact_not_listed_stays_pending(sessions: Sessions) -> None:
    campaign_id = await seed_campaign(sessions, contacts=2)
    first, second = sorted(await states(sessions, campaign_id))
    await execute(
        sessions, "INSERT INTO do_not_call (phone_number, reason) VALUES (:a, 'asked')", a=first
    )

    assert await finish_campaigns(sessions) == []
    assert await states(sessions, campaign_id) == {first: "do_not_call", second: "pending"}
    assert await status(sessions, campaign_id) == "running"


async def test_only_the_front_of_the_claim_order_is_looked_at_each_tick(
    sessions: Sessions,
) -> None:
    """The cost is bounded per campaign: a listed contact behind the front is found once the
    contacts before it have been called (they then leave the front)."""
    campaign_id = await seed_campaign(sessions, contacts=recovery.FRONT + 1)
    numbers = sorted(await states(sessions, campaign_id))
    last = numbers[-1]  # the last in claim order (same time, highest id)
    await execute(
        sessions, "INSERT INTO do_not_call (phone_number, reason) VALUES (:a, 'asked')", a=last
    )

    await finish_campaigns(sessions)
    assert (await states(sessions, campaign_id))[last] == "pending"

    await execute(
        sessions, "UPDATE contacts SET state = 'completed' WHERE phone_number = :p", p=numbers[0]
    )
    await finish_campaigns(sessions)
    assert (await states(sessions, campaign_id))[last] == "do_not_call"
