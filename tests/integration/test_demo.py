"""`voicesurvey demo` end to end, small: every contact final, and the report matches the DB."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from tests.support.cli import Invoke
from tests.support.syncdb import query

FINAL = {"completed", "refused", "partial", "not_reached", "failed", "do_not_call"}


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
    responses = query(database_url, "SELECT count(*) FROM survey_responses")[0][0]
    assert len(rows) == responses
