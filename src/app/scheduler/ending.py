"""The end of a campaign's dates: no call after `not_after`, whatever is still pending.

Dispatch already calls nobody whose local date is past `not_after`. Once that date is over in
every time zone, the contacts still pending can never be called: the leader closes them as
`not_reached` so that the campaign completes (`recovery.finish_campaigns`). Contacts in a call
are left to finish it; if the call sends them back to pending, the next tick closes them.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.campaigns.models import CampaignStatus, ContactState
from app.db.base import sql_literal
from app.scheduler.window import WESTMOST

log = logging.getLogger(__name__)

# What `last_outcome` says of a contact closed because the campaign's dates ran out.
CAMPAIGN_ENDED = "campaign_ended"
# Contacts closed per statement, and statements per tick: short transactions, a bounded tick.
ENDING_BATCH = 2000
ENDING_BATCHES_PER_TICK = 25

RUNNING = sql_literal(CampaignStatus.RUNNING)
PENDING = sql_literal(ContactState.PENDING)
NOT_REACHED = sql_literal(ContactState.NOT_REACHED)

# One batch over every ended campaign. SKIP LOCKED: a row a dispatcher holds is closed next
# tick; the state is checked again in the UPDATE. An appointment that can no longer be kept is
# cleared, as when any attempt closes a contact for good.
_CLOSE_PENDING = text(f"""
WITH batch AS (
    SELECT ct.id
    FROM contacts ct
    WHERE ct.campaign_id IN (SELECT c.id FROM campaigns c
                             WHERE c.status = {RUNNING}
                               AND c.not_after <= CAST(:last_over AS date))
      AND ct.state = {PENDING}
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
)
UPDATE contacts ct
SET state = {NOT_REACHED}, last_outcome = '{CAMPAIGN_ENDED}', dial_rank = 1,
    appointment_at = NULL, updated_at = now()
FROM batch
WHERE ct.id = batch.id AND ct.state = {PENDING}
RETURNING ct.campaign_id
""")


def last_date_over(now: datetime) -> date:
    """The latest date that is over in every time zone at `now` (over even at UTC-12)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    # The date at UTC-12 is the last to begin; the day before it has ended there too.
    return (now.astimezone(UTC) + WESTMOST).date() - timedelta(days=1)


async def close_ended_campaigns(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    batch: int = ENDING_BATCH,
    batches: int = ENDING_BATCHES_PER_TICK,
) -> int:
    """Close the pending contacts of running campaigns whose last date is over everywhere."""
    params = {"last_over": last_date_over(now), "limit": batch}
    closed: Counter[int] = Counter()
    for _ in range(batches):
        async with sessions() as session, session.begin():
            rows = (await session.execute(_CLOSE_PENDING, params)).scalars().all()
        closed.update(rows)
        if len(rows) < batch:
            break
    for campaign_id, count in sorted(closed.items()):
        log.info(
            "Campaign %s: its last date is over; %d pending contacts closed as not reached",
            campaign_id,
            count,
        )
    return closed.total()
