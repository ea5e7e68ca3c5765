"""A dispatcher SIGKILLed at each crash window: after recovery, exactly one call per attempt."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from app.faults import AFTER_CLAIM_COMMIT, AFTER_INITIATE
from tests.acceptance.processes import ROOT, Service, service_env, wait_until
from tests.support.syncdb import count_mismatches, duplicates, query, seed

pytestmark = pytest.mark.acceptance

CONTACTS = 5


def tick_process(env: dict[str, str], idle_ticks: int = 2) -> int:
    """Run one dispatcher process to its end; return its exit code (-9 when it was killed)."""
    cmd = [sys.executable, "-m", "tests.acceptance.tick_worker", str(time.time()), str(idle_ticks)]
    return subprocess.run(cmd, cwd=ROOT, env=env, timeout=120, check=False).returncode


def ledger_calls(ledger: Path) -> Counter[int]:
    if not ledger.exists():
        return Counter()
    return Counter(json.loads(line)["attempt_id"] for line in ledger.read_text().splitlines())


def attempts(database_url: str) -> list[dict[str, object]]:
    rows = query(
        database_url,
        "SELECT id, contact_id, attempt_number, provider_call_id, status, ended_at "
        "FROM call_attempts ORDER BY id",
    )
    return [dict(r) for r in rows]


def provably_over(database_url: str) -> None:
    """Move the attempts back in time past the end of any call they could have placed."""
    query(
        database_url,
        "UPDATE call_attempts SET started_at = started_at - interval '1 hour', "
        "last_event_at = last_event_at - interval '1 hour' WHERE ended_at IS NULL",
    )


def assert_invariants(database_url: str) -> None:
    assert duplicates(database_url) == []
    assert count_mismatches(database_url) == []


def test_killed_after_commit_before_the_call(database_url: str, tmp_path: Path) -> None:
    seed(database_url, contacts=CONTACTS, max_attempts=3, retry_after_minutes=[0])
    ledger = tmp_path / "calls.jsonl"
    env = service_env(database_url, MOCK_CALL_LOG=str(ledger), STALE_ATTEMPT_SECONDS="1")

    assert tick_process({**env, "VOICESURVEY_CRASH_AT": AFTER_CLAIM_COMMIT}) == -signal.SIGKILL

    # The attempts were committed before the provider was asked: open, and no call placed.
    crashed = attempts(database_url)
    assert len(crashed) == CONTACTS and ledger_calls(ledger) == Counter()
    assert {(a["status"], a["ended_at"]) for a in crashed} == {("dispatching", None)}

    # Silent, but a call may exist that the provider will still report: nothing is redialled
    # before the call would be provably over.
    assert tick_process(env) == 0
    assert attempts(database_url) == crashed and ledger_calls(ledger) == Counter()

    provably_over(database_url)
    assert tick_process(env) == 0

    after = attempts(database_url)
    first = [a for a in after if a["attempt_number"] == 1]
    second = [a for a in after if a["attempt_number"] == 2]
    assert {a["status"] for a in first} == {"stale"}
    assert len(second) == CONTACTS and all(a["provider_call_id"] for a in second)
    # Exactly one call per placed attempt, one call per contact in all.
    assert ledger_calls(ledger) == Counter({a["id"]: 1 for a in second})
    assert_invariants(database_url)


def test_killed_after_the_call_before_its_id_was_saved(database_url: str, tmp_path: Path) -> None:
    seed(database_url, contacts=CONTACTS, max_attempts=3, retry_after_minutes=[0])
    ledger = tmp_path / "calls.jsonl"
    env = service_env(database_url, MOCK_CALL_LOG=str(ledger), STALE_ATTEMPT_SECONDS="60")

    assert tick_process({**env, "VOICESURVEY_CRASH_AT": AFTER_INITIATE}) == -signal.SIGKILL

    calls = {
        json.loads(line)["attempt_id"]: json.loads(line) for line in ledger.read_text().splitlines()
    }
    assert len(calls) == CONTACTS
    assert all(a["provider_call_id"] is None for a in attempts(database_url))

    # The provider's callbacks carry the attempt id: the calls are adopted, not redialled.
    service = Service(
        service_env(database_url, MOCK_CALL_LOG=str(ledger), SCHEDULER_ENABLED="false"),
        tmp_path / "service.log",
    )
    try:
        wait_until(lambda: "Application startup complete" in service.log(), 60, "start-up")
        for attempt_id, call in calls.items():
            url = f"{service.url}/webhooks/telephony/events?attempt_id={attempt_id}"
            body = {"provider_call_id": call["call_id"], "status": "in-progress"}
            assert httpx.post(url, json=body, timeout=10).status_code == 204
    finally:
        service.stop()
    assert tick_process(env) == 0  # a later scheduler run finds nothing to (re)dial

    after = attempts(database_url)
    assert len(after) == CONTACTS
    assert {a["id"]: a["provider_call_id"] for a in after} == {
        attempt_id: call["call_id"] for attempt_id, call in calls.items()
    }
    assert ledger_calls(ledger) == Counter(dict.fromkeys(calls, 1))
    assert_invariants(database_url)


def test_killed_after_the_call_and_the_provider_stays_silent(
    database_url: str, tmp_path: Path
) -> None:
    seed(database_url, contacts=CONTACTS, max_attempts=3, retry_after_minutes=[0])
    ledger = tmp_path / "calls.jsonl"
    env = service_env(database_url, MOCK_CALL_LOG=str(ledger), STALE_ATTEMPT_SECONDS="1")

    assert tick_process({**env, "VOICESURVEY_CRASH_AT": AFTER_INITIATE}) == -signal.SIGKILL
    # The calls were placed and may be live: no redial while the provider stays silent...
    assert tick_process(env) == 0
    assert len(attempts(database_url)) == CONTACTS

    provably_over(database_url)  # ...until they are provably over
    assert tick_process(env) == 0

    after = attempts(database_url)
    # Recovery closed the silent attempts and the retries were placed: one call per attempt.
    assert Counter(a["attempt_number"] for a in after) == Counter({1: CONTACTS, 2: CONTACTS})
    assert ledger_calls(ledger) == Counter({a["id"]: 1 for a in after})
    assert_invariants(database_url)
