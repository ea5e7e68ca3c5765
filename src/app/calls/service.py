"""Closing attempts and moving their contacts on: set-based, conditional, safe to repeat."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import AttemptStatus, Outcome
from app.calls.policy import ContactStep, RetryPlan, plan_step
from app.campaigns.models import ContactState
from app.db.base import sql_literal
from app.metrics import count_outcomes_on_commit
from app.telephony.base import Answerer

PENDING = sql_literal(ContactState.PENDING)
IN_PROGRESS = sql_literal(ContactState.IN_PROGRESS)
DISPATCHING = sql_literal(AttemptStatus.DISPATCHING)
QUEUED = sql_literal(AttemptStatus.QUEUED)


@dataclass(frozen=True)
class AttemptClose:
    attempt_id: int
    status: AttemptStatus
    outcome: Outcome
    error: str | None = None
    answered_by: Answerer | None = None
    duration_seconds: int | None = None


_CLOSE_ATTEMPTS = text("""
WITH input AS (
    SELECT * FROM unnest(
        CAST(:ids AS bigint[]), CAST(:statuses AS text[]), CAST(:outcomes AS text[]),
        CAST(:errors AS text[]), CAST(:answered_by AS text[]), CAST(:durations AS int[])
    ) AS t(id, status, outcome, error, answered_by, duration)
), closed AS (
    UPDATE call_attempts a
    SET ended_at = greatest(now(), a.started_at, a.answered_at),
        answered_at = CASE
            WHEN a.answered_at IS NULL AND i.duration > 0
            THEN greatest(a.started_at, now() - make_interval(secs => i.duration))
            ELSE a.answered_at END,
        status = i.status,
        outcome = i.outcome,
        error = coalesce(i.error, a.error),
        answered_by = coalesce(i.answered_by, a.answered_by),
        duration_seconds = coalesce(i.duration, a.duration_seconds),
        last_event_at = now()
    FROM input i
    WHERE a.id = i.id AND a.ended_at IS NULL
    RETURNING a.id, a.contact_id, a.campaign_id, a.attempt_number, a.outcome, a.callback_at
)
SELECT c.contact_id, c.attempt_number, c.outcome, c.callback_at, cp.max_attempts,
       cp.retry_after_minutes, cp.retry_rules, cp.resume_partials, ct.appointments_count
FROM closed c
JOIN campaigns cp ON cp.id = c.campaign_id
JOIN contacts ct ON ct.id = c.contact_id
""")

# An appointment is kept at its time (never in the past) and dialled before anyone else;
# `appointments_count` counts every one made, kept or not, since each earns an attempt.
_MOVE_CONTACTS = text(f"""
UPDATE contacts ct
SET state = s.state,
    next_attempt_at = CASE
        WHEN s.state <> {PENDING} THEN ct.next_attempt_at
        WHEN s.appointment_at IS NOT NULL THEN greatest(s.appointment_at, now())
        ELSE now() + make_interval(mins => s.mins) END,
    dial_rank = CASE WHEN s.state = {PENDING} AND s.appointment_at IS NOT NULL THEN 0 ELSE 1 END,
    appointment_at = CASE WHEN s.state = {PENDING} THEN s.appointment_at END,
    appointments_count = ct.appointments_count + s.appointment_made,
    last_outcome = s.outcome,
    updated_at = now()
FROM unnest(
    CAST(:contact_ids AS bigint[]), CAST(:attempt_numbers AS int[]), CAST(:states AS text[]),
    CAST(:mins AS int[]), CAST(:outcomes AS text[]), CAST(:appointments AS timestamptz[]),
    CAST(:made AS int[])
) AS s(contact_id, attempt_number, state, mins, outcome, appointment_at, appointment_made)
WHERE ct.id = s.contact_id AND ct.state = {IN_PROGRESS}
  AND ct.attempts_count = s.attempt_number
""")


async def close_attempts(session: AsyncSession, closes: Sequence[AttemptClose]) -> int:
    """End open attempts and requeue or finalise their contacts; returns how many closed.

    Attempts already ended are left alone, and a contact only moves if it is still
    `in_progress` on that very attempt, so running this twice, or from two processes, is safe.
    """
    if not closes:
        return 0
    rows = (
        await session.execute(
            _CLOSE_ATTEMPTS,
            {
                "ids": [c.attempt_id for c in closes],
                "statuses": [c.status.value for c in closes],
                "outcomes": [c.outcome.value for c in closes],
                "errors": [c.error for c in closes],
                "answered_by": [c.answered_by and c.answered_by.value for c in closes],
                "durations": [c.duration_seconds for c in closes],
            },
        )
    ).all()
    count_outcomes_on_commit(session, (row.outcome for row in rows))
    steps = [_step(row) for row in rows]
    if steps:
        await session.execute(
            _MOVE_CONTACTS,
            {
                "contact_ids": [row.contact_id for row in rows],
                "attempt_numbers": [row.attempt_number for row in rows],
                "states": [s.state.value for s in steps],
                "mins": [s.retry_in_minutes or 0 for s in steps],
                "outcomes": [row.outcome for row in rows],
                "appointments": [
                    row.callback_at if s.appointment else None
                    for row, s in zip(rows, steps, strict=True)
                ],
                "made": [int(_made_appointment(row)) for row in rows],
            },
        )
    return len(rows)


def _made_appointment(row: Row[Any]) -> bool:
    return row.outcome == Outcome.CALLBACK_REQUESTED.value and row.callback_at is not None


def _step(row: Row[Any]) -> ContactStep:
    plan = RetryPlan(
        max_attempts=row.max_attempts,
        retry_after_minutes=row.retry_after_minutes,
        retry_rules=row.retry_rules,
        resume_partials=row.resume_partials,
    )
    outcome = Outcome(row.outcome)
    if outcome is Outcome.CALLBACK_REQUESTED and row.callback_at is None:
        outcome = Outcome.HANGUP  # an appointment without a time is an ordinary retry
    appointments = row.appointments_count + int(_made_appointment(row))
    return plan_step(plan, outcome, attempt_number=row.attempt_number, appointments=appointments)


_RECORD_PROVIDER_IDS = text(f"""
UPDATE call_attempts a
SET provider_call_id = v.call_id,
    status = CASE WHEN a.status = {DISPATCHING} THEN {QUEUED} ELSE a.status END,
    last_event_at = now()
FROM unnest(CAST(:ids AS bigint[]), CAST(:call_ids AS text[])) AS v(id, call_id)
WHERE a.id = v.id AND a.provider_call_id IS NULL
""")


async def record_provider_ids(session: AsyncSession, placed: Sequence[tuple[int, str]]) -> None:
    """Save the provider's call ids; an id a callback already adopted is kept."""
    if placed:
        await session.execute(
            _RECORD_PROVIDER_IDS,
            {"ids": [p[0] for p in placed], "call_ids": [p[1] for p in placed]},
        )
