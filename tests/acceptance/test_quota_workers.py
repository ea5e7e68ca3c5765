"""A quota of 5 filled by two real uvicorn workers completing interviews at once, with simulated
respondents on 10 lines: no completion is lost, the overshoot stays within the interviews that
can be in progress, and dialling stops."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.acceptance.processes import Service, free_port, service_env, wait_until
from tests.support.factories import call_window, campaign_document, csv_body
from tests.support.syncdb import count_mismatches, duplicates, query

pytestmark = pytest.mark.acceptance

TARGET = 5
LINES = 10  # max_concurrent_calls: at most this many interviews are ever in progress
CONTACTS = 40


def test_concurrent_workers_fill_a_quota_within_its_bound(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = service_env(
        database_url,
        MOCK_SIMULATION="on",
        MOCK_SIMULATION_MIX="complete=1",
        MOCK_STEP_DELAY_SECONDS="0.02",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        SCHEDULER_INTERVAL_SECONDS="0.2",
    )
    service = Service(env, tmp_path / "service.log", workers=2, port=port)
    document = campaign_document(
        call_window=call_window(
            start="00:00", end="23:59:59", days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        ),
        max_concurrent_calls=LINES,
        # Everyone who rates satisfaction falls in the quota: it is decided at question one.
        quotas=[{"name": "raters", "when": {"satisfaction": {"ge": 1}}, "target": TARGET}],
    )
    try:
        wait_until(
            lambda: service.log().count("Application startup complete") == 2, 60, "two workers"
        )
        with httpx.Client(base_url=service.url, timeout=30) as api:
            campaign_id = api.post("/api/campaigns", json=document).json()["id"]
            numbers = [[f"+3933300{n:05d}"] for n in range(CONTACTS)]
            body = csv_body(["phone_number"], *numbers).encode()
            headers = {"content-type": "text/csv"}
            api.post(f"/api/campaigns/{campaign_id}/contacts", content=body, headers=headers)
            assert api.post(f"/api/campaigns/{campaign_id}/start").status_code == 200

            def completed() -> bool:
                return api.get(f"/api/campaigns/{campaign_id}").json()["status"] == "completed"

            wait_until(completed, 120, "the campaign to complete once its quota is full")
            stats = api.get(f"/api/campaigns/{campaign_id}/stats").json()
        log = service.log()
    finally:
        service.stop()

    [quota] = stats["quotas"]
    completes = query(database_url, "SELECT count(*) FROM survey_responses WHERE completed")[0][0]
    quota_full = query(
        database_url,
        "SELECT count(*) FROM survey_responses WHERE screened_out_by = 'quota:raters'",
    )[0][0]
    # Every completion was counted, by whichever worker: none lost to a race.
    assert quota["completes"] == completes
    # Full, and over by at most the interviews that could be past question one when it filled.
    assert TARGET <= completes < TARGET + LINES
    # Whoever got past question one after the quota filled was turned away there (timing
    # decides whether anyone did), and dialling stopped with contacts left uncalled.
    assert stats["contacts"]["screened_out"] == quota_full
    assert stats["contacts"]["completed"] == completes
    assert stats["contacts"]["pending"] > 0
    assert stats["contacts"]["in_progress"] == 0
    assert "Traceback" not in log
    assert duplicates(database_url) == [] and count_mismatches(database_url) == []
