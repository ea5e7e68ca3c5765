"""The audit trail of a campaign's contacts: why each call was allowed, and what the person said
yes or no to — from the attempts and the contact events, one row per fact, oldest first.

A compliance officer asks: when was this person called, at what local time, under which rule,
was the do-not-call list checked, what exactly did they consent to, did they ask not to be
called or to be called later? Each row answers one of those, with its time.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import Direction
from app.campaigns.errors import NotFound
from app.db.base import sql_literal

COLUMNS = ("contact_id", "at", "event", "attempt_number", "detail")
ROWS_PER_BATCH = 500

_CAMPAIGN = text("SELECT 1 FROM campaigns WHERE id = :campaign_id")

# The `window_rule` of a call the respondent placed: no window allowed it, none applies.
INBOUND_RULE = "inbound call: the respondent called the campaign's number; no call window applies"
INBOUND = sql_literal(Direction.INBOUND)

# A dial: the local time in each zone the contact's number may be in, the window rule that
# allowed it, and whether the claim that created it recorded reading the do-not-call list in
# the same statement (`do_not_call_checked_at`; NULL on attempts made before it was recorded,
# which therefore say false: no record proves the check). An inbound call has no dial zones.
_TRAIL = text(f"""
SELECT contact_id, at, event, attempt_number, detail FROM (
    SELECT a.contact_id, a.started_at AS at,
           CASE WHEN a.direction = {INBOUND} THEN 'inbound_call' ELSE 'dial' END AS event,
           a.attempt_number,
           jsonb_build_object(
               'local_times', (SELECT coalesce(jsonb_object_agg(z,
                                  to_char(a.started_at AT TIME ZONE z, 'YYYY-MM-DD HH24:MI')),
                                  '{{}}'::jsonb)
                               FROM unnest(a.dial_zones) AS z),
               'window_rule', CASE WHEN a.direction = {INBOUND} THEN CAST(:inbound_rule AS text)
                                   ELSE a.dial_window END,
               'do_not_call_checked', a.do_not_call_checked_at IS NOT NULL,
               'do_not_call_checked_at', a.do_not_call_checked_at,
               'outcome', a.outcome,
               'ended_at', a.ended_at
           ) AS detail,
           0 AS kind_order
    FROM call_attempts AS a
    WHERE a.campaign_id = :campaign_id
      AND (CAST(:contact_id AS bigint) IS NULL OR a.contact_id = :contact_id)
    UNION ALL
    SELECT e.contact_id, e.at, e.kind, a.attempt_number, e.detail, 1
    FROM contact_events AS e
    LEFT JOIN call_attempts AS a ON a.id = e.call_attempt_id
    WHERE e.campaign_id = :campaign_id
      AND (CAST(:contact_id AS bigint) IS NULL OR e.contact_id = :contact_id)
) AS trail
ORDER BY contact_id, at, kind_order
""").execution_options(yield_per=ROWS_PER_BATCH)


async def check_campaign(session: AsyncSession, campaign_id: int) -> None:
    if (await session.execute(_CAMPAIGN, {"campaign_id": campaign_id})).first() is None:
        raise NotFound(f"campaign {campaign_id} not found")


async def audit_rows(
    *, session: AsyncSession, campaign_id: int, contact_id: int | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Yield the trail, streamed from the database; raise NotFound for an unknown campaign."""
    await check_campaign(session, campaign_id)
    params = {"campaign_id": campaign_id, "contact_id": contact_id, "inbound_rule": INBOUND_RULE}
    result = await session.stream(_TRAIL, params)
    async for batch in result.mappings().partitions():
        for record in batch:
            yield _row(record)


def _row(record: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "contact_id": record["contact_id"],
        "at": record["at"].isoformat(),
        "event": record["event"],
        "attempt_number": record["attempt_number"],
        "detail": record["detail"] or {},
    }


def csv_detail(detail: Mapping[str, Any]) -> str:
    """The detail as one compact JSON cell."""
    return json.dumps(detail, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
