"""Recovery of attempts the provider has gone silent about, and of finished campaigns.

A silent attempt (no provider news for STALE_ATTEMPT_SECONDS) is reconciled with the provider:
closed with the provider's word when it says the call ended, kept when it says the call goes on,
and kept while the provider cannot be asked or gives no usable answer, until the call is
provably over (`reconcile.py`). Closing twice is impossible: every close re-checks the attempt
under a row lock and is conditional on `ended_at IS NULL`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.models import AttemptStatus, Outcome
from app.calls.policy import classify
from app.calls.service import AttemptClose, close_attempts
from app.calls.statuses import attempt_status
from app.campaigns.models import CampaignStatus, ContactState
from app.db.base import count_of, sql_list, sql_literal
from app.logs import one_line
from app.metrics import RECOVERY_UNCONFIRMED, STALE_RECOVERED
from app.scheduler.bounded import gather_bounded
from app.scheduler.dispatch import ALL_QUOTAS_FULL
from app.scheduler.reconcile import Verdict, provably_over_at, reconcile
from app.suppression.numbers import listed_sql
from app.telephony.base import CallReport, TelephonyProvider

log = logging.getLogger(__name__)

RUNNING = sql_literal(CampaignStatus.RUNNING)
COMPLETED = sql_literal(CampaignStatus.COMPLETED)
UNFINISHED = sql_list(ContactState.PENDING, ContactState.IN_PROGRESS)
PENDING = sql_literal(ContactState.PENDING)
DO_NOT_CALL = sql_literal(ContactState.DO_NOT_CALL)

# Silent attempts, the least recently looked at first, so that while the provider cannot answer
# the asks rotate over every open attempt instead of repeating the oldest ones.
_CANDIDATES = text("""
SELECT id, provider_call_id, answered_at IS NOT NULL AS answered, outcome,
       started_at, ring_timeout_seconds, time_limit_seconds
FROM call_attempts
WHERE ended_at IS NULL
  AND last_event_at < CAST(:now AS timestamptz) - make_interval(secs => CAST(:stale AS float8))
ORDER BY greatest(last_event_at, checked_at), id
LIMIT :limit
""")

# Re-check under a row lock: a callback may have arrived while the provider was being asked.
_STILL_STALE = text("""
SELECT id FROM call_attempts
WHERE id = ANY(CAST(:ids AS bigint[])) AND ended_at IS NULL
  AND last_event_at < CAST(:now AS timestamptz) - make_interval(secs => CAST(:stale AS float8))
FOR UPDATE SKIP LOCKED
""")

# The provider vouched for the call: that is news.
_LIVE = text("""
UPDATE call_attempts SET last_event_at = now(), checked_at = now(), unconfirmed_since = NULL
WHERE id = ANY(CAST(:ids AS bigint[])) AND ended_at IS NULL
""")

# No usable word: note it, and report the attempts for which this is the first time (now() is the
# transaction's start, so `unconfirmed_since = now()` holds only where it was just set).
_UNCONFIRMED = text("""
UPDATE call_attempts
SET checked_at = now(), unconfirmed_since = coalesce(unconfirmed_since, now())
WHERE id = ANY(CAST(:ids AS bigint[])) AND ended_at IS NULL
RETURNING id, unconfirmed_since = now() AS first_time
""")

# Two statements: lock first, then look for remaining work with a snapshot taken after the lock,
# so a contact import committing meanwhile (it holds FOR SHARE on the campaign) is either seen,
# or waits and then finds the campaign completed.
_LOCK_RUNNING = text(f"""
SELECT id FROM campaigns WHERE status = {RUNNING} FOR NO KEY UPDATE SKIP LOCKED
""")

# A pending contact whose number got listed in a way no suppression could see (an opt-out or a
# list load committing in the instant between a contact upload's last look at the list and its
# commit) is never dialled, the claim skips it, and it would keep its campaign running forever.
# Skipped ever since, it drifts to the front of the claim order: looking at the first few pending
# contacts of each campaign every tick finds it, at a cost bounded by FRONT per campaign.
FRONT = 20
_FINAL_LISTED = text(f"""
UPDATE contacts ct SET state = {DO_NOT_CALL}, updated_at = now()
FROM (
    SELECT f.id
    FROM unnest(CAST(:ids AS bigint[])) AS r(campaign_id)
    CROSS JOIN LATERAL (
        SELECT c.id, c.phone_number FROM contacts c
        WHERE c.campaign_id = r.campaign_id AND c.state = {PENDING}
        ORDER BY c.dial_rank, c.next_attempt_at, c.id
        LIMIT {FRONT}
    ) AS f
    WHERE {listed_sql("f.phone_number")}
) AS listed
WHERE ct.id = listed.id AND ct.state = {PENDING}
""")

_FINISH_CAMPAIGNS = text(f"""
UPDATE campaigns c
SET status = {COMPLETED}, finished_at = now(), updated_at = now()
WHERE c.id = ANY(CAST(:ids AS bigint[])) AND c.status = {RUNNING}
  AND (NOT EXISTS (SELECT 1 FROM contacts ct
                   WHERE ct.campaign_id = c.id AND ct.state IN {UNFINISHED})
       OR {ALL_QUOTAS_FULL})
  AND NOT EXISTS (SELECT 1 FROM call_attempts a
                  WHERE a.campaign_id = c.id AND a.ended_at IS NULL)
RETURNING c.id
""")

# At most this many silent attempts are looked at per tick: with the provider's API hanging,
# one tick then waits for at most limit / PROVIDER_CONCURRENCY request timeouts.
RECOVERY_BATCH = 200


@dataclass(frozen=True)
class RecoveryPolicy:
    stale_seconds: float  # silence after which the provider is asked
    margin_seconds: float  # added to ring timeout + time limit: the call is then provably over


@dataclass(frozen=True)
class _Answer:
    report: CallReport | None  # None: no usable word
    why: str = ""  # why there is no usable word


async def recover_stale(
    sessions: async_sessionmaker[AsyncSession],
    provider: TelephonyProvider,
    *,
    now: datetime,
    policy: RecoveryPolicy,
    limit: int = RECOVERY_BATCH,
) -> int:
    """Reconcile silent attempts with the provider; returns how many were closed."""
    params = {"now": now, "stale": policy.stale_seconds}
    async with sessions() as session:
        candidates = (await session.execute(_CANDIDATES, {**params, "limit": limit})).all()
    if not candidates:
        return 0
    answers = await gather_bounded(candidates, lambda c: _ask(provider, c.provider_call_id))
    by_verdict: dict[Verdict, list[tuple[Row[Any], _Answer]]] = {v: [] for v in Verdict}
    for candidate, answer in zip(candidates, answers, strict=True):
        over_at = _over_at(candidate, policy)
        by_verdict[reconcile(answer.report, now=now, over_at=over_at)].append((candidate, answer))
    closes = [
        _close(c, a.report)
        for v in (Verdict.CLOSE, Verdict.CLOSE_UNCONFIRMED)
        for c, a in by_verdict[v]
    ]
    async with sessions() as session, session.begin():
        if by_verdict[Verdict.LIVE]:
            await session.execute(_LIVE, {"ids": [c.id for c, _ in by_verdict[Verdict.LIVE]]})
        await _note_unconfirmed(session, by_verdict[Verdict.WAIT], policy)
        locked = set(
            (await session.execute(_STILL_STALE, {**params, "ids": [c.attempt_id for c in closes]}))
            .scalars()
            .all()
        )
        closed = await close_attempts(session, [c for c in closes if c.attempt_id in locked])
    STALE_RECOVERED.inc(closed)
    if closed:
        log.warning(
            "Recovered %d stale call attempts; their contacts were requeued or finalised", closed
        )
    return closed


async def finish_campaigns(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    """Mark running campaigns with nothing left to do as completed."""
    async with sessions() as session, session.begin():
        running = list((await session.execute(_LOCK_RUNNING)).scalars())
        if not running:
            return []
        listed = count_of(await session.execute(_FINAL_LISTED, {"ids": running}))
        if listed:
            log.warning("%d pending contacts found on the do-not-call list, made final", listed)
        finished = list((await session.execute(_FINISH_CAMPAIGNS, {"ids": running})).scalars())
    for campaign_id in finished:
        log.info("Campaign %s completed: every contact reached a final state", campaign_id)
    return finished


async def _ask(provider: TelephonyProvider, provider_call_id: str | None) -> _Answer:
    if provider_call_id is None:
        # Placed (or not) by a process that died before saving the id: the provider may still
        # call back with the attempt id and have the call adopted.
        return _Answer(None, "no provider call id was saved")
    try:
        report = await provider.fetch_call(provider_call_id)
    except Exception as exc:  # unreachable, a 5xx, a timeout, an answer not understood
        return _Answer(None, f"provider could not be asked: {one_line(exc)}")
    if report.status is None:
        return _Answer(None, "the provider does not know the call")
    return _Answer(report)


def _over_at(candidate: Row[Any], policy: RecoveryPolicy) -> datetime:
    return provably_over_at(
        candidate.started_at,
        ring_timeout_seconds=candidate.ring_timeout_seconds,
        time_limit_seconds=candidate.time_limit_seconds,
        margin=policy.margin_seconds,
    )


async def _note_unconfirmed(
    session: AsyncSession, waiting: list[tuple[Row[Any], _Answer]], policy: RecoveryPolicy
) -> None:
    """Count every unconfirmed ask; log each attempt once, the first time."""
    if not waiting:
        return
    RECOVERY_UNCONFIRMED.inc(len(waiting))
    rows = await session.execute(_UNCONFIRMED, {"ids": [c.id for c, _ in waiting]})
    first = {row.id for row in rows if row.first_time}
    for candidate, answer in waiting:
        if candidate.id in first:
            log.warning(
                "Call attempt %s kept open: %s; asking again each tick until the call is "
                "provably over at %s",
                candidate.id,
                answer.why,
                _over_at(candidate, policy).isoformat(timespec="seconds"),
            )


def _close(candidate: Row[Any], report: CallReport | None) -> AttemptClose:
    if report is not None and report.status is not None:
        status = attempt_status(report.status)
    else:
        status = AttemptStatus.STALE
    outcome = classify(
        status,
        answered=candidate.answered or bool(report and report.duration_seconds),
        answered_by=report.answered_by if report else None,
        # A survey that ended keeps its outcome.
        survey_outcome=Outcome(candidate.outcome) if candidate.outcome else None,
    )
    return AttemptClose(
        candidate.id,
        status,
        outcome,
        error="no word from the provider; closed once the call was provably over"
        if report is None
        else None,
        answered_by=report.answered_by if report else None,
        duration_seconds=report.duration_seconds if report else None,
    )
