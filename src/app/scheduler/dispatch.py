"""Dispatch: claim due contacts in one statement, commit, and only then place the calls."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.models import AttemptStatus, Outcome
from app.calls.service import AttemptClose, close_attempts, record_provider_ids
from app.campaigns.models import CampaignStatus, ContactState
from app.db.base import sql_literal
from app.faults import AFTER_CLAIM_COMMIT, AFTER_INITIATE, crash_point
from app.logs import mask_phone, one_line
from app.metrics import CALLS_DISPATCHED
from app.scheduler.bounded import gather_bounded
from app.scheduler.window import CallWindow, InvalidWindow, open_zones
from app.suppression.numbers import listed_hash_sql
from app.telephony.base import CallRequest, InvalidNumberError, TelephonyError, TelephonyProvider
from app.telephony.callbacks import CallUrls

log = logging.getLogger(__name__)

RUNNING = sql_literal(CampaignStatus.RUNNING)
ALL_QUOTAS_FULL = """(EXISTS (SELECT 1 FROM campaign_quotas q WHERE q.campaign_id = c.id)
    AND NOT EXISTS (SELECT 1 FROM campaign_quotas q
                    WHERE q.campaign_id = c.id AND q.completes < q.target))"""
PENDING = sql_literal(ContactState.PENDING)
IN_PROGRESS = sql_literal(ContactState.IN_PROGRESS)
DISPATCHING = sql_literal(AttemptStatus.DISPATCHING)

# Lock the campaign row so that two dispatchers (two leaders, briefly) never both fill its free
# concurrency; NO KEY UPDATE still lets call_attempts rows reference it meanwhile.
_LOCK_CAMPAIGN = text(f"""
SELECT c.id, c.call_window, c.not_before, c.not_after, c.caller_id, c.max_concurrent_calls,
       c.max_call_minutes,
       (SELECT count(*) FROM call_attempts a
        WHERE a.campaign_id = c.id AND a.ended_at IS NULL) AS open_calls
FROM campaigns c
WHERE c.id = :campaign_id AND c.status = {RUNNING}
  -- A campaign whose quotas are all full has no one left worth calling.
  AND NOT {ALL_QUOTAS_FULL}
FOR NO KEY UPDATE SKIP LOCKED
""")

# Two statements in one transaction. The pick: due contacts inside the window and off the
# do-not-call list, in the order of ix_contacts_due, skipping rows another dispatcher holds,
# locked until the commit. The claim: re-check the state, update, insert the attempts. The
# partial unique index on open attempts and UNIQUE(contact_id, attempt_number) make a duplicate
# impossible even if this ran twice.
_PICK = text(f"""
SELECT ct.id
FROM contacts ct
WHERE ct.campaign_id = :campaign_id
  AND ct.state = {PENDING}
  AND ct.next_attempt_at <= CAST(:now AS timestamptz)
  AND ct.timezone = ANY(CAST(:zones AS text[]))
  -- "= '{{}}' OR" changes nothing (an empty array is contained in any), but gives the planner
  -- the column's own statistics: for "<@" alone it guesses 0.5 % of rows pass, and then reads
  -- and sorts every pending contact instead of walking ix_contacts_due to the LIMIT
  -- (bench/README.md, "against the issue's baseline").
  AND (ct.time_zone_candidates = '{{}}' OR ct.time_zone_candidates <@ CAST(:zones AS text[]))
  -- Neither the number nor the hash a forgotten person's number is listed by: two primary-key
  -- probes per candidate. "(…) IS NOT NULL" has the planner count on nearly every row passing.
  -- As NOT EXISTS anti-joins, a list longer than the campaign reads to it as "every contact is
  -- listed", and the claim scanned the whole campaign (bench/README.md).
  AND (SELECT true
       WHERE NOT EXISTS (SELECT 1 FROM do_not_call d WHERE d.phone_number = ct.phone_number)
         AND NOT EXISTS (SELECT 1 FROM do_not_call d
                         WHERE d.phone_number = {listed_hash_sql("ct.phone_number")})
      ) IS NOT NULL
-- Appointments first (dial_rank 0), then the longest-waiting: the order of ix_contacts_due.
ORDER BY ct.dial_rank, ct.next_attempt_at, ct.id
LIMIT :limit
FOR UPDATE SKIP LOCKED
""")

_CLAIM = text(f"""
WITH claimed AS (
    UPDATE contacts ct
    SET state = {IN_PROGRESS}, attempts_count = ct.attempts_count + 1,
        updated_at = CAST(:now AS timestamptz)
    WHERE ct.id = ANY(CAST(:ids AS bigint[])) AND ct.state = {PENDING}
    RETURNING ct.id, ct.campaign_id, ct.attempts_count, ct.phone_number, ct.timezone,
              ct.time_zone_candidates
), inserted AS (
    -- dial_zones and dial_window are the audit of why this call was allowed now;
    -- do_not_call_checked_at records that the pick read the list, in this transaction.
    INSERT INTO call_attempts
        (contact_id, campaign_id, attempt_number, status, started_at, last_event_at,
         ring_timeout_seconds, time_limit_seconds, dial_zones, dial_window,
         do_not_call_checked_at)
    SELECT id, campaign_id, attempts_count, {DISPATCHING},
           CAST(:now AS timestamptz), CAST(:now AS timestamptz), :ring, :time_limit,
           CASE WHEN cardinality(time_zone_candidates) > 0 THEN time_zone_candidates
                ELSE ARRAY[timezone] END,
           :window, now()
    FROM claimed
    RETURNING id, contact_id, attempt_number, ring_timeout_seconds, time_limit_seconds
)
SELECT i.id, i.contact_id, i.attempt_number, c.phone_number,
       i.ring_timeout_seconds, i.time_limit_seconds
FROM inserted i JOIN claimed c ON c.id = i.contact_id
ORDER BY i.id
""")

_RUNNING = text(f"SELECT id FROM campaigns WHERE status = {RUNNING} ORDER BY id")


@dataclass(frozen=True)
class Claimed:
    attempt_id: int
    contact_id: int
    attempt_number: int
    phone_number: str
    ring_timeout_seconds: int
    time_limit_seconds: int


@dataclass(frozen=True)
class DispatchLimits:
    batch_size: int
    calls_per_second: float
    interval_seconds: float
    ring_timeout_seconds: int

    def per_tick(self) -> int:
        """Calls one tick may start: the batch, capped by the provider's calls-per-second."""
        if self.calls_per_second <= 0:
            return self.batch_size
        return min(
            self.batch_size, max(1, math.floor(self.calls_per_second * self.interval_seconds))
        )


async def dispatch(
    sessions: async_sessionmaker[AsyncSession],
    provider: TelephonyProvider,
    *,
    now: datetime,
    limits: DispatchLimits,
    urls: CallUrls,
) -> int:
    """Dispatch every running campaign; returns how many calls were placed or attempted."""
    async with sessions() as session:
        campaign_ids = list((await session.execute(_RUNNING)).scalars())
    budget = limits.per_tick()
    total = 0
    for campaign_id in campaign_ids:
        if budget - total <= 0:
            break
        try:
            total += await dispatch_campaign(
                sessions,
                provider,
                campaign_id,
                now=now,
                limit=budget - total,
                urls=urls,
                ring_timeout_seconds=limits.ring_timeout_seconds,
            )
        except Exception as exc:  # one campaign's failure must not starve the others
            log.error("Dispatch of campaign %s failed: %s", campaign_id, one_line(exc))
    return total


async def dispatch_campaign(
    sessions: async_sessionmaker[AsyncSession],
    provider: TelephonyProvider,
    campaign_id: int,
    *,
    now: datetime,
    limit: int,
    urls: CallUrls,
    ring_timeout_seconds: int,
) -> int:
    """Claim and commit this campaign's due contacts, then call them."""
    async with sessions() as session, session.begin():
        claimed, caller_id = await claim(
            session, campaign_id, now=now, limit=limit, ring_timeout_seconds=ring_timeout_seconds
        )
    # Committed: from here on a crash leaves an open attempt that recovery will reconcile.
    if claimed:
        crash_point(AFTER_CLAIM_COMMIT)
        CALLS_DISPATCHED.inc(len(claimed))
        await place_calls(sessions, provider, claimed, caller_id=caller_id, urls=urls)
    return len(claimed)


async def claim(
    session: AsyncSession,
    campaign_id: int,
    *,
    now: datetime,
    limit: int,
    ring_timeout_seconds: int,
) -> tuple[list[Claimed], str | None]:
    """Create attempts for up to `limit` due contacts inside the window; caller commits."""
    campaign = (await session.execute(_LOCK_CAMPAIGN, {"campaign_id": campaign_id})).one_or_none()
    if campaign is None:
        return [], None  # not running any more, or another dispatcher holds it right now
    free = min(limit, campaign.max_concurrent_calls - campaign.open_calls)
    if free <= 0:
        return [], campaign.caller_id
    try:
        window = CallWindow.parse(
            campaign.call_window, not_before=campaign.not_before, not_after=campaign.not_after
        )
        zones = open_zones(window, now)
    except InvalidWindow as exc:
        log.error(
            "Campaign %s has an invalid call window, nothing dispatched: %s", campaign_id, exc
        )
        return [], campaign.caller_id
    if not zones:
        return [], campaign.caller_id
    ids = await _pick(session, campaign_id, now=now, zones=zones, limit=free)
    if not ids:
        return [], campaign.caller_id
    rows = await session.execute(
        _CLAIM,
        {
            "ids": ids,
            "now": now,
            "ring": ring_timeout_seconds,
            "time_limit": campaign.max_call_minutes * 60,
            "window": window.describe(),
        },
    )
    claimed = [
        Claimed(
            r.id,
            r.contact_id,
            r.attempt_number,
            r.phone_number,
            r.ring_timeout_seconds,
            r.time_limit_seconds,
        )
        for r in rows
    ]
    return claimed, campaign.caller_id


async def _pick(
    session: AsyncSession, campaign_id: int, *, now: datetime, zones: list[str], limit: int
) -> list[int]:
    """The due contacts to call, locked until the commit."""
    # A cached generic plan ignores LIMIT and the zone list and may scan the whole campaign:
    # the pick is planned with its values each time. Only the pick: the INSERT's foreign-key
    # checks run cached plans of their own, and forced custom plans re-planned two per attempt
    # (half the claim's time at 5,000 a batch; bench/README.md).
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    params = {"campaign_id": campaign_id, "now": now, "zones": zones, "limit": limit}
    ids = list((await session.execute(_PICK, params)).scalars())
    await session.execute(text("SET LOCAL plan_cache_mode = DEFAULT"))
    return ids


async def place_calls(
    sessions: async_sessionmaker[AsyncSession],
    provider: TelephonyProvider,
    claimed: list[Claimed],
    *,
    caller_id: str | None,
    urls: CallUrls,
) -> None:
    """Call each committed attempt once; save the ids, close the ones the provider refused."""
    results = await gather_bounded(claimed, lambda c: _place(provider, c, caller_id, urls))
    placed = [
        (c.attempt_id, r) for c, r in zip(claimed, results, strict=True) if isinstance(r, str)
    ]
    refused = [r for r in results if isinstance(r, AttemptClose)]
    crash_point(AFTER_INITIATE)
    async with sessions() as session, session.begin():
        await record_provider_ids(session, placed)
        await close_attempts(session, refused)


async def _place(
    provider: TelephonyProvider, claimed: Claimed, caller_id: str | None, urls: CallUrls
) -> str | AttemptClose | None:
    log.info(
        "initiate_call attempt=%s contact=%s attempt_number=%s to=%s",
        claimed.attempt_id,
        claimed.contact_id,
        claimed.attempt_number,
        mask_phone(claimed.phone_number),
    )
    request = CallRequest(
        attempt_id=claimed.attempt_id,
        to=claimed.phone_number,
        from_=caller_id,
        voice_url=urls.voice(claimed.attempt_id),
        status_callback_url=urls.status(claimed.attempt_id),
        ring_timeout_seconds=claimed.ring_timeout_seconds,
        time_limit_seconds=claimed.time_limit_seconds,
    )
    try:
        return (await provider.initiate_call(request)).provider_call_id
    except InvalidNumberError as exc:
        return _refused(claimed, Outcome.INVALID_NUMBER, exc)
    except TelephonyError as exc:
        return _refused(claimed, Outcome.PROVIDER_ERROR, exc)
    except Exception as exc:
        # The call may or may not exist (a timeout after the provider accepted it): leave the
        # attempt open so a callback adopts it or recovery reconciles it; never redial blindly.
        log.error("initiate_call outcome unknown for attempt %s: %s", claimed.attempt_id, exc)
        return None


def _refused(claimed: Claimed, outcome: Outcome, exc: Exception) -> AttemptClose:
    log.warning("initiate_call failed for attempt %s: %s", claimed.attempt_id, exc)
    return AttemptClose(claimed.attempt_id, AttemptStatus.ERROR, outcome, error=str(exc)[:500])
