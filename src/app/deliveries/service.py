"""The outbox's queries: claim due deliveries under a lease, read their interviews, record what
the receiver answered, sum a campaign's deliveries up. Set-based: one statement per batch.

The rows themselves are written by triggers (migration 0006) in the transaction that makes an
interview final; nothing here inserts one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns.errors import NotFound
from app.campaigns.models import ContactState
from app.config import Settings
from app.db.base import sql_literal
from app.deliveries.payload import AttemptResult, build_payload, encode
from app.deliveries.schemas import DeliverySummary
from app.logs import one_line
from app.reports.export import ResponseLayout
from app.reports.service import ANSWERED_COUNT_SQL, survey_questions

IN_PROGRESS = sql_literal(ContactState.IN_PROGRESS)
# Due rows looked at per claim: enough to find other campaigns' rows behind one campaign's.
CLAIM_SCAN = 200
NO_SECRET = (
    "RESULTS_WEBHOOK_SECRET is not set: results wait in the outbox, unsent, until it is "
    "(nothing unsigned is ever sent)"
)


@dataclass(frozen=True)
class Claimed:
    """A delivery leased to this deliverer: `attempt` is the number of this send."""

    id: int
    campaign_id: int
    contact_id: int
    attempt: int


@dataclass(frozen=True)
class Job:
    """A claimed delivery with its body built: what one POST needs."""

    claimed: Claimed
    url: str | None  # None: the campaign's URL is gone (cannot happen through the API)
    body: bytes
    error: str | None = None  # the body could not be built: a failed attempt, not a send


@dataclass(frozen=True)
class Failure:
    id: int
    error: str
    retry_in_seconds: float


# Due rows, oldest due first, skipping rows another deliverer holds and campaigns already at
# their share of the sends in flight, then at most `per_campaign` (minus those in flight) of
# each campaign: a receiver that hangs holds its campaign's share, never every slot. A contact
# still in a call (its campaign was cancelled meanwhile) is sent once the call has ended.
# The lease (next_attempt_at moved past the send's time bound) is committed before the send:
# a deliverer killed mid-send leaves the row to be sent again once the lease is over.
_CLAIM = text(f"""
WITH due AS (
    SELECT d.id, d.campaign_id, d.next_attempt_at
    FROM result_deliveries d
    WHERE d.delivered_at IS NULL AND d.next_attempt_at <= now()
      AND d.campaign_id <> ALL(CAST(:full AS bigint[]))
      AND NOT EXISTS (SELECT 1 FROM contacts ct
                      WHERE ct.id = d.contact_id AND ct.state = {IN_PROGRESS})
    ORDER BY d.next_attempt_at, d.id
    LIMIT :scan
    FOR UPDATE OF d SKIP LOCKED
), ranked AS (
    SELECT due.id, due.next_attempt_at,
           coalesce(b.busy, 0) + row_number() OVER (
               PARTITION BY due.campaign_id ORDER BY due.next_attempt_at, due.id) AS slot
    FROM due
    LEFT JOIN unnest(CAST(:busy_campaigns AS bigint[]), CAST(:busy_counts AS int[]))
        AS b(campaign_id, busy) ON b.campaign_id = due.campaign_id
), picked AS (
    SELECT id FROM ranked WHERE slot <= :per_campaign ORDER BY next_attempt_at, id LIMIT :free
)
UPDATE result_deliveries d
SET attempts = d.attempts + 1, last_attempt_at = now(),
    next_attempt_at = now() + make_interval(secs => CAST(:lease AS float8))
FROM picked
WHERE d.id = picked.id
RETURNING d.id, d.campaign_id, d.contact_id, d.attempts
""")

# The interview as it is now: an erasure since the row was written shows here.
_INTERVIEWS = text("""
SELECT d.id, d.campaign_id, d.contact_id, d.created_at AS final_at,
       cp.name AS campaign_name, cp.status AS campaign_status, cp.results_webhook_url AS url,
       ct.external_id, ct.phone_number, ct.state, ct.last_outcome, ct.attempts_count,
       ct.language AS contact_language, ct.erased_at,
       r.id AS response_id, r.answers, r.completed, r.language, r.screened_out_by,
       r.resumed_from_id, a.attempt_number, a.started_at, a.answered_at, a.ended_at, a.outcome,
       a.callback_at
FROM result_deliveries d
JOIN campaigns cp ON cp.id = d.campaign_id
JOIN contacts ct ON ct.id = d.contact_id
-- The interview's response: its latest call's, which carries every answer of a resumed one.
LEFT JOIN LATERAL (
    SELECT * FROM survey_responses sr
    WHERE sr.contact_id = ct.id AND NOT sr.superseded
    ORDER BY sr.id DESC
    LIMIT 1
) r ON true
LEFT JOIN call_attempts a ON a.id = r.call_attempt_id
WHERE d.id = ANY(CAST(:ids AS bigint[]))
""")

_ATTEMPTS = text(f"""
SELECT a.contact_id, a.outcome,
       CASE WHEN r.id IS NOT NULL THEN {ANSWERED_COUNT_SQL} END AS answered
FROM call_attempts a
LEFT JOIN survey_responses r ON r.call_attempt_id = a.id
WHERE a.contact_id = ANY(CAST(:contact_ids AS bigint[])) AND a.outcome IS NOT NULL
""")

# Conditional: a row another deliverer delivered meanwhile (after this one's lease ran out)
# keeps its first delivery time and is never turned back into a failure.
_DELIVERED = text("""
UPDATE result_deliveries SET delivered_at = now()
WHERE id = ANY(CAST(:ids AS bigint[])) AND delivered_at IS NULL
RETURNING id
""")

_FAILED = text("""
UPDATE result_deliveries d
SET next_attempt_at = now() + make_interval(secs => f.delay),
    last_error = f.error, last_error_at = now()
FROM unnest(CAST(:ids AS bigint[]), CAST(:errors AS text[]), CAST(:delays AS float8[]))
    AS f(id, error, delay)
WHERE d.id = f.id AND d.delivered_at IS NULL
""")

_PENDING = text("SELECT count(*) FROM result_deliveries WHERE delivered_at IS NULL")

_CAMPAIGN_URL = text("SELECT results_webhook_url FROM campaigns WHERE id = :campaign_id")

# Reads the campaign's entries of ix_result_deliveries_campaign only.
_COUNTS = text("""
SELECT count(*) FILTER (WHERE delivered_at IS NOT NULL) AS delivered,
       count(*) FILTER (WHERE delivered_at IS NULL) AS undelivered,
       max(delivered_at) AS last_delivered_at
FROM result_deliveries WHERE campaign_id = :campaign_id
""")

# Failing rows, and the most recent error: ix_result_deliveries_errors holds only rows that
# ever failed, so this stays small while a receiver is healthy.
_ERRORS = text("""
SELECT count(*) FILTER (WHERE delivered_at IS NULL) AS failing,
       (array_agg(last_error ORDER BY last_error_at DESC, id DESC))[1] AS last_error,
       max(last_error_at) AS last_error_at
FROM result_deliveries
WHERE campaign_id = :campaign_id AND last_error_at IS NOT NULL
""")


async def claim_due(
    session: AsyncSession,
    *,
    free: int,
    per_campaign: int,
    busy: Mapping[int, int],
    lease_seconds: float,
) -> list[Claimed]:
    """Lease up to `free` due deliveries, at most `per_campaign` in flight per campaign counting
    `busy` (sends of this deliverer in flight, per campaign). The caller commits before sending."""
    if free <= 0:
        return []
    full = [campaign for campaign, count in busy.items() if count >= per_campaign]
    params = {
        "free": free,
        "per_campaign": per_campaign,
        "full": full,
        "busy_campaigns": list(busy),
        "busy_counts": list(busy.values()),
        "lease": lease_seconds,
        "scan": CLAIM_SCAN,
    }
    rows = (await session.execute(_CLAIM, params)).all()
    return sorted(
        (Claimed(r.id, r.campaign_id, r.contact_id, r.attempts) for r in rows), key=lambda c: c.id
    )


async def load_jobs(session: AsyncSession, claimed: Sequence[Claimed]) -> list[Job]:
    """Build each claimed delivery's body from the current data, in three queries (and one per
    campaign for its questions)."""
    if not claimed:
        return []
    rows = (await session.execute(_INTERVIEWS, {"ids": [c.id for c in claimed]})).mappings().all()
    by_id = {row["id"]: row for row in rows}
    attempts = await _attempts(session, [c.contact_id for c in claimed])
    layouts: dict[int, ResponseLayout] = {}
    jobs = []
    for item in claimed:
        row = by_id.get(item.id)
        if row is None:
            continue  # its campaign or contact was deleted since the claim: nothing to send
        if item.campaign_id not in layouts:
            questions = await survey_questions(session=session, campaign_id=item.campaign_id)
            layouts[item.campaign_id] = ResponseLayout.build(questions)
        jobs.append(_job(item, row, layouts[item.campaign_id], attempts.get(item.contact_id, ())))
    return jobs


def _job(item: Claimed, row: Any, layout: ResponseLayout, attempts: Sequence[AttemptResult]) -> Job:
    try:
        body = encode(build_payload(row, layout=layout, attempts=attempts))
    except Exception as exc:  # data no body can be made of must not hold up every other row
        return Job(item, row["url"], b"", f"cannot build the body: {one_line(exc)}")
    return Job(item, row["url"], body)


async def _attempts(
    session: AsyncSession, contact_ids: Sequence[int]
) -> dict[int, list[AttemptResult]]:
    found: dict[int, list[AttemptResult]] = {}
    rows = await session.execute(_ATTEMPTS, {"contact_ids": list(contact_ids)})
    for contact_id, outcome, answered in rows:
        found.setdefault(contact_id, []).append((outcome, answered))
    return found


async def record_results(
    session: AsyncSession, *, delivered: Sequence[int], failed: Sequence[Failure]
) -> int:
    """Mark the delivered rows and reschedule the failed ones; the caller commits. Returns how
    many interviews were delivered for the first time (a duplicate's second 2xx is not)."""
    first_time = 0
    if delivered:
        marked = await session.execute(_DELIVERED, {"ids": list(delivered)})
        first_time = len(marked.all())
    if failed:
        await session.execute(
            _FAILED,
            {
                "ids": [f.id for f in failed],
                "errors": [f.error for f in failed],
                "delays": [f.retry_in_seconds for f in failed],
            },
        )
    return first_time


async def count_pending(session: AsyncSession) -> int:
    """Deliveries not made yet, in every campaign (the partial index of the claim)."""
    count: int = (await session.execute(_PENDING)).scalar_one()
    return count


async def delivery_summary(session: AsyncSession, campaign_id: int) -> DeliverySummary:
    """The campaign's deliveries: pending, failing, delivered, the latest error and the time of
    the last delivery. NotFound for an unknown campaign."""
    found = (await session.execute(_CAMPAIGN_URL, {"campaign_id": campaign_id})).one_or_none()
    if found is None:
        raise NotFound(f"campaign {campaign_id} not found")
    params = {"campaign_id": campaign_id}
    counts = (await session.execute(_COUNTS, params)).one()
    errors = (await session.execute(_ERRORS, params)).one()
    return DeliverySummary(
        campaign_id=campaign_id,
        results_webhook_url=found.results_webhook_url,
        pending=counts.undelivered - errors.failing,
        failing=errors.failing,
        delivered=counts.delivered,
        last_error=errors.last_error,
        last_error_at=errors.last_error_at,
        last_delivered_at=counts.last_delivered_at,
    )


def held_reason(settings: Settings) -> str | None:
    """Why nothing is sent at all, if something stops it: no signing secret."""
    return NO_SECRET if settings.results_webhook_secret is None else None


def explained(summary: DeliverySummary, settings: Settings) -> DeliverySummary:
    """The summary with `held` set when the service sends nothing (the router's answer)."""
    reason = held_reason(settings)
    if reason is None or summary.results_webhook_url is None:
        return summary
    return summary.model_copy(update={"held": reason})
