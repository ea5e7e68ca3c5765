"""The real service (`uvicorn app.main:app`) with the mock provider and MOCK_SIMULATION=on:
simulated respondents call its public webhooks over HTTP until the campaign completes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.acceptance.processes import (
    Service,
    free_port,
    run_simulated_campaign,
    service_env,
    wait_until,
)
from tests.support.syncdb import count_mismatches, duplicates, query

pytestmark = pytest.mark.acceptance

NUMBERS = [f"+3902555000{n:02d}" for n in range(1, 13)]
FINAL_STATES = {"completed", "refused", "partial", "not_reached", "do_not_call"}


def simulating_service(database_url: str, tmp_path: Path) -> Service:
    port = free_port()
    env = service_env(
        database_url,
        MOCK_SIMULATION="on",
        MOCK_SIMULATION_SEED="3",
        MOCK_STEP_DELAY_SECONDS="0.01",
        MOCK_CALL_LOG=str(tmp_path / "mock-calls.jsonl"),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        SCHEDULER_INTERVAL_SECONDS="0.3",
    )
    service = Service(env, tmp_path / "service.log", port=port)
    wait_until(lambda: "Application startup complete" in service.log(), 60, "start-up")
    return service


def test_simulated_respondents_complete_a_campaign_through_the_public_webhooks(
    database_url: str, tmp_path: Path
) -> None:
    service = simulating_service(database_url, tmp_path)
    try:
        run_simulated_campaign(service, NUMBERS)
    finally:
        service.stop()

    log = service.log()
    assert "Creating telephony provider: mock" in log
    assert "Mock provider simulates respondents" in log
    assert "Traceback" not in log
    states = [r["state"] for r in query(database_url, "SELECT state FROM contacts")]
    assert len(states) == len(NUMBERS) and set(states) <= FINAL_STATES
    assert "completed" in states
    completed = query(
        database_url, "SELECT answers FROM survey_responses WHERE completed ORDER BY id"
    )
    assert len(completed) == states.count("completed")
    for row in completed:
        answers = json.loads(row["answers"])
        assert set(answers) == {"satisfaction", "recommend", "channel", "comment"}
    # The status callbacks came in over HTTP and were logged, for every call placed.
    attempts = query(database_url, "SELECT id, provider_call_id FROM call_attempts")
    events = query(database_url, "SELECT DISTINCT call_attempt_id FROM telephony_events")
    assert {r["call_attempt_id"] for r in events} == {r["id"] for r in attempts}
    assert all(r["provider_call_id"].startswith("MK") for r in attempts)
    ledger = (tmp_path / "mock-calls.jsonl").read_text().splitlines()
    assert len(ledger) == len(attempts)
    assert duplicates(database_url) == [] and count_mismatches(database_url) == []
