"""Apply provider status callbacks: stored raw, applied once, never moving an attempt backwards."""

from __future__ import annotations

import json
import logging
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import AttemptStatus, CallAttempt, TelephonyEvent
from app.calls.policy import classify
from app.calls.service import AttemptClose, close_attempts
from app.calls.statuses import attempt_status, rank
from app.calls.voice import end_dialogue_on_hangup
from app.telephony.base import Answerer, StatusEvent

log = logging.getLogger(__name__)


class EventResult(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"  # valid, but behind what we already know
    UNKNOWN_CALL = "unknown_call"


async def apply_status_event(
    session: AsyncSession, event: StatusEvent, *, provider: str
) -> EventResult:
    """Log the event and move its attempt forward; the caller commits."""
    attempt = await _locked_attempt(session, event)
    if not await _store(session, event, provider, attempt.id if attempt else None):
        return EventResult.DUPLICATE
    if attempt is None:
        # %r: the id comes from the request, and must not be able to start a line of its own.
        log.warning("Status event for an unknown call %r ignored", event.provider_call_id)
        return EventResult.UNKNOWN_CALL
    if event.provider_call_id and attempt.provider_call_id not in (None, event.provider_call_id):
        log.warning("Status event call id does not match attempt %s; ignored", attempt.id)
        return EventResult.IGNORED
    return await _advance(session, attempt, event)


async def _locked_attempt(session: AsyncSession, event: StatusEvent) -> CallAttempt | None:
    query = select(CallAttempt).with_for_update()
    if event.attempt_id is not None:
        query = query.where(CallAttempt.id == event.attempt_id)
    elif event.provider_call_id is not None:
        query = query.where(CallAttempt.provider_call_id == event.provider_call_id)
    else:
        return None
    return (await session.execute(query)).scalar_one_or_none()


async def _store(
    session: AsyncSession, event: StatusEvent, provider: str, attempt_id: int | None
) -> bool:
    """Append the raw event; False when this exact callback was already received."""
    call = event.provider_call_id or f"attempt-{event.attempt_id}"
    key = f"{provider}:{call}:{event.status}:{event.sequence_number}"
    inserted = await session.execute(
        insert(TelephonyEvent)
        .values(
            call_attempt_id=attempt_id,
            provider=provider,
            provider_call_id=event.provider_call_id,
            kind="status",
            status=event.status,
            sequence_number=event.sequence_number,
            dedupe_key=key,
            payload=json.loads(json.dumps(dict(event.raw), default=str)),
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(TelephonyEvent.id)
    )
    return inserted.scalar_one_or_none() is not None


async def _advance(session: AsyncSession, attempt: CallAttempt, event: StatusEvent) -> EventResult:
    if attempt.provider_call_id is None and event.provider_call_id:
        # The dispatcher died between placing the call and saving its id: adopt it.
        attempt.provider_call_id = event.provider_call_id
    await _touch(session, attempt, event)
    status = attempt_status(event.status)
    if attempt.ended_at is not None or rank(status) <= rank(attempt.status):
        await session.flush()
        return EventResult.IGNORED
    if event.status.is_final:
        await end_dialogue_on_hangup(session, attempt)
        await session.flush()
        await close_attempts(session, [_close_for(attempt, event)])
        return EventResult.APPLIED
    attempt.status = status
    if status is AttemptStatus.IN_PROGRESS and attempt.answered_at is None:
        attempt.answered_at = func.now()  # the database clock, set by the UPDATE itself
    if event.answered_by:
        attempt.answered_by = event.answered_by.value
    await session.flush()
    return EventResult.APPLIED


async def _touch(session: AsyncSession, attempt: CallAttempt, event: StatusEvent) -> None:
    attempt.last_event_at = func.now()
    if event.sequence_number is not None:
        attempt.last_sequence_number = max(attempt.last_sequence_number or 0, event.sequence_number)


def _close_for(attempt: CallAttempt, event: StatusEvent) -> AttemptClose:
    answered_by = event.answered_by or _known(attempt.answered_by)
    answered = attempt.answered_at is not None or bool(event.duration_seconds)
    status = attempt_status(event.status)
    outcome = classify(
        status,
        answered=answered,
        answered_by=answered_by,
        invalid_number=event.invalid_number,
        survey_outcome=attempt.outcome,
    )
    return AttemptClose(
        attempt_id=attempt.id,
        status=status,
        outcome=outcome,
        error=event.error,
        answered_by=answered_by,
        duration_seconds=event.duration_seconds,
    )


def _known(answered_by: str | None) -> Answerer | None:
    """What AMD said earlier, as stored on the attempt (older rows may hold another word)."""
    try:
        return Answerer(answered_by) if answered_by else None
    except ValueError:
        return None
