"""Twilio's REST API fails while calls are live and their callbacks are lost: the service (two
real uvicorn workers) never redials on doubt. Each silent call is asked about every tick; a call
Twilio cannot answer for (HTTP 500, a timeout) is redialled exactly once, and only after it is
provably over (started_at + ring timeout + time limit + margin, by the database's clock); a call
Twilio says is live is never closed.

This test waits out a real bound (5 s of ringing + a 1-minute time limit + no margin): no
timestamp is moved by hand.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.processes import Service, free_port, twilio_env, wait_until
from tests.support.syncdb import count_mismatches, duplicates, query, seed
from tests.support.twilio_emulator import RunningEmulator, running_emulator

pytestmark = pytest.mark.acceptance

RING_SECONDS, TIME_LIMIT_SECONDS = 5, 60
BOUND = timedelta(seconds=RING_SECONDS + TIME_LIMIT_SECONDS)

# Seeded numbers are +39 followed by 3_000_000_000 + n.
ERRORS = ["+393000000001", "+393000000002", "+393000000003"]  # fetch answers HTTP 500
STALLS = ["+393000000004", "+393000000005", "+393000000006"]  # fetch times out
LIVE = ["+393000000007", "+393000000008"]  # fetch says in-progress
DOUBTFUL = ERRORS + STALLS

ATTEMPTS = """
SELECT c.phone_number, a.id, a.attempt_number, a.status, a.error, a.started_at, a.ended_at,
       a.unconfirmed_since
FROM call_attempts a JOIN contacts c ON c.id = a.contact_id
ORDER BY c.phone_number, a.attempt_number
"""


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(step_delay=0.01) as emu:
        yield emu


def attempts(database_url: str) -> list[dict[str, Any]]:
    return [dict(r) for r in query(database_url, ATTEMPTS)]


def created_per_number(emulator: RunningEmulator) -> Counter[str]:
    return Counter(call["to"] for call in asyncio.run(emulator.calls()))


def fetches(emulator: RunningEmulator) -> dict[str, int]:
    """How often each call was asked about, by call sid."""
    return {call["sid"]: call["fetches"] for call in asyncio.run(emulator.calls())}


def register_respondents(emulator: RunningEmulator) -> None:
    # Everyone picks up and stays on the line, silent, for longer than the test; no status
    # callback ever arrives: only the REST API can tell where a call stands.
    faults = {**dict.fromkeys(ERRORS, "error"), **dict.fromkeys(STALLS, "timeout")}
    for number in DOUBTFUL + LIVE:
        fields: dict[str, Any] = {"hold_seconds": 600, "lost_callbacks": True}
        if number in faults:
            fields["fetch_fault"] = faults[number]
        asyncio.run(emulator.register(number, **fields))


def test_no_redial_on_doubt_until_the_call_is_provably_over(
    database_url: str, emulator: RunningEmulator, tmp_path: Path
) -> None:
    register_respondents(emulator)
    seed(
        database_url,
        contacts=len(DOUBTFUL + LIVE),
        max_attempts=3,
        retry_after_minutes=[0],
        max_call_minutes=1,
    )
    port = free_port()
    env = twilio_env(
        database_url,
        emulator.base_url,
        port,
        STALE_ATTEMPT_SECONDS="1",
        RING_TIMEOUT_SECONDS=str(RING_SECONDS),
        RECOVERY_MARGIN_SECONDS="0",
        TWILIO_API_TIMEOUT_SECONDS="0.5",
    )
    service = Service(env, tmp_path / "service.log", workers=2, port=port)
    try:
        wait_until(lambda: len(attempts(database_url)) == 8, 60, "every contact called")
        first = {a["phone_number"]: a for a in attempts(database_url)}
        # Asked about again and again while Twilio cannot answer: still nothing redialled.
        sids = list(fetches(emulator))
        wait_until(
            lambda: min(fetches(emulator)[sid] for sid in sids) >= 3, 60, "three asks per call"
        )
        assert created_per_number(emulator) == Counter(dict.fromkeys(DOUBTFUL + LIVE, 1))
        assert all(a["ended_at"] is None for a in attempts(database_url))

        def redialled() -> bool:
            return sum(a["attempt_number"] == 2 for a in attempts(database_url)) == len(DOUBTFUL)

        wait_until(redialled, 120, "the doubtful calls redialled once provably over")
        # The second calls meet the same faults: asked about, never redialled before their bound.
        second_sids = set(fetches(emulator)) - set(sids)
        wait_until(
            lambda: min(fetches(emulator)[sid] for sid in second_sids) >= 3,
            60,
            "three asks per second call",
        )
        after = attempts(database_url)
        created = created_per_number(emulator)
        log = service.log()
    finally:
        service.stop()

    by_number: dict[str, list[dict[str, Any]]] = {}
    for row in after:
        by_number.setdefault(row["phone_number"], []).append(row)
    for number in DOUBTFUL:
        one, two = by_number[number]
        assert (one["status"], one["ended_at"] is not None) == ("stale", True)
        assert "provably over" in one["error"] and one["unconfirmed_since"] is not None
        # Redialled no earlier than the bound, by the database's clock.
        assert two["started_at"] >= one["started_at"] + BOUND
        assert two["attempt_number"] == 2 and two["ended_at"] is None
        assert log.count(f"Call attempt {one['id']} kept open") == 1
    latest = max(row["started_at"] for row in after)
    for number in LIVE:
        (only,) = by_number[number]
        assert only["ended_at"] is None and only["unconfirmed_since"] is None
        assert latest >= only["started_at"] + BOUND  # still open past its bound: Twilio vouched
    assert created == Counter({**dict.fromkeys(DOUBTFUL, 2), **dict.fromkeys(LIVE, 1)})
    assert "HTTP 500" in log and "unreachable" in log
    assert "Traceback" not in log
    assert duplicates(database_url) == [] and count_mismatches(database_url) == []
    assert first.keys() == set(DOUBTFUL + LIVE)
