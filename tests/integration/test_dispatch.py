"""The dispatch tick against a real PostgreSQL: claims, limits, windows, provider failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.scheduler.dispatch import DispatchLimits
from app.scheduler.recovery import RecoveryPolicy
from app.scheduler.tick import TickContext, run_tick
from app.telephony.base import (
    CallReport,
    CallRequest,
    InboundWebhook,
    InvalidNumberError,
    PlacedCall,
    StatusEvent,
    TelephonyError,
)
from app.telephony.callbacks import CallUrls
from app.telephony.mock import MockProvider
from tests.support.seed import execute, fetch_all, seed_campaign

Sessions = async_sessionmaker[AsyncSession]


def make_ctx(sessions: Sessions, provider: object, **limits: float) -> TickContext:
    return TickContext(
        sessions=sessions,
        provider=provider,  # type: ignore[arg-type]
        limits=DispatchLimits(
            batch_size=int(limits.get("batch_size", 1000)),
            calls_per_second=limits.get("calls_per_second", 0),
            interval_seconds=limits.get("interval_seconds", 1),
            ring_timeout_seconds=30,
        ),
        urls=CallUrls("http://127.0.0.1:8880"),
        recovery=RecoveryPolicy(
            stale_seconds=limits.get("stale_seconds", 900),
            margin_seconds=limits.get("margin_seconds", 300),
        ),
    )


def ledger_lines(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_tick_creates_one_attempt_per_due_contact_after_commit(
    sessions: Sessions, tmp_path: Path
) -> None:
    ledger = tmp_path / "calls.jsonl"
    await seed_campaign(sessions, contacts=3)

    report = await run_tick(make_ctx(sessions, MockProvider(ledger)))

    assert report.dispatched == 3
    contacts = await fetch_all(sessions, "SELECT state, attempts_count FROM contacts")
    assert [tuple(c) for c in contacts] == [("in_progress", 1)] * 3
    attempts = await fetch_all(
        sessions, "SELECT id, attempt_number, provider_call_id, status FROM call_attempts"
    )
    assert {a.attempt_number for a in attempts} == {1}
    assert all(a.provider_call_id and a.status == "queued" for a in attempts)
    placed = ledger_lines(ledger)
    assert sorted(p["attempt_id"] for p in placed) == sorted(a.id for a in attempts)
    assert {p["call_id"] for p in placed} == {a.provider_call_id for a in attempts}


async def test_second_tick_does_not_redial_contacts_with_open_attempts(
    sessions: Sessions, tmp_path: Path
) -> None:
    ledger = tmp_path / "calls.jsonl"
    await seed_campaign(sessions, contacts=2)
    ctx = make_ctx(sessions, MockProvider(ledger))

    await run_tick(ctx)
    second = await run_tick(ctx)

    assert second.dispatched == 0
    assert len(ledger_lines(ledger)) == 2


async def test_concurrency_limit_counts_open_calls(sessions: Sessions) -> None:
    await seed_campaign(sessions, contacts=5, max_concurrent_calls=2)
    ctx = make_ctx(sessions, MockProvider())

    first = await run_tick(ctx)
    second = await run_tick(ctx)

    assert (first.dispatched, second.dispatched) == (2, 0)
    rows = await fetch_all(sessions, "SELECT count(*) FROM call_attempts WHERE ended_at IS NULL")
    assert rows[0][0] == 2


async def test_calls_per_second_caps_one_tick(sessions: Sessions) -> None:
    await seed_campaign(sessions, contacts=10)
    ctx = make_ctx(sessions, MockProvider(), calls_per_second=1, interval_seconds=3)

    report = await run_tick(ctx)

    assert report.dispatched == 3


async def test_paused_and_draft_campaigns_are_not_dispatched(sessions: Sessions) -> None:
    await seed_campaign(sessions, contacts=2, status="paused")
    await seed_campaign(sessions, contacts=2, status="draft", first_number=3_100_000_000)

    report = await run_tick(make_ctx(sessions, MockProvider()))

    assert report.dispatched == 0


def _closed_days(zone: str, now: datetime) -> dict[str, object]:
    """A window open all day on every day except today in `zone`."""
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    today = days[now.astimezone(ZoneInfo(zone)).weekday()]
    return {"start": "00:00", "end": "23:59:59", "days": [d for d in days if d != today]}


async def test_window_is_read_in_the_contacts_own_time_zone(sessions: Sessions) -> None:
    # Kiritimati (UTC+14) and Pago Pago (UTC-11) are always on different calendar days.
    now = datetime.now(UTC)
    window = _closed_days("Pacific/Kiritimati", now)
    campaign_id = await seed_campaign(
        sessions, contacts=2, timezone="Pacific/Kiritimati", call_window=window
    )
    await execute(
        sessions,
        "UPDATE contacts SET timezone = 'Pacific/Pago_Pago' WHERE id = "
        "(SELECT min(id) FROM contacts WHERE campaign_id = :id)",
        id=campaign_id,
    )

    report = await run_tick(make_ctx(sessions, MockProvider()))

    assert report.dispatched == 1
    rows = await fetch_all(sessions, "SELECT timezone FROM contacts WHERE state = 'in_progress'")
    assert [r.timezone for r in rows] == ["Pacific/Pago_Pago"]


async def test_a_multi_zone_number_waits_until_the_window_is_open_in_every_zone(
    sessions: Sessions,
) -> None:
    now = datetime.now(UTC)
    window = _closed_days("Pacific/Kiritimati", now)
    await seed_campaign(sessions, contacts=2, timezone="Pacific/Pago_Pago", call_window=window)
    # Open in Pago Pago, but one number may also be in Kiritimati, where it is closed.
    await execute(
        sessions,
        "UPDATE contacts SET time_zone_candidates = '{Pacific/Pago_Pago,Pacific/Kiritimati}' "
        "WHERE id = (SELECT min(id) FROM contacts)",
    )

    report = await run_tick(make_ctx(sessions, MockProvider()))

    assert report.dispatched == 1
    rows = await fetch_all(
        sessions, "SELECT time_zone_candidates FROM contacts WHERE state = 'pending'"
    )
    assert [r.time_zone_candidates for r in rows] == [["Pacific/Pago_Pago", "Pacific/Kiritimati"]]


async def test_invalid_window_fails_closed(sessions: Sessions) -> None:
    await seed_campaign(sessions, contacts=2, call_window={"start": "20:00", "end": "09:00"})

    report = await run_tick(make_ctx(sessions, MockProvider()))

    assert report.dispatched == 0


async def test_do_not_call_numbers_are_skipped(sessions: Sessions) -> None:
    await seed_campaign(sessions, contacts=2)
    await execute(
        sessions,
        "INSERT INTO do_not_call (phone_number, reason) "
        "SELECT phone_number, 'test' FROM contacts ORDER BY id LIMIT 1",
    )

    report = await run_tick(make_ctx(sessions, MockProvider()))

    assert report.dispatched == 1


async def test_contacts_not_yet_due_wait(sessions: Sessions) -> None:
    await seed_campaign(sessions, contacts=2)
    await execute(sessions, "UPDATE contacts SET next_attempt_at = now() + interval '1 hour'")

    report = await run_tick(make_ctx(sessions, MockProvider()))

    assert report.dispatched == 0


class RefusingProvider(MockProvider):
    """A provider that rejects every call, the way Twilio answers a 4xx."""

    def __init__(self, error: TelephonyError) -> None:
        super().__init__()
        self.error = error

    async def initiate_call(self, request: CallRequest) -> PlacedCall:
        raise self.error


@pytest.mark.parametrize(
    ("error", "max_attempts", "state", "outcome"),
    [
        (TelephonyError("503 from provider"), 3, "pending", "provider_error"),
        (TelephonyError("503 from provider"), 1, "failed", "provider_error"),
        (InvalidNumberError("21211 invalid To"), 3, "failed", "invalid_number"),
    ],
)
async def test_provider_refusal_closes_attempt_and_moves_contact_on(
    sessions: Sessions, error: TelephonyError, max_attempts: int, state: str, outcome: str
) -> None:
    await seed_campaign(sessions, contacts=1, max_attempts=max_attempts, retry_after_minutes=[30])

    await run_tick(make_ctx(sessions, RefusingProvider(error)))

    attempt = (
        await fetch_all(sessions, "SELECT status, outcome, ended_at, error FROM call_attempts")
    )[0]
    assert (attempt.status, attempt.outcome) == ("error", outcome)
    assert attempt.ended_at is not None and str(error) in attempt.error
    contact = (
        await fetch_all(
            sessions,
            "SELECT state, attempts_count, next_attempt_at - now() AS wait FROM contacts",
        )
    )[0]
    assert (contact.state, contact.attempts_count) == (state, 1)
    if state == "pending":
        assert timedelta(minutes=29) < contact.wait <= timedelta(minutes=30)


class ExplodingProvider(MockProvider):
    """The provider's answer is lost (timeout): the call may or may not exist."""

    async def initiate_call(self, request: CallRequest) -> PlacedCall:
        raise TimeoutError("read timed out")

    def parse_status_event(self, webhook: InboundWebhook) -> StatusEvent | None:
        return None

    async def fetch_call(self, provider_call_id: str | None) -> CallReport:
        return CallReport(status=None)


async def test_unknown_provider_outcome_leaves_attempt_open_for_reconciliation(
    sessions: Sessions,
) -> None:
    await seed_campaign(sessions, contacts=1)

    await run_tick(make_ctx(sessions, ExplodingProvider()))
    again = await run_tick(make_ctx(sessions, MockProvider()))

    attempts = await fetch_all(sessions, "SELECT status, ended_at FROM call_attempts")
    assert [(a.status, a.ended_at) for a in attempts] == [("dispatching", None)]
    assert again.dispatched == 0


async def test_finished_campaign_is_completed(sessions: Sessions) -> None:
    campaign_id = await seed_campaign(sessions, contacts=1)
    await execute(sessions, "UPDATE contacts SET state = 'refused'")

    report = await run_tick(make_ctx(sessions, MockProvider()))

    assert report.finished == 1
    rows = await fetch_all(
        sessions, "SELECT status, finished_at FROM campaigns WHERE id = :id", id=campaign_id
    )
    assert rows[0].status == "completed" and rows[0].finished_at is not None
