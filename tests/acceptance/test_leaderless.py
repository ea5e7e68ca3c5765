"""Several dispatchers at once with no leader: still no duplicate and one open call per contact.

The advisory lock only saves work; this proves correctness does not depend on it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.acceptance.processes import ROOT, service_env
from tests.support.syncdb import count_mismatches, duplicates, query, seed

pytestmark = pytest.mark.acceptance

PROCESSES = 4


def test_forced_leaderless_dispatch_creates_no_duplicates(
    database_url: str, tmp_path: Path
) -> None:
    campaigns, per_campaign, lines = 4, 150, 100
    for i in range(campaigns):
        seed(
            database_url,
            contacts=per_campaign,
            max_concurrent_calls=lines,
            first_number=3_000_000_000 + i * 1000,
        )
    ledger = tmp_path / "calls.jsonl"
    env = service_env(database_url, MOCK_CALL_LOG=str(ledger), DISPATCH_BATCH_SIZE="40")
    start_at = time.time() + 3
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.acceptance.tick_worker", str(start_at), "10"],
            cwd=ROOT,
            env=env,
        )
        for _ in range(PROCESSES)
    ]
    assert [w.wait(120) for w in workers] == [0] * PROCESSES

    total = campaigns * lines  # every line busy, no call beyond the campaign's limit
    assert duplicates(database_url) == []
    assert count_mismatches(database_url) == []
    per_contact = query(
        database_url,
        "SELECT count(*) AS attempts, count(*) FILTER (WHERE ended_at IS NULL) AS open "
        "FROM call_attempts GROUP BY contact_id",
    )
    assert len(per_contact) == total
    assert {(r["attempts"], r["open"]) for r in per_contact} == {(1, 1)}
    per_campaign_open = query(
        database_url,
        "SELECT count(*) FROM call_attempts WHERE ended_at IS NULL GROUP BY campaign_id",
    )
    assert [r[0] for r in per_campaign_open] == [lines] * campaigns
    calls = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert len(calls) == total
    assert len({c["attempt_id"] for c in calls}) == total
    # The work really was shared: more than one process placed calls.
    assert len({c["pid"] for c in calls}) > 1
