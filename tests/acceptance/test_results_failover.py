"""Two real service processes (MOCK_SIMULATION) deliver a campaign's results to a receiver that
holds every request; the leader is SIGKILLed while its sends are in flight, the other worker
takes the lead and, once the dead one's leases are over, sends them again. Every interview
arrives, signed, at least once per key; none is lost.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.acceptance.processes import (
    Service,
    free_port,
    leader_pid,
    run_simulated_campaign,
    service_env,
    wait_until,
)
from tests.support.receiver import HOLD, OK, Receiver
from tests.support.syncdb import query

pytestmark = pytest.mark.acceptance

SECRET = "results-secret-shared-with-the-team"
NUMBERS = [f"+3902555100{n:02d}" for n in range(1, 13)]
# The lease of a send: the deliverer's timeout (10 s) and margin (5 s), both defaults.
LEASE_SECONDS = 15


def simulating_service(database_url: str, tmp_path: Path, name: str) -> Service:
    port = free_port()
    env = service_env(
        database_url,
        MOCK_SIMULATION="on",
        MOCK_SIMULATION_SEED="11",
        MOCK_SIMULATION_MIX="complete=5,refuse=2,hangup=1,no_answer=2,busy=1,opt_out=1",
        MOCK_STEP_DELAY_SECONDS="0.01",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        SCHEDULER_INTERVAL_SECONDS="0.3",
        LEADER_RETRY_SECONDS="0.5",
        RESULTS_WEBHOOK_SECRET=SECRET,
    )
    return Service(env, tmp_path / f"{name}.log", port=port)


def leased_mid_send(database_url: str) -> set[int]:
    """Rows claimed and sent whose answer was never recorded: still under their lease."""
    rows = query(
        database_url,
        "SELECT id FROM result_deliveries WHERE delivered_at IS NULL AND next_attempt_at > now() "
        "AND last_attempt_at > coalesce(last_error_at, '-infinity')",
    )
    return {int(row["id"]) for row in rows}


def undelivered(database_url: str) -> int:
    rows = query(database_url, "SELECT count(*) FROM result_deliveries WHERE delivered_at IS NULL")
    return int(rows[0][0])


def test_results_sent_again_after_the_leader_is_killed_mid_send(
    database_url: str, tmp_path: Path
) -> None:
    receiver = Receiver(mode=HOLD)
    with receiver.running() as url:
        services = [simulating_service(database_url, tmp_path, f"service-{i}") for i in (1, 2)]
        try:
            for s in services:
                wait_until(lambda s=s: "Application startup complete" in s.log(), 60, "start-up")
            campaign_id = run_simulated_campaign(
                services[0], NUMBERS, timeout=60, results_webhook_url=url
            )
            wait_until(lambda: bool(leased_mid_send(database_url)), 30, "sends in flight")
            victim = next(s for s in services if s.proc.pid == leader_pid(database_url))
            victim.kill()
            leased = leased_mid_send(database_url)
            in_flight = receiver.keys(HOLD)
            receiver.mode = OK  # the receiver is fine; the sender is gone
            survivor = next(s for s in services if s is not victim)
            wait_until(lambda: leader_pid(database_url) == survivor.proc.pid, 15, "a new leader")
            wait_until(lambda: undelivered(database_url) == 0, LEASE_SECONDS + 30, "delivery")
            summary = httpx.get(f"{survivor.url}/api/campaigns/{campaign_id}/deliveries").json()
        finally:
            for s in services:
                s.stop()

    contacts = query(database_url, "SELECT id FROM contacts ORDER BY id")
    keys = {f"{campaign_id}-{row['id']}" for row in contacts}
    assert len(keys) == len(NUMBERS)
    assert receiver.keys(OK) == keys, "every interview acknowledged once the receiver answered"
    assert in_flight and in_flight <= receiver.keys(OK), "the killed leader's sends went again"
    for request in receiver.requests:
        assert request.verifies(SECRET.encode())
        assert json.loads(request.body)["delivery_id"] == request.key
    assert leased, "the leader was killed with sends in flight, under their lease"
    resent = query(
        database_url,
        "SELECT id FROM result_deliveries WHERE attempts >= 2 AND delivered_at IS NOT NULL",
    )
    assert leased <= {int(row["id"]) for row in resent}, "sent again once the lease was over"
    assert (summary["delivered"], summary["pending"], summary["failing"]) == (len(NUMBERS), 0, 0)
    logs = "".join(s.log() for s in services)
    assert "Traceback" not in logs
