"""Status callbacks through POST /webhooks/telephony/events: idempotent and order-tolerant."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.scheduler.dispatch import DispatchLimits
from app.scheduler.recovery import RecoveryPolicy
from app.scheduler.tick import TickContext, run_tick
from app.telephony.callbacks import CallUrls
from app.telephony.mock import MockProvider
from tests.support.seed import execute, fetch_all, seed_campaign

Sessions = async_sessionmaker[AsyncSession]
EVENTS = "/webhooks/telephony/events"


async def dispatch_one(sessions: Sessions, **campaign: Any) -> Any:
    """Seed one contact, run a tick, return its attempt row."""
    await seed_campaign(sessions, contacts=1, **campaign)
    ctx = TickContext(
        sessions=sessions,
        provider=MockProvider(),
        limits=DispatchLimits(
            batch_size=100, calls_per_second=0, interval_seconds=1, ring_timeout_seconds=30
        ),
        urls=CallUrls("http://127.0.0.1:8880"),
        recovery=RecoveryPolicy(stale_seconds=900, margin_seconds=300),
    )
    await run_tick(ctx)
    return (await fetch_all(sessions, "SELECT * FROM call_attempts"))[0]


async def post(client: httpx.AsyncClient, attempt: Any, status: str, **extra: Any) -> int:
    body = {"provider_call_id": attempt.provider_call_id, "status": status, **extra}
    response = await client.post(f"{EVENTS}?attempt_id={attempt.id}", json=body)
    return response.status_code


async def attempt_and_contact(sessions: Sessions) -> tuple[Any, Any]:
    attempt = (await fetch_all(sessions, "SELECT * FROM call_attempts"))[0]
    contact = (await fetch_all(sessions, "SELECT * FROM contacts"))[0]
    return attempt, contact


async def test_empty_post_answers_204_and_writes_nothing(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    response = await client.post(EVENTS)

    assert response.status_code == 204
    assert (await fetch_all(sessions, "SELECT count(*) FROM telephony_events"))[0][0] == 0


async def test_answered_call_sets_times_and_requeues_contact(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    attempt = await dispatch_one(sessions, retry_after_minutes=[60])

    for seq, status in enumerate(["initiated", "ringing", "in-progress"]):
        assert await post(client, attempt, status, sequence_number=seq) == 204
    assert await post(client, attempt, "completed", sequence_number=3, duration=42) == 204

    attempt, contact = await attempt_and_contact(sessions)
    assert attempt.status == "completed" and attempt.outcome == "hangup"
    assert attempt.started_at <= attempt.answered_at <= attempt.ended_at
    assert attempt.duration_seconds == 42 and attempt.last_sequence_number == 3
    assert (contact.state, contact.attempts_count, contact.last_outcome) == ("pending", 1, "hangup")


@pytest.mark.parametrize(
    ("status", "extra", "max_attempts", "state", "outcome"),
    [
        ("no-answer", {}, 3, "pending", "no_answer"),
        ("no-answer", {}, 1, "not_reached", "no_answer"),
        ("busy", {}, 2, "pending", "busy"),
        ("failed", {"invalid_number": True}, 3, "failed", "invalid_number"),
        ("completed", {"answered_by": "machine", "duration": 5}, 3, "pending", "machine"),
        ("completed", {"answered_by": "fax", "duration": 5}, 3, "failed", "fax"),
    ],
)
async def test_final_status_decides_contact(
    client: httpx.AsyncClient,
    sessions: Sessions,
    status: str,
    extra: dict[str, Any],
    max_attempts: int,
    state: str,
    outcome: str,
) -> None:
    attempt = await dispatch_one(sessions, max_attempts=max_attempts)

    assert await post(client, attempt, status, **extra) == 204

    attempt, contact = await attempt_and_contact(sessions)
    assert (attempt.status, attempt.outcome) == (status, outcome)
    assert attempt.ended_at is not None
    assert contact.state == state


async def test_duplicate_callback_is_stored_once_and_applied_once(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    attempt = await dispatch_one(sessions, max_attempts=3)
    await post(client, attempt, "no-answer", sequence_number=2)
    first_attempt, first_contact = await attempt_and_contact(sessions)

    assert await post(client, attempt, "no-answer", sequence_number=2) == 204

    again_attempt, again_contact = await attempt_and_contact(sessions)
    assert again_attempt.ended_at == first_attempt.ended_at
    assert again_contact.next_attempt_at == first_contact.next_attempt_at
    events = await fetch_all(sessions, "SELECT count(*) FROM telephony_events")
    assert events[0][0] == 1


async def test_late_ringing_after_completed_changes_nothing(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    attempt = await dispatch_one(sessions)
    await post(client, attempt, "in-progress", sequence_number=2)
    await post(client, attempt, "completed", sequence_number=3, duration=10)
    before, contact_before = await attempt_and_contact(sessions)

    assert await post(client, attempt, "ringing", sequence_number=1) == 204
    assert await post(client, attempt, "in-progress", sequence_number=2) == 204

    after, contact_after = await attempt_and_contact(sessions)
    assert (after.status, after.ended_at, after.answered_at) == (
        "completed",
        before.ended_at,
        before.answered_at,
    )
    assert contact_after.state == contact_before.state
    assert (await fetch_all(sessions, "SELECT count(*) FROM telephony_events"))[0][0] == 3


async def test_completed_before_answered_still_gives_consistent_times(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    attempt = await dispatch_one(sessions)

    await post(client, attempt, "completed", sequence_number=3, duration=30)
    await post(client, attempt, "in-progress", sequence_number=2)

    attempt, _ = await attempt_and_contact(sessions)
    assert attempt.answered_at is not None
    assert attempt.started_at <= attempt.answered_at <= attempt.ended_at


async def test_callback_adopts_call_whose_id_was_never_saved(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    attempt = await dispatch_one(sessions)
    await execute(
        sessions, "UPDATE call_attempts SET provider_call_id = NULL, status = 'dispatching'"
    )

    response = await client.post(
        f"{EVENTS}?attempt_id={attempt.id}",
        json={"provider_call_id": "MK" + "1" * 32, "status": "ringing", "sequence_number": 1},
    )

    assert response.status_code == 204
    adopted, _ = await attempt_and_contact(sessions)
    assert (adopted.provider_call_id, adopted.status) == ("MK" + "1" * 32, "ringing")


async def test_callback_for_unknown_call_is_logged_not_applied(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    response = await client.post(EVENTS, json={"provider_call_id": "MKnope", "status": "ringing"})

    assert response.status_code == 204
    rows = await fetch_all(sessions, "SELECT call_attempt_id, status FROM telephony_events")
    assert [tuple(r) for r in rows] == [(None, "ringing")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"provider_call_id": "MK1"}, "status"),
        ({"provider_call_id": "MK1", "status": "exploded"}, "status"),
        (
            {"provider_call_id": "MK1", "status": "ringing", "sequence_number": "x"},
            "sequence_number",
        ),
    ],
)
async def test_malformed_callback_is_422_naming_the_field(
    client: httpx.AsyncClient, sessions: Sessions, body: dict[str, Any], field: str
) -> None:
    response = await client.post(EVENTS, json=body)

    assert response.status_code == 422
    assert field in response.json()["detail"]
    assert (await fetch_all(sessions, "SELECT count(*) FROM telephony_events"))[0][0] == 0
