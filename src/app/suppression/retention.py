"""Retention: the leader erases the personal data of contacts of campaigns that finished more than
RETENTION_DAYS ago, one bounded batch per tick, the way erasure on request does but without
listing their numbers as do-not-call (they did not ask). Provider callbacks that match no attempt
(inbound callers who only heard the message) belong to no campaign: each is emptied once it is
older than RETENTION_DAYS itself, in the same bounded batches.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.models import UNLINKED_EVENT
from app.campaigns.models import CampaignStatus
from app.db.base import count_of, sql_list
from app.logs import one_line
from app.suppression.erasure import Target, Why, erase

log = logging.getLogger(__name__)

# Contacts erased per tick: a few statements over this many rows keep a tick short.
RETENTION_BATCH = 1000
FINISHED = sql_list(CampaignStatus.COMPLETED, CampaignStatus.CANCELLED)

# Each finished campaign is probed through ix_contacts_not_erased, so a tick reads one batch of
# rows however many contacts were erased before. A contact whose call is still open waits for
# a later tick (its answers are still being written); SKIP LOCKED leaves a contact another
# transaction holds to the next one.
_DUE = text(f"""
SELECT due.contact_id, due.campaign_id, due.phone_number
FROM campaigns c
CROSS JOIN LATERAL (
    SELECT ct.id AS contact_id, ct.campaign_id, ct.phone_number
    FROM contacts ct
    WHERE ct.campaign_id = c.id AND ct.erased_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM call_attempts a
                      WHERE a.contact_id = ct.id AND a.ended_at IS NULL)
    ORDER BY ct.id
    LIMIT :batch
    FOR UPDATE OF ct SKIP LOCKED
) due
WHERE c.status IN {FINISHED}
  AND c.finished_at < CAST(:now AS timestamptz) - make_interval(days => :days)
LIMIT :batch
""")

# Through ix_telephony_events_unlinked_received_at, which holds only the callbacks matching no
# attempt that still have a payload: a tick reads its batch, not the events emptied before. The
# batch's ids as an array: `id IN (…)` is planned as a join that reads the whole table.
_DUE_CALLBACKS = text(f"""
UPDATE telephony_events SET payload = '{{}}'::jsonb
WHERE id = ANY(ARRAY(
    SELECT id FROM telephony_events
    WHERE {UNLINKED_EVENT}
      AND received_at < CAST(:now AS timestamptz) - make_interval(days => :days)
    ORDER BY received_at
    LIMIT :batch
    FOR UPDATE SKIP LOCKED))
""")


async def sweep(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    days: int | None,
    batch: int = RETENTION_BATCH,
) -> int:
    """Erase one batch of contacts past retention, and empty one batch of old provider callbacks
    that match no call (none when `days` is None); return how many contacts."""
    if days is None:
        return 0
    try:
        async with sessions() as session, session.begin():
            params = {"now": now, "days": days, "batch": batch}
            rows = await session.execute(_DUE, params)
            targets = [Target(r.contact_id, r.campaign_id, r.phone_number) for r in rows]
            await erase(session, targets, why=Why.RETENTION)
            callbacks = count_of(await session.execute(_DUE_CALLBACKS, params))
    except Exception as exc:  # retention can wait for the next tick; the rest of it cannot
        log.error("Retention sweep failed: %s", one_line(exc))
        return 0
    if targets:
        log.info(
            "Retention: erased the personal data of %d contacts of campaigns finished more "
            "than %d days ago",
            len(targets),
            days,
        )
    if callbacks:
        log.info(
            "Retention: emptied %d provider callbacks matching no call, received more than %d "
            "days ago",
            callbacks,
            days,
        )
    return len(targets)
