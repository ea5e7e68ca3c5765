"""Recovery of silent attempts: reconcile with the provider first, never redial a live call."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.scheduler.recovery import recover_stale
from app.scheduler.tick import db_now, run_tick
from app.telephony.base import CallReport
from app.telephony.mock import MockProvider
from tests.integration.test_dispatch import make_ctx
from tests.support.seed import execute, fetch_all, seed_campaign

Sessions = async_sessionmaker[AsyncSession]


class ReportingProvider(MockProvider):
    """Answers `fetch_call` with a fixed report, as Twilio's Calls API would."""

    def __init__(self, report: CallReport) -> None:
        super().__init__()
        self.report = report
        self.asked: list[str | None] = []

    async def fetch_call(self, provider_call_id: str | None) -> CallReport:
        self.asked.append(provider_call_id)
        return self.report


async def go_silent(sessions: Sessions, minutes: int = 60) -> None:
    await execute(
        sessions,
        "UPDATE call_attempts SET started_at = started_at - make_interval(mins => :m), "
        "last_event_at = last_event_at - make_interval(mins => :m)",
        m=minutes,
    )


async def recover(sessions: Sessions, provider: MockProvider, stale_seconds: float = 900) -> int:
    now: datetime = await db_now(sessions)
    return await recover_stale(sessions, provider, now=now, stale_seconds=stale_seconds)


async def test_silent_attempt_is_closed_and_contact_requeued(sessions: Sessions) -> None:
    await seed_campaign(sessions, contacts=1, max_attempts=3, retry_after_minutes=[0])
    await run_tick(make_ctx(sessions, MockProvider()))
    await go_silent(sessions)

    report = await run_tick(make_ctx(sessions, MockProvider()))
    # Requeued at the database's now(), after this tick's instant: due from the next tick on.
    following = await run_tick(make_ctx(sessions, MockProvider()))

    assert (report.recovered, following.dispatched) == (1, 1)
    attempts = await fetch_all(
        sessions, "SELECT attempt_number, status, outcome, ended_at FROM call_attempts ORDER BY 1"
    )
    assert [(a.attempt_number, a.status, a.outcome) for a in attempts] == [
        (1, "stale", "stale"),
        (2, "queued", None),
    ]
    contact = (await fetch_all(sessions, "SELECT state, attempts_count FROM contacts"))[0]
    assert tuple(contact) == ("in_progress", 2)


async def test_silent_last_attempt_finalises_contact(sessions: Sessions) -> None:
    await seed_campaign(sessions, contacts=1, max_attempts=1)
    await run_tick(make_ctx(sessions, MockProvider()))
    await go_silent(sessions)

    report = await run_tick(make_ctx(sessions, MockProvider()))

    assert (report.recovered, report.dispatched, report.finished) == (1, 0, 1)
    contact = (await fetch_all(sessions, "SELECT state, attempts_count FROM contacts"))[0]
    assert tuple(contact) == ("not_reached", 1)


async def test_call_the_provider_says_is_live_is_not_touched(sessions: Sessions) -> None:
    await seed_campaign(sessions, contacts=1)
    await run_tick(make_ctx(sessions, MockProvider()))
    await go_silent(sessions)
    provider = ReportingProvider(CallReport(status="in-progress"))

    assert await recover(sessions, provider) == 0

    attempt = (await fetch_all(sessions, "SELECT * FROM call_attempts"))[0]
    assert attempt.ended_at is None and provider.asked == [attempt.provider_call_id]
    assert (await recover(sessions, provider)) == 0  # touched: no longer stale
    assert len(provider.asked) == 1


@pytest.mark.parametrize(
    ("report", "outcome", "state"),
    [
        (CallReport(status="completed", duration_seconds=20), "hangup", "pending"),
        (CallReport(status="busy"), "busy", "pending"),
        (CallReport(status="completed", answered_by="machine_start"), "machine", "pending"),
    ],
)
async def test_call_the_provider_says_ended_is_closed_with_its_real_status(
    sessions: Sessions, report: CallReport, outcome: str, state: str
) -> None:
    await seed_campaign(sessions, contacts=1, max_attempts=3)
    await run_tick(make_ctx(sessions, MockProvider()))
    await go_silent(sessions)

    assert await recover(sessions, ReportingProvider(report)) == 1

    attempt = (await fetch_all(sessions, "SELECT status, outcome FROM call_attempts"))[0]
    assert (attempt.status, attempt.outcome) == (report.status, outcome)
    assert (await fetch_all(sessions, "SELECT state FROM contacts"))[0].state == state


async def test_recovery_running_twice_at_once_closes_each_attempt_once(
    sessions: Sessions,
) -> None:
    await seed_campaign(sessions, contacts=20, max_attempts=3)
    await run_tick(make_ctx(sessions, MockProvider()))
    await go_silent(sessions)

    closed = await asyncio.gather(*(recover(sessions, MockProvider()) for _ in range(3)))

    assert sum(closed) == 20
    rows = await fetch_all(
        sessions,
        "SELECT count(*) FILTER (WHERE state = 'pending') AS pending, "
        "count(*) FILTER (WHERE attempts_count = 1) AS one FROM contacts",
    )
    assert tuple(rows[0]) == (20, 20)


async def test_fresh_attempts_are_not_stale(sessions: Sessions) -> None:
    await seed_campaign(sessions, contacts=2)
    await run_tick(make_ctx(sessions, MockProvider()))

    assert await recover(sessions, MockProvider(), stale_seconds=600) == 0
