"""An import into a running campaign racing the scheduler's "finish campaign" step.

The import saves the pieces of its body as they come without locking the campaign (its inserted
contacts are invisible to others until it commits), then takes the campaign FOR SHARE to save
the last piece. Finishing either comes first (and the import is refused) or skips the campaign
until the import has committed (and then sees its contacts): never contacts stranded in a
completed campaign.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.campaigns.imports import PIECE_BYTES
from app.scheduler.recovery import finish_campaigns
from tests.support.seed import execute, fetch_all, seed_campaign, seen_in_activity

Sessions = async_sessionmaker[AsyncSession]
ROWS = [f"+39347{n:07d}\n" for n in range(80_000)]  # 1 MB, 13 bytes a row
# More than two pieces of the body: some rows are saved before the pause.
HALF = 3 * PIECE_BYTES // 13
CHUNK = 64 << 10


async def finished_campaign_with_nothing_left(sessions: Sessions) -> int:
    """A running campaign whose every contact is final: the next finish completes it."""
    campaign_id = await seed_campaign(sessions, contacts=1)
    await execute(sessions, "UPDATE contacts SET state = 'completed'")
    return campaign_id


async def state_of(sessions: Sessions, campaign_id: int) -> tuple[str, int]:
    [row] = await fetch_all(
        sessions,
        "SELECT status, (SELECT count(*) FROM contacts WHERE campaign_id = c.id) AS contacts"
        " FROM campaigns c WHERE id = :id",
        id=campaign_id,
    )
    return row.status, row.contacts


def post(
    client: httpx.AsyncClient, campaign_id: int, body: AsyncIterator[bytes]
) -> asyncio.Task[httpx.Response]:
    return asyncio.create_task(
        client.post(
            f"/api/campaigns/{campaign_id}/contacts",
            content=body,
            headers={"content-type": "text/csv"},
        )
    )


async def test_a_campaign_finished_during_the_upload_refuses_the_import(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await finished_campaign_with_nothing_left(sessions)
    resume = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        head = ("phone_number\n" + "".join(ROWS[:HALF])).encode()
        for start in range(0, len(head), CHUNK):  # as a network delivers it
            yield head[start : start + CHUNK]
        await resume.wait()
        yield "".join(ROWS[HALF:]).encode()

    upload = post(client, campaign_id, body())
    await seen_in_activity(sessions, "%INSERT INTO contacts%")
    finished = await finish_campaigns(sessions)  # the inserted contacts are invisible to it
    resume.set()
    response = await upload

    assert finished == [campaign_id]
    assert response.status_code == 409, response.text
    assert "its status is completed" in response.json()["detail"]
    assert await state_of(sessions, campaign_id) == ("completed", 1)


async def test_finishing_skips_a_campaign_whose_import_is_committing(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await finished_campaign_with_nothing_left(sessions)

    rows = ROWS[: PIECE_BYTES // 13 - 1]

    async def body() -> AsyncIterator[bytes]:
        yield ("phone_number\n" + "".join(rows)).encode()

    # Another transaction holds do_not_call, which the import's INSERT reads: the body is one
    # piece, the last, so the import stops there after it took the campaign FOR SHARE and
    # before it commits.
    async with sessions() as blocker, blocker.begin():
        await blocker.execute(text("LOCK TABLE do_not_call IN ACCESS EXCLUSIVE MODE"))
        upload = post(client, campaign_id, body())
        await seen_in_activity(sessions, "%INSERT INTO contacts%", waiting=True)
        finished = await finish_campaigns(sessions)
    response = await upload

    assert finished == []  # skipped: the import holds the campaign
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == len(rows)
    assert await finish_campaigns(sessions) == []  # it sees the new pending contacts
    assert await state_of(sessions, campaign_id) == ("running", 1 + len(rows))
