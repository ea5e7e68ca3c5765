"""The database restarts in the middle of a campaign: every process reconnects, one leader
holds the lock again, and nothing is dispatched twice.

The test runs its own embedded PostgreSQL (whatever DATABASE_URL says) because it restarts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.scheduler.leader import LEADER_LOCK_KEY, LOCK_HOLDERS
from tests.acceptance.processes import Service, free_port, service_env, wait_until
from tests.support import own_postgres
from tests.support.postgres import PgServer
from tests.support.syncdb import count_mismatches, duplicates, query, seed

pytestmark = pytest.mark.acceptance

HOLDERS = f"SELECT count(*) FROM ({LOCK_HOLDERS}) h"


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[tuple[PgServer, Path]]:
    data = own_postgres.new_data_dir()
    try:
        yield PgServer(own_postgres.create(data)), data
    finally:
        # Whatever happened, start-up included: a server left running outlives the test run.
        own_postgres.discard(data, keep_log=tmp_path / "postgres.log")


def restart(data: Path) -> None:
    """Stop the server hard and start it again, as a crash or a failover would."""
    own_postgres.stop(data, mode="immediate")
    own_postgres.start(data)


class LockWatcher(threading.Thread):
    """Samples the leader lock; more than one holder at any moment is a failure."""

    def __init__(self, database_url: str) -> None:
        super().__init__(daemon=True)
        self.database_url, self.stop, self.most = database_url, threading.Event(), 0

    def run(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(Exception):  # the server is restarting
                self.most = max(self.most, query(self.database_url, HOLDERS, LEADER_LOCK_KEY)[0][0])
            time.sleep(0.1)


def test_database_restart_mid_campaign(own_server: tuple[PgServer, Path], tmp_path: Path) -> None:
    server, data = own_server
    database_url = server.database_url(asyncio.run(server.create_template()))
    seed(database_url, contacts=150, max_concurrent_calls=15, max_attempts=3, max_call_minutes=1)
    ledger = tmp_path / "calls.jsonl"
    services = []
    for i in range(2):
        port = free_port()
        env = service_env(
            database_url,
            MOCK_SIMULATION="on",
            MOCK_SIMULATION_MIX="complete=6,refuse=2,no_answer=2",
            MOCK_STEP_DELAY_SECONDS="0.02",
            MOCK_CALL_LOG=str(ledger),
            PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
            SCHEDULER_INTERVAL_SECONDS="0.3",
            LEADER_RETRY_SECONDS="0.5",
            STALE_ATTEMPT_SECONDS="5",
            # A call whose callbacks were lost in the outage, placed by the other process, is
            # closed once provably over: 5 + 60 + 0 seconds after it was claimed.
            RING_TIMEOUT_SECONDS="5",
            RECOVERY_MARGIN_SECONDS="0",
        )
        services.append(Service(env, tmp_path / f"service-{i}.log", port=port))
    watcher = LockWatcher(database_url)
    attempts = "SELECT count(*) FROM call_attempts"
    unfinished = "SELECT count(*) FROM contacts WHERE state IN ('pending', 'in_progress')"
    try:
        for s in services:
            wait_until(lambda s=s: "Application startup complete" in s.log(), 60, "start-up")
        watcher.start()
        wait_until(lambda: query(database_url, attempts)[0][0] >= 40, 60, "calls under way")

        restart(data)

        wait_until(lambda: query(database_url, unfinished)[0][0] == 0, 180, "every contact final")
    finally:
        watcher.stop.set()
        for s in services:
            s.stop()

    logs = "".join(s.log() for s in services)
    assert logs.count("Scheduler leader lock acquired") >= 2  # the lead was taken again
    assert watcher.most == 1
    # Requests during the outage got 503 and one log line each, not a traceback.
    assert "Traceback" not in logs and "Database unavailable during POST" in logs
    assert duplicates(database_url) == []
    assert count_mismatches(database_url) == []
    placed = [json.loads(line)["attempt_id"] for line in ledger.read_text().splitlines()]
    assert len(placed) == len(set(placed)), "an attempt was placed twice"
    assert (
        query(database_url, "SELECT count(*) FROM call_attempts WHERE ended_at IS NULL")[0][0] == 0
    )
