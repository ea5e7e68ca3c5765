"""GET /metrics: the scheduler, the webhooks and closed attempts move the right series.

The default registry is process-wide, so every assertion compares a scrape before and after.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.models import AttemptStatus, Outcome
from app.calls.service import AttemptClose, close_attempts
from app.scheduler.leader import LeaderElection
from app.scheduler.runner import SchedulerLoop
from app.scheduler.tick import run_tick
from app.telephony.mock import MockProvider
from tests.integration.test_dispatch import make_ctx
from tests.integration.test_leader import dsn_of
from tests.integration.test_voice_flow import end_call, start_call
from tests.support.seed import execute, fetch_all, seed_campaign

Sessions = async_sessionmaker[AsyncSession]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
SRC = Path(__file__).resolve().parents[2] / "src"

DISPATCHED = "voicesurvey_calls_dispatched_total"
OUTCOMES = "voicesurvey_call_outcomes_total"
ACTIVE = "voicesurvey_active_calls"
LEADER = "voicesurvey_scheduler_leader"
TICKS = "voicesurvey_scheduler_tick_duration_seconds"
WEBHOOKS = "voicesurvey_webhook_duration_seconds"
RECOVERED = "voicesurvey_stale_attempts_recovered_total"


def parse(exposition: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
    }


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def outcome_deltas(before: Samples, after: Samples) -> dict[str, float]:
    deltas = {
        o.value: value(after, OUTCOMES, outcome=o) - value(before, OUTCOMES, outcome=o)
        for o in Outcome
    }
    return {outcome: delta for outcome, delta in deltas.items() if delta}


async def run_loop_until(loop: SchedulerLoop, done: Callable[[], Awaitable[bool]]) -> None:
    """Run the scheduler loop until `done()` holds (polling the scrape), then stop it."""
    task = asyncio.create_task(loop.run())
    try:
        async with asyncio.timeout(15):
            while not await done():  # noqa: ASYNC110  # polls a scrape; no event to wait on
                await asyncio.sleep(0.05)
    finally:
        loop.stop()
        await task


def new_loop(sessions: Sessions, database_url: str, **limits: float) -> SchedulerLoop:
    ctx = make_ctx(sessions, MockProvider(), **limits)
    return SchedulerLoop(ctx, LeaderElection(dsn_of(database_url)), 0.05, 0.05)


async def test_every_series_is_exposed_from_the_start(client: httpx.AsyncClient) -> None:
    samples = await scrape(client)
    names = {name for name, _ in samples}

    for name in (DISPATCHED, ACTIVE, LEADER, RECOVERED, f"{TICKS}_count", f"{WEBHOOKS}_count"):
        assert name in names
    assert {o.value for o in Outcome} <= {
        dict(labels)["outcome"] for name, labels in samples if name == OUTCOMES
    }
    assert (f"{WEBHOOKS}_bucket", frozenset({("endpoint", "events"), ("le", "15.0")})) in samples


async def test_leader_tick_and_status_callback_move_the_metrics(
    client: httpx.AsyncClient, sessions: Sessions, database_url: str
) -> None:
    await seed_campaign(sessions, contacts=3, retry_after_minutes=[60])
    before = await scrape(client)
    loop = new_loop(sessions, database_url)
    seen: dict[str, Samples] = {}

    async def dispatched_and_counted() -> bool:
        seen["during"] = await scrape(client)
        return value(seen["during"], ACTIVE) == 3

    await run_loop_until(loop, dispatched_and_counted)
    during, after_loop = seen["during"], await scrape(client)

    assert value(after_loop, DISPATCHED) - value(before, DISPATCHED) == 3
    assert value(during, LEADER) == 1
    assert value(after_loop, LEADER) == 0  # released on stop
    ticks = value(after_loop, f"{TICKS}_count") - value(before, f"{TICKS}_count")
    assert ticks >= 1
    assert value(after_loop, f"{TICKS}_sum") > value(before, f"{TICKS}_sum")
    assert (
        value(after_loop, f"{TICKS}_bucket", le="+Inf")
        - value(before, f"{TICKS}_bucket", le="+Inf")
        == ticks
    )
    assert outcome_deltas(before, after_loop) == {}

    attempt = (await fetch_all(sessions, "SELECT * FROM call_attempts ORDER BY id"))[0]
    body = {"provider_call_id": attempt.provider_call_id, "status": "no-answer"}
    for _ in range(2):  # the duplicate is ignored, and still timed
        response = await client.post(
            f"/webhooks/telephony/events?attempt_id={attempt.id}", json=body
        )
        assert response.status_code == 204
    after = await scrape(client)

    assert outcome_deltas(after_loop, after) == {"no_answer": 1}
    events = value(after, f"{WEBHOOKS}_count", endpoint="events")
    assert events - value(after_loop, f"{WEBHOOKS}_count", endpoint="events") == 2
    assert value(after, f"{WEBHOOKS}_sum", endpoint="events") > value(
        after_loop, f"{WEBHOOKS}_sum", endpoint="events"
    )
    assert value(after, f"{WEBHOOKS}_count", endpoint="voice") == value(
        after_loop, f"{WEBHOOKS}_count", endpoint="voice"
    )


async def test_voice_turns_are_timed_under_their_own_endpoint(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    conversation = await start_call(client, sessions)
    before = await scrape(client)

    turn = await conversation.answer_call()
    await conversation.say("sì")
    await end_call(client, conversation)
    after = await scrape(client)

    assert turn.says
    voice = f"{WEBHOOKS}_count"
    assert value(after, voice, endpoint="voice") - value(before, voice, endpoint="voice") == 2
    assert value(after, voice, endpoint="events") - value(before, voice, endpoint="events") == 1
    assert sum(outcome_deltas(before, after).values()) == 1


async def test_stale_recovery_is_counted(
    client: httpx.AsyncClient, sessions: Sessions, database_url: str
) -> None:
    campaign_id = await seed_campaign(sessions, contacts=2)
    await run_tick(make_ctx(sessions, MockProvider()))
    # Paused, so the requeued contacts are not dialled again within this test.
    await execute(sessions, "UPDATE campaigns SET status = 'paused' WHERE id = :id", id=campaign_id)
    # Silent, and placed long enough ago to be provably over: closed without the provider's word.
    await execute(
        sessions,
        "UPDATE call_attempts SET started_at = started_at - interval '1 day', "
        "last_event_at = last_event_at - interval '1 day'",
    )
    before = await scrape(client)

    async def recovered() -> bool:
        rows = await fetch_all(
            sessions, "SELECT count(*) FROM call_attempts WHERE ended_at IS NULL"
        )
        return bool(rows[0][0] == 0 and value(await scrape(client), ACTIVE) == 0)

    await run_loop_until(new_loop(sessions, database_url, stale_seconds=60), recovered)
    after = await scrape(client)

    assert value(after, RECOVERED) - value(before, RECOVERED) == 2
    assert outcome_deltas(before, after) == {"stale": 2}
    assert value(after, DISPATCHED) == value(before, DISPATCHED)


async def test_outcomes_count_only_when_the_transaction_commits(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await seed_campaign(sessions, contacts=1)
    await run_tick(make_ctx(sessions, MockProvider()))
    attempt_id = (await fetch_all(sessions, "SELECT id FROM call_attempts"))[0].id
    close = AttemptClose(attempt_id, AttemptStatus.BUSY, Outcome.BUSY)
    before = await scrape(client)

    async with sessions() as session:
        assert await close_attempts(session, [close]) == 1
        await session.rollback()
    rolled_back = await scrape(client)
    async with sessions() as session, session.begin():
        assert await close_attempts(session, [close]) == 1
    committed = await scrape(client)

    assert outcome_deltas(before, rolled_back) == {}
    assert outcome_deltas(rolled_back, committed) == {"busy": 1}


_WORKER = """
from app import metrics
metrics.CALLS_DISPATCHED.inc(2)
metrics.CALL_OUTCOMES.labels(outcome="completed").inc()
metrics.SCHEDULER_LEADER.set(1)
metrics.ACTIVE_CALLS.set(5)
"""

_SCRAPER = """
import os, sys
from app import metrics
metrics.SCHEDULER_LEADER.set(0)
print(os.getpid())
sys.stdout.write(metrics.render().decode())
"""


def run_python(code: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_multiprocess_dir_adds_up_every_worker(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),  # created on import
    }
    for _ in range(2):
        run_python(_WORKER, env)

    pid, _, exposition = run_python(_SCRAPER, env).partition("\n")
    samples = parse(exposition)

    assert value(samples, DISPATCHED) == 4
    assert value(samples, OUTCOMES, outcome="completed") == 2
    # The workers have exited: their live gauges are gone, the scraper's own remains.
    leaders = {dict(labels)["pid"]: v for (name, labels), v in samples.items() if name == LEADER}
    assert leaders == {pid: 0.0}
    assert value(samples, ACTIVE) == 0
