"""Recovery of attempts the provider has gone silent about, and of finished campaigns."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.models import AttemptStatus
from app.calls.policy import classify
from app.calls.service import AttemptClose, close_attempts
from app.metrics import STALE_RECOVERED
from app.telephony.base import CallReport, TelephonyProvider
from app.telephony.statuses import is_final

log = logging.getLogger(__name__)

_CANDIDATES = text("""
SELECT id, provider_call_id, answered_at IS NOT NULL AS answered, outcome
FROM call_attempts
WHERE ended_at IS NULL
  AND last_event_at < CAST(:now AS timestamptz) - make_interval(secs => CAST(:stale AS float8))
ORDER BY last_event_at
LIMIT :limit
""")

# Re-check under a row lock: a callback may have arrived while the provider was being asked.
_STILL_STALE = text("""
SELECT id FROM call_attempts
WHERE id = ANY(CAST(:ids AS bigint[])) AND ended_at IS NULL
  AND last_event_at < CAST(:now AS timestamptz) - make_interval(secs => CAST(:stale AS float8))
FOR UPDATE SKIP LOCKED
""")

_TOUCH = text("""
UPDATE call_attempts SET last_event_at = now()
WHERE id = ANY(CAST(:ids AS bigint[])) AND ended_at IS NULL
""")

# Two statements: lock first, then look for remaining work with a snapshot taken after the lock,
# so a contact import committing meanwhile (it holds FOR SHARE on the campaign) is either seen,
# or waits and then finds the campaign completed.
_LOCK_RUNNING = text("""
SELECT id FROM campaigns WHERE status = 'running' FOR NO KEY UPDATE SKIP LOCKED
""")

_FINISH_CAMPAIGNS = text("""
UPDATE campaigns c
SET status = 'completed', finished_at = now(), updated_at = now()
WHERE c.id = ANY(CAST(:ids AS bigint[])) AND c.status = 'running'
  AND NOT EXISTS (SELECT 1 FROM contacts ct
                  WHERE ct.campaign_id = c.id AND ct.state IN ('pending', 'in_progress'))
  AND NOT EXISTS (SELECT 1 FROM call_attempts a
                  WHERE a.campaign_id = c.id AND a.ended_at IS NULL)
RETURNING c.id
""")


async def recover_stale(
    sessions: async_sessionmaker[AsyncSession],
    provider: TelephonyProvider,
    *,
    now: datetime,
    stale_seconds: float,
    limit: int = 500,
) -> int:
    """Reconcile silent attempts with the provider; close the dead ones. Safe to run anywhere."""
    params = {"now": now, "stale": stale_seconds}
    async with sessions() as session:
        candidates = (await session.execute(_CANDIDATES, {**params, "limit": limit})).all()
    if not candidates:
        return 0
    reports = await asyncio.gather(*(_ask(provider, c.provider_call_id) for c in candidates))
    alive: list[int] = []
    closes: list[AttemptClose] = []
    for candidate, report in zip(candidates, reports, strict=True):
        if report.status is not None and not is_final(report.status):
            alive.append(candidate.id)  # the call is really still going: do not redial
        else:
            closes.append(_close(candidate, report))
    async with sessions() as session, session.begin():
        if alive:
            await session.execute(_TOUCH, {"ids": alive})
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
        finished = list((await session.execute(_FINISH_CAMPAIGNS, {"ids": running})).scalars())
    for campaign_id in finished:
        log.info("Campaign %s completed: every contact reached a final state", campaign_id)
    return finished


async def _ask(provider: TelephonyProvider, provider_call_id: str | None) -> CallReport:
    if provider_call_id is None:
        return CallReport(status=None)
    try:
        return await provider.fetch_call(provider_call_id)
    except Exception as exc:  # an unreachable provider must not stop recovery of the rest
        log.warning("Could not ask the provider about call %s: %s", provider_call_id, exc)
        return CallReport(status=None)


def _close(candidate: Row[Any], report: CallReport) -> AttemptClose:
    status = report.status or AttemptStatus.STALE
    outcome = classify(
        status,
        answered=candidate.answered or bool(report.duration_seconds),
        answered_by=report.answered_by,
        survey_outcome=candidate.outcome,  # a survey that ended keeps its outcome
    )
    return AttemptClose(
        candidate.id,
        status,
        outcome,
        error="no provider news" if report.status is None else None,
        answered_by=report.answered_by,
        duration_seconds=report.duration_seconds,
    )
