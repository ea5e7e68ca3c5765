"""`voicesurvey check`: GO on a healthy database, NO-GO naming the gate that failed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support.cli import Invoke
from tests.support.pgbouncer import Bouncer
from tests.support.syncdb import query, seed


def gates(result_stdout: str) -> dict[str, str]:
    report = json.loads(result_stdout)
    return {g["gate"]: g["verdict"] for g in report["gates"]}


def test_healthy_database_is_go(voicesurvey: Invoke, database_url: str, tmp_path: Path) -> None:
    seed(database_url, contacts=3)

    result = voicesurvey("check", "--json", "--source", str(tmp_path))

    assert result.exit_code == 0, result.stdout
    verdicts = gates(result.stdout)
    assert verdicts["G1.1"] == verdicts["G1.2"] == verdicts["G1.3"] == verdicts["G8.1"] == "PASS"
    assert verdicts["G0.1"] == verdicts["G3.1"] == verdicts["G4.2"] == "SKIP"
    assert json.loads(result.stdout)["go"] is True


def test_behind_a_transaction_pooler_the_check_reads_the_direct_database(
    voicesurvey: Invoke,
    database_url: str,
    bouncer: Bouncer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As deployed with PgBouncer: DATABASE_URL is the pooler, LEADER_DATABASE_URL the server.
    The pooler refuses the direct connection's startup settings (keepalives)."""
    seed(database_url, contacts=3)
    database = make_url(database_url).database
    assert database is not None
    monkeypatch.setenv("DATABASE_URL", bouncer.url(database))
    monkeypatch.setenv("LEADER_DATABASE_URL", database_url)

    result = voicesurvey("check", "--json", "--source", str(tmp_path))

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert gates(result.stdout)["G1.1"] == "PASS"


@pytest.mark.parametrize(
    ("damage", "gate"),
    [
        (
            "UPDATE contacts SET attempts_count = 2 WHERE id = (SELECT min(id) FROM contacts)",
            "G1.1",
        ),
        (
            "UPDATE contacts SET state = 'in_progress' WHERE id = (SELECT min(id) FROM contacts)",
            "G8.1",
        ),
        (
            "ALTER TABLE call_attempts DROP CONSTRAINT uq_call_attempts_contact_id_attempt_number",
            "G1.2",
        ),
    ],
)
def test_damaged_database_is_no_go_naming_the_gate(
    voicesurvey: Invoke, database_url: str, tmp_path: Path, damage: str, gate: str
) -> None:
    seed(database_url, contacts=3)
    query(database_url, damage)

    table = voicesurvey("check", "--source", str(tmp_path))
    as_json = voicesurvey("check", "--json", "--source", str(tmp_path))

    assert table.exit_code == as_json.exit_code == 1
    assert f"NO-GO: failed {gate}" in table.stdout
    assert gates(as_json.stdout)[gate] == "FAIL"
    failed = [g for g, v in gates(as_json.stdout).items() if v == "FAIL"]
    assert failed == [gate]


def test_leftover_incoming_files_fail_gate_0(voicesurvey: Invoke, tmp_path: Path) -> None:
    (tmp_path / "src" / "app").mkdir(parents=True)
    (tmp_path / "src" / "app" / "incoming_patch.py").write_text("")

    result = voicesurvey("check", "--json", "--source", str(tmp_path))

    assert result.exit_code == 1
    assert gates(result.stdout)["G0.1"] == "FAIL"


OPEN_ATTEMPT = """
INSERT INTO call_attempts (contact_id, campaign_id, attempt_number, status, started_at,
    last_event_at, ring_timeout_seconds, time_limit_seconds)
SELECT id, campaign_id, 1, 'queued', now() - make_interval(secs => $1),
    now() - make_interval(secs => $1), 30, 900
FROM contacts WHERE id = (SELECT min(id) FROM contacts)
"""


@pytest.mark.parametrize(
    ("placed_seconds_ago", "verdict"),
    [(1000, "PASS"), (30 + 900 + 300 + 60, "FAIL")],
    ids=["silent-but-maybe-live", "past-its-provable-end"],
)
def test_a_silent_call_fails_g8_only_once_it_is_provably_over(
    voicesurvey: Invoke, database_url: str, tmp_path: Path, placed_seconds_ago: int, verdict: str
) -> None:
    seed(database_url, contacts=1)
    query(database_url, "UPDATE contacts SET state = 'in_progress', attempts_count = 1")
    query(database_url, OPEN_ATTEMPT, float(placed_seconds_ago))

    result = voicesurvey("check", "--json", "--source", str(tmp_path))

    assert gates(result.stdout)["G8.1"] == verdict
