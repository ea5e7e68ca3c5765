"""Checklist gates 2, 3 and 4 with the real `uvicorn app.main:app` command."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.acceptance.processes import Service, service_env, wait_until
from tests.support.syncdb import count_mismatches, duplicates, query, seed

pytestmark = pytest.mark.acceptance


def attempts(database_url: str) -> int:
    return int(query(database_url, "SELECT count(*) FROM call_attempts")[0][0])


def test_single_worker_gates_2_and_4(database_url: str, tmp_path: Path) -> None:
    seed(database_url, contacts=1)
    service = Service(service_env(database_url), tmp_path / "service.log", workers=1)
    try:
        wait_until(lambda: "Scheduler leader lock acquired" in service.log(), 60, "leadership")
        wait_until(lambda: attempts(database_url) == 1, 30, "the first call attempt")
        # G4.2: the callback endpoint answers an empty POST.
        response = httpx.post(f"{service.url}/webhooks/telephony/events", timeout=10)
        assert response.status_code in (200, 204)
    finally:
        service.stop()

    log = service.log()
    for line in ("Application starting", "Scheduler enabled", "Scheduler leader lock acquired"):
        assert line in log
    assert "Creating telephony provider" in log and "initiate_call" in log
    assert "Traceback" not in log and "ERROR" not in log
    # G2.2: one new attempt, the contact in progress, attempts_count incremented.
    contact = query(database_url, "SELECT state, attempts_count FROM contacts")[0]
    assert (contact["state"], contact["attempts_count"]) == ("in_progress", 1)
    attempt = query(database_url, "SELECT * FROM call_attempts ORDER BY started_at DESC")[0]
    assert attempt["attempt_number"] == 1 and attempt["provider_call_id"]


def test_two_workers_one_leader_one_standby_gate_3(database_url: str, tmp_path: Path) -> None:
    seed(database_url, contacts=60, max_concurrent_calls=20)
    service = Service(service_env(database_url), tmp_path / "service.log", workers=2)
    try:
        wait_until(
            lambda: service.log().count("Application startup complete") == 2, 60, "two workers"
        )
        wait_until(
            lambda: "Scheduler leader lock busy; standby" in service.log(), 30, "the standby"
        )
        wait_until(lambda: attempts(database_url) == 20, 30, "a full first batch")
        # Two or three more cycles with every line busy: nothing more may be dispatched.
        time.sleep(1.5)
        assert attempts(database_url) == 20
        # Read before shutdown: a standby may rightly take over while the leader stops.
        log = service.log()
    finally:
        service.stop()

    assert log.count("Scheduler leader lock acquired") == 1
    assert log.count("Scheduler leader lock busy; standby") == 1
    assert "Traceback" not in log
    assert duplicates(database_url) == []
    assert count_mismatches(database_url) == []


def test_restart_requeues_stale_attempts_gate_8(database_url: str, tmp_path: Path) -> None:
    seed(database_url, contacts=3, max_attempts=3, retry_after_minutes=[0])
    env = service_env(database_url, STALE_ATTEMPT_SECONDS="2")
    first = Service(env, tmp_path / "first.log")
    try:
        wait_until(lambda: attempts(database_url) == 3, 60, "three calls under way")
    finally:
        first.stop()
    # The calls never report back (the mock places no real call) and the mock cannot vouch for
    # them. Say the service stayed down an hour, so the calls are provably over: after the
    # restart the attempts are closed as stale and their contacts dialled again as attempt 2.
    query(
        database_url,
        "UPDATE call_attempts SET started_at = started_at - interval '1 hour', "
        "last_event_at = last_event_at - interval '1 hour'",
    )
    second = Service(env, tmp_path / "second.log")
    try:
        wait_until(lambda: attempts(database_url) == 6, 60, "the requeued contacts dialled")
    finally:
        second.stop()

    rows = query(
        database_url,
        "SELECT attempt_number, status, ended_at IS NULL AS open FROM call_attempts "
        "ORDER BY contact_id, attempt_number",
    )
    assert [(r["attempt_number"], r["status"], r["open"]) for r in rows] == [
        (1, "stale", False),
        (2, "queued", True),
    ] * 3
    assert "Recovered 3 stale call attempts" in second.log()
    assert count_mismatches(database_url) == []


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("SCHEDULER_INTERVAL_SECONDS", "soon", "SCHEDULER_INTERVAL_SECONDS"),
        ("TELEPHONY_PROVIDER", "twilio", "TWILIO_ACCOUNT_SID"),
    ],
)
def test_bad_setting_stops_start_up_with_one_line(
    database_url: str, tmp_path: Path, setting: str, value: str, named: str
) -> None:
    env = service_env(database_url, **{setting: value})
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"):
        env.pop(name, None)
    service = Service(env, tmp_path / "service.log")
    try:
        assert service.proc.wait(60) != 0
    finally:
        service.stop()

    log = service.log()
    errors = [line for line in log.splitlines() if "Configuration error" in line]
    assert len(errors) == 1 and named in errors[0]
    assert "Traceback" not in log
