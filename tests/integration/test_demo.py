"""`voicesurvey demo` end to end, small: every contact final, and the report matches the DB."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from callsim.people.mix import DEFAULT_MIX
from tests.support.cli import Invoke
from tests.support.syncdb import query

FINAL = {
    "completed",
    "refused",
    "partial",
    "not_reached",
    "failed",
    "do_not_call",
    "screened_out",
}


def table_counts(stdout: str, names: set[str]) -> dict[str, int]:
    """Rows `│ name │ count │` of the printed tables."""
    counts = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line) if c.strip()]
        if len(cells) == 2 and cells[0] in names and cells[1].isdigit():
            counts[cells[0]] = int(cells[1])
    return counts


def test_demo_runs_a_campaign_to_the_end(
    voicesurvey: Invoke, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # Everyone but the people who ask to be called back in a minute: the demo would wait for
    # them (appointments have tests of their own).
    monkeypatch.setenv("MOCK_SIMULATION_MIX", DEFAULT_MIX.replace("callback=3", "callback=0"))

    result = voicesurvey("demo", "--contacts", "12", "--concurrency", "6")

    assert result.exit_code == 0, result.stdout + result.stderr
    states = {r["state"] for r in query(database_url, "SELECT state FROM contacts")}
    assert states <= FINAL
    by_state = {
        r["state"]: r["n"]
        for r in query(database_url, "SELECT state, count(*) AS n FROM contacts GROUP BY state")
    }
    assert table_counts(result.stdout, FINAL) == by_state
    assert sum(by_state.values()) == 12
    assert query(database_url, "SELECT status FROM campaigns")[0]["status"] == "completed"

    export = tmp_path / ".data" / "demo-results-campaign-1.csv"
    assert str(export.relative_to(tmp_path)) in result.stdout.replace("\n", "")
    rows = list(csv.DictReader(io.StringIO(export.read_text(encoding="utf-8-sig"))))
    # One row per interview: a resumed one's earlier, superseded response is not a row.
    live = "SELECT count(*) FROM survey_responses WHERE NOT superseded"
    assert len(rows) == query(database_url, live)[0][0]


def test_report_and_export_of_a_finished_campaign(
    voicesurvey: Invoke, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert voicesurvey("demo", "--contacts", "10", "--concurrency", "5").exit_code == 0

    report = voicesurvey("report", "1", "--json")
    assert report.exit_code == 0, report.stderr
    data = json.loads(report.stdout)
    assert sum(d["count"] for d in data["dispositions"].values()) == 10
    assert set(data["rates"]) == {"RR1", "COOP1", "REF1", "CON1"}
    assert "AAPOR rates" in voicesurvey("report", "1").stdout

    out_file = tmp_path / "responses.csv"
    exported = voicesurvey("export", "1", "--format", "csv", "--output", str(out_file))
    assert exported.exit_code == 0, exported.stderr
    raw = out_file.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    stored = query(
        database_url,
        "SELECT r.answers FROM survey_responses r ORDER BY r.id",
    )
    assert len(rows) == len(stored)
    for row, record in zip(rows, stored, strict=True):
        answers = json.loads(record["answers"])
        satisfaction = answers.get("satisfaction", {})
        expected = "" if satisfaction.get("value") is None else str(satisfaction["value"])
        assert row["satisfaction"] == expected

    as_json = voicesurvey("export", "1", "--format", "json")
    assert len(json.loads(as_json.stdout)) == len(stored)
    missing = voicesurvey("export", "99", "--format", "csv")
    assert missing.exit_code == 1 and "campaign 99 not found" in missing.stderr
