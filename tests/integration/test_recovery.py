"""Recovery of silent attempts: the provider's word decides; doubt never redials a live call."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.metrics import RECOVERY_UNCONFIRMED
from app.scheduler.recovery import RecoveryPolicy, recover_stale
from app.scheduler.tick import db_now, run_tick
from app.telephony.base import Answerer, CallReport, CallState, ProviderUnavailable
from app.telephony.mock import MockProvider
from tests.integration.test_dispatch import make_ctx
from tests.support.seed import execute, fetch_all, seed_campaign

Sessions = async_sessionmaker[AsyncSession]

# Seeded campaigns: 15-minute calls, a 30 s ring timeout, a 300 s margin: provably over after
# 1,230 s. Silent means no news for longer than the stale timeout.
BOUND_SECONDS = 30 + 15 * 60 + 300
POLICY = RecoveryPolicy(stale_seconds=900, margin_seconds=300)


class ReportingProvider(MockProvider):
    """Answers `fetch_call` as Twilio's Calls API would: a report, or an exception."""

    def __init__(self, report: CallReport | Exception) -> None:
        super().__init__()
        self.report = report
        self.asked: list[str] = []

    async def fetch_call(self, provider_call_id: str) -> CallReport:
        self.asked.append(provider_call_id)
        if isinstance(self.report, Exception):
            raise self.report
        return self.report


async def go_silent(sessions: Sessions, *, placed_seconds_ago: float) -> None:
    """Make every attempt placed that long ago, with no news since."""
    await execute(
        sessions,
        "UPDATE call_attempts SET started_at = now() - make_interval(secs => :s), "
        "last_event_at = now() - make_interval(secs => :s)",
        s=placed_seconds_ago,
    )


async def recover(
    sessions: Sessions, provider: MockProvider, policy: RecoveryPolicy = POLICY, limit: int = 200
) -> int:
    now: datetime = await db_now(sessions)
    return await recover_stale(sessions, provider, now=now, policy=policy, limit=limit)


async def open_attempts(sessions: Sessions) -> int:
    rows = await fetch_all(sessions, "SELECT count(*) FROM call_attempts WHERE ended_at IS NULL")
    return int(rows[0][0])


async def dispatched(sessions: Sessions, contacts: int = 1, **campaign: object) -> None:
    await seed_campaign(sessions, contacts=contacts, max_attempts=3, **campaign)  # type: ignore[arg-type]
    await run_tick(make_ctx(sessions, MockProvider()))


# --- the provider's word ---------------------------------------------------------------------


async def test_call_the_provider_says_is_live_is_kept_and_counts_as_news(
    sessions: Sessions,
) -> None:
    await dispatched(sessions)
    await go_silent(sessions, placed_seconds_ago=1000)
    provider = ReportingProvider(CallReport(status=CallState.IN_PROGRESS))

    assert await recover(sessions, provider) == 0

    attempt = (await fetch_all(sessions, "SELECT * FROM call_attempts"))[0]
    assert attempt.ended_at is None and provider.asked == [attempt.provider_call_id]
    assert await recover(sessions, provider) == 0  # touched: no longer silent
    assert len(provider.asked) == 1


async def test_a_live_call_is_never_closed_even_long_past_its_bound(sessions: Sessions) -> None:
    await dispatched(sessions)
    await go_silent(sessions, placed_seconds_ago=BOUND_SECONDS * 10)

    assert await recover(sessions, ReportingProvider(CallReport(status=CallState.RINGING))) == 0

    assert await open_attempts(sessions) == 1


@pytest.mark.parametrize(
    ("report", "outcome", "state"),
    [
        (CallReport(status=CallState.COMPLETED, duration_seconds=20), "hangup", "pending"),
        (CallReport(status=CallState.BUSY), "busy", "pending"),
        (
            CallReport(status=CallState.COMPLETED, answered_by=Answerer.MACHINE),
            "machine",
            "pending",
        ),
    ],
)
async def test_call_the_provider_says_ended_is_closed_with_its_real_status(
    sessions: Sessions, report: CallReport, outcome: str, state: str
) -> None:
    await dispatched(sessions)
    await go_silent(sessions, placed_seconds_ago=1000)  # silent, long before the bound

    assert await recover(sessions, ReportingProvider(report)) == 1

    attempt = (await fetch_all(sessions, "SELECT status, outcome FROM call_attempts"))[0]
    assert (attempt.status, attempt.outcome) == (report.status, outcome)
    assert (await fetch_all(sessions, "SELECT state FROM contacts"))[0].state == state


# --- no usable word: wait for the bound ------------------------------------------------------

DOUBTS = [
    pytest.param(ProviderUnavailable("Twilio error 20500 (HTTP 500): internal"), id="http-500"),
    pytest.param(ProviderUnavailable("Twilio unreachable: ReadTimeout"), id="timeout"),
    pytest.param(ValueError("Expecting value: line 1 column 1"), id="garbage"),
    pytest.param(CallReport(status=None), id="unknown-call"),
]


@pytest.mark.parametrize("doubt", DOUBTS)
async def test_doubt_keeps_the_attempt_open_until_the_call_is_provably_over(
    sessions: Sessions, doubt: CallReport | Exception
) -> None:
    await dispatched(sessions)
    await go_silent(sessions, placed_seconds_ago=BOUND_SECONDS - 30)
    provider = ReportingProvider(doubt)

    assert [await recover(sessions, provider) for _ in range(3)] == [0, 0, 0]
    assert len(provider.asked) == 3, "asked again at every pass"
    assert await open_attempts(sessions) == 1

    await go_silent(sessions, placed_seconds_ago=BOUND_SECONDS + 1)
    assert await recover(sessions, provider) == 1

    attempt = (await fetch_all(sessions, "SELECT status, outcome, error FROM call_attempts"))[0]
    assert (attempt.status, attempt.outcome) == ("stale", "stale")
    assert "provably over" in attempt.error
    assert (await fetch_all(sessions, "SELECT state FROM contacts"))[0].state == "pending"


async def test_the_bound_is_the_campaigns_time_limit_and_the_ring_timeout(
    sessions: Sessions,
) -> None:
    await dispatched(sessions, max_call_minutes=1)
    limits = await fetch_all(
        sessions, "SELECT ring_timeout_seconds, time_limit_seconds FROM call_attempts"
    )
    assert tuple(limits[0]) == (30, 60)
    provider = ReportingProvider(ProviderUnavailable("down"))
    policy = RecoveryPolicy(stale_seconds=60, margin_seconds=300)

    await go_silent(sessions, placed_seconds_ago=30 + 60 + 300 - 5)
    assert await recover(sessions, provider, policy) == 0
    await go_silent(sessions, placed_seconds_ago=30 + 60 + 300 + 1)
    assert await recover(sessions, provider, policy) == 1


async def test_an_attempt_without_a_call_id_waits_for_the_bound_unasked(
    sessions: Sessions,
) -> None:
    await dispatched(sessions)
    await execute(sessions, "UPDATE call_attempts SET provider_call_id = NULL")
    provider = ReportingProvider(CallReport(status=CallState.COMPLETED))

    await go_silent(sessions, placed_seconds_ago=BOUND_SECONDS - 10)
    assert await recover(sessions, provider) == 0
    await go_silent(sessions, placed_seconds_ago=BOUND_SECONDS + 10)
    assert await recover(sessions, provider) == 1
    assert provider.asked == []


async def test_doubt_is_logged_once_per_attempt_and_counted_every_time(
    sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    await dispatched(sessions, contacts=2)
    await go_silent(sessions, placed_seconds_ago=1000)
    provider = ReportingProvider(ProviderUnavailable("Twilio error 20500 (HTTP 500): down"))
    before = RECOVERY_UNCONFIRMED._value.get()

    with caplog.at_level(logging.WARNING, logger="app.scheduler.recovery"):
        for _ in range(3):
            await recover(sessions, provider)

    kept = [r.getMessage() for r in caplog.records if "kept open" in r.getMessage()]
    assert len(kept) == 2 and all("HTTP 500" in line for line in kept)
    assert RECOVERY_UNCONFIRMED._value.get() - before == 6
    rows = await fetch_all(
        sessions, "SELECT unconfirmed_since, checked_at FROM call_attempts ORDER BY id"
    )
    assert all(
        r.unconfirmed_since is not None and r.checked_at >= r.unconfirmed_since for r in rows
    )


async def test_doubtful_asks_rotate_over_every_silent_attempt(sessions: Sessions) -> None:
    await dispatched(sessions, contacts=4)
    await go_silent(sessions, placed_seconds_ago=1000)
    provider = ReportingProvider(ProviderUnavailable("down"))

    await recover(sessions, provider, limit=2)
    await recover(sessions, provider, limit=2)

    ids = await fetch_all(sessions, "SELECT provider_call_id FROM call_attempts")
    assert sorted(provider.asked) == sorted(r.provider_call_id for r in ids)


async def test_the_provider_is_asked_with_bounded_concurrency(sessions: Sessions) -> None:
    class Slow(ReportingProvider):
        def __init__(self) -> None:
            super().__init__(CallReport(status=CallState.IN_PROGRESS))
            self.in_flight = self.most = 0

        async def fetch_call(self, provider_call_id: str) -> CallReport:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            await asyncio.sleep(0.01)
            self.in_flight -= 1
            return await super().fetch_call(provider_call_id)

    await dispatched(sessions, contacts=120, max_concurrent_calls=200)
    await go_silent(sessions, placed_seconds_ago=1000)
    provider = Slow()

    await recover(sessions, provider)

    assert len(provider.asked) == 120 and provider.most == 50


# --- closing safely ---------------------------------------------------------------------------


async def test_silent_attempt_past_its_bound_is_closed_and_contact_requeued(
    sessions: Sessions,
) -> None:
    await seed_campaign(sessions, contacts=1, max_attempts=3, retry_after_minutes=[0])
    await run_tick(make_ctx(sessions, MockProvider()))
    await go_silent(sessions, placed_seconds_ago=BOUND_SECONDS + 60)

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
    await go_silent(sessions, placed_seconds_ago=BOUND_SECONDS + 60)

    report = await run_tick(make_ctx(sessions, MockProvider()))

    assert (report.recovered, report.dispatched, report.finished) == (1, 0, 1)
    contact = (await fetch_all(sessions, "SELECT state, attempts_count FROM contacts"))[0]
    assert tuple(contact) == ("not_reached", 1)


async def test_recovery_running_twice_at_once_closes_each_attempt_once(
    sessions: Sessions,
) -> None:
    await dispatched(sessions, contacts=20)
    await go_silent(sessions, placed_seconds_ago=BOUND_SECONDS + 60)

    closed = await asyncio.gather(*(recover(sessions, MockProvider()) for _ in range(3)))

    assert sum(closed) == 20
    rows = await fetch_all(
        sessions,
        "SELECT count(*) FILTER (WHERE state = 'pending') AS pending, "
        "count(*) FILTER (WHERE attempts_count = 1) AS one FROM contacts",
    )
    assert tuple(rows[0]) == (20, 20)


async def test_fresh_attempts_are_not_asked_about(sessions: Sessions) -> None:
    await dispatched(sessions, contacts=2)
    provider = ReportingProvider(CallReport(status=CallState.COMPLETED))

    assert await recover(sessions, provider) == 0
    assert provider.asked == []
