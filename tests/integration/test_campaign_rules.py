"""The campaign's contact rules through the API and the CLI: stored, shown, refused by path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.cli import Invoke
from tests.support.factories import call_window, campaign_document, create_campaign
from tests.support.seed import fetch_all

Sessions = async_sessionmaker[AsyncSession]

RULES = {"busy": 15, "no_answer": [60, 240], "machine": 120}
WITH_RULES: dict[str, Any] = {
    "retry_rules": RULES,
    "not_before": "2026-10-01",
    "not_after": "2026-12-31",
    "resume_partials": False,
    "call_window": call_window(blackout_dates=["2026-12-08", "2026-12-25"]),
}

YAML_DOCUMENT = """
name: Natale
language: it-IT
timezone: Europe/Rome
retry_rules: {busy: 15, no_answer: [60, 240], machine: 120}
not_before: 2026-10-01
not_after: 2026-12-31
resume_partials: false
call_window:
  start: "09:00"
  end: "20:00"
  days: [mon, tue, wed, thu, fri]
  blackout_dates: [2026-12-08, 2026-12-25]
"""


def yaml_document() -> str:
    rest = campaign_document()
    body = {k: rest[k] for k in ("script", "questions")}
    return YAML_DOCUMENT + yaml.safe_dump(body, allow_unicode=True)


def assert_shows_the_rules(body: dict[str, Any]) -> None:
    assert body["retry_rules"] == RULES
    assert (body["not_before"], body["not_after"]) == ("2026-10-01", "2026-12-31")
    assert body["resume_partials"] is False
    assert body["call_window"]["blackout_dates"] == ["2026-12-08", "2026-12-25"]


async def test_rules_are_stored_in_their_columns_and_shown(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    created = await create_campaign(client, **WITH_RULES)

    assert_shows_the_rules(created)
    assert_shows_the_rules((await client.get(f"/api/campaigns/{created['id']}")).json())
    assert_shows_the_rules((await client.get("/api/campaigns")).json()[0])
    [row] = await fetch_all(
        sessions,
        "SELECT retry_rules, not_before::text, not_after::text, resume_partials, call_window "
        "FROM campaigns",
    )
    assert row.retry_rules == RULES
    assert (row.not_before, row.not_after, row.resume_partials) == (
        "2026-10-01",
        "2026-12-31",
        False,
    )
    assert row.call_window["blackout_dates"] == ["2026-12-08", "2026-12-25"]


async def test_yaml_with_unquoted_dates_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/campaigns",
        content=yaml_document().encode(),
        headers={"content-type": "application/yaml"},
    )

    assert response.status_code == 201, response.text
    assert_shows_the_rules(response.json())


async def test_a_document_without_rules_gets_the_defaults(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    created = await create_campaign(client)

    assert created["retry_rules"] == {}
    assert (created["not_before"], created["not_after"]) == (None, None)
    assert created["resume_partials"] is True
    [row] = await fetch_all(sessions, "SELECT call_window, resume_partials FROM campaigns")
    assert "blackout_dates" not in row.call_window and row.resume_partials is True


BAD: list[tuple[str, dict[str, Any], list[Any]]] = [
    ("unknown outcome", {"retry_rules": {"bored": 5}}, ["body", "retry_rules", "bored", "[key]"]),
    ("negative delay", {"retry_rules": {"busy": -1}}, ["body", "retry_rules", "busy"]),
    ("empty schedule", {"retry_rules": {"no_answer": []}}, ["body", "retry_rules", "no_answer"]),
    ("dates reversed", {"not_before": "2026-12-31", "not_after": "2026-10-01"},
     ["body", "not_after"]),
    ("not a date", {"not_before": "1 Oct 2026"}, ["body", "not_before"]),
    ("bad blackout", {"call_window": call_window(blackout_dates=["2026-13-01"])},
     ["body", "call_window", "blackout_dates", 0]),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "loc"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
async def test_a_bad_rule_is_a_422_naming_its_path(
    client: httpx.AsyncClient, sessions: Sessions, overrides: dict[str, Any], loc: list[Any]
) -> None:
    response = await client.post("/api/campaigns", json=campaign_document(**overrides))

    assert response.status_code == 422, response.text
    assert loc in [error["loc"] for error in response.json()["detail"]]
    assert await fetch_all(sessions, "SELECT id FROM campaigns") == []


def test_the_cli_reads_and_shows_the_rules(voicesurvey: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "natale.yaml"
    path.write_text(yaml_document(), encoding="utf-8")
    as_json = tmp_path / "plain.json"
    as_json.write_text(json.dumps(campaign_document()), encoding="utf-8")

    assert voicesurvey("campaign", "create", str(path)).exit_code == 0
    assert voicesurvey("campaign", "create", str(as_json)).exit_code == 0
    shown = voicesurvey("campaign", "show", "1").stdout
    plain = voicesurvey("campaign", "show", "2").stdout

    assert "busy 15; machine 120; no_answer 60, 240" in shown
    assert "2026-10-01 to 2026-12-31" in shown
    assert "2026-12-08, 2026-12-25" in shown
    assert "resume partials" in shown and "│ no" in shown
    assert "none (retry after)" in plain and "│ yes" in plain


def test_the_cli_names_a_bad_rule(voicesurvey: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_document().replace("busy: 15", "busy: soon"), encoding="utf-8")

    result = voicesurvey("campaign", "create", str(path))

    assert result.exit_code == 1
    assert "retry_rules.busy" in result.stderr
