"""The per-question report of a survey with piped texts and quotas: the stats API and
`voicesurvey report` show each text for a reader (no respondent), each quota's fill, and the
answers said back to the respondent."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.scheduler.tick import run_tick
from app.telephony.mock import MockProvider
from tests.integration.test_dispatch import make_ctx
from tests.integration.test_questionnaire import ALL_DAY, create, hang_up
from tests.support.cli import Invoke, Result
from tests.support.factories import OMIT, campaign_document, csv_body
from tests.support.seed import fetch_all
from tests.support.voice import Conversation

Sessions = async_sessionmaker[AsyncSession]

TEXTS = {
    "owns_car": {"it-IT": "Ha un'auto, {contact.name|}?", "en-US": "A car, {contact.name|}?"},
    "brand": {
        "it-IT": "Ha detto {answer.owns_car}: quale marca, a {contact.city|zona}?",
        "en-US": "You said {answer.owns_car}: which brand, in {contact.city|your area}?",
    },
    "age": {"it-IT": "Quanti anni ha?", "en-US": "How old are you?"},
}
# What a reader of the report sees: what is piped, never a respondent's value or the default.
FOR_READER = {
    "it-IT": {
        "owns_car": "Ha un'auto, [contact.name]?",
        "brand": "Ha detto [answer.owns_car]: quale marca, a [contact.city]?",
        "age": "Quanti anni ha?",
    },
    "en-US": {
        "owns_car": "A car, [contact.name]?",
        "brand": "You said [answer.owns_car]: which brand, in [contact.city]?",
        "age": "How old are you?",
    },
}


def document(languages: list[str], **overrides: Any) -> dict[str, Any]:
    """A bilingual survey with piped texts, two quotas on age and answers said back below 0.6."""
    base: dict[str, Any] = {
        "language": OMIT,
        "languages": languages,
        "call_window": ALL_DAY,
        "retry_after_minutes": [0],
        "confirm_below": 0.6,
        "questions": [
            {"id": "owns_car", "type": "yes_no", "text": TEXTS["owns_car"]},
            {
                "id": "brand",
                "type": "choice",
                "text": TEXTS["brand"],
                "choices": [
                    "fiat",
                    {"value": "other", "text": {"it-IT": "altra", "en-US": "other"}},
                ],
                "ask_if": {"owns_car": True},
            },
            {"id": "age", "type": "number", "text": TEXTS["age"]},
        ],
        "quotas": [
            {"name": "young", "when": {"age": {"lt": 35}}, "target": 2},
            {"name": "adults", "when": {"age": {"ge": 35}}, "target": 1},
        ],
    }
    return campaign_document(**{**base, **overrides})


async def interview_two(client: httpx.AsyncClient, sessions: Sessions, campaign_id: int) -> None:
    """Anna, 30, confirms her age when it is said back; Bruno, 40, corrects his."""
    body = csv_body(
        ["phone_number", "name", "city", "language"],
        ["+393331110001", "Anna", "Torino", "it-IT"],
        ["+393331110002", "Bruno", "Milano", "it-IT"],
    )
    imported = await client.post(
        f"/api/campaigns/{campaign_id}/contacts",
        content=body.encode(),
        headers={"content-type": "text/csv"},
    )
    assert imported.json()["imported"] == 2, imported.text
    assert (await client.post(f"/api/campaigns/{campaign_id}/start")).status_code == 200
    await run_tick(make_ctx(sessions, MockProvider()))
    attempts = await fetch_all(
        sessions,
        "SELECT a.id FROM call_attempts a JOIN contacts c ON c.id = a.contact_id ORDER BY c.id",
    )
    anna, bruno = (Conversation(client, a.id) for a in attempts)

    await anna.answer_call()
    await anna.say("sì")
    asked = await anna.say("sì")
    assert asked.says[-1].startswith("Ha detto sì: quale marca, a Torino?")  # the call is piped
    await anna.say("fiat")
    assert (await anna.say("trenta", confidence=0.3)).says == ["Ho capito 30, giusto?"]
    await anna.say("sì")
    await hang_up(client, anna)

    await bruno.answer_call()
    for reply in ("sì", "sì", "fiat"):
        await bruno.say(reply)
    await bruno.say("quattordici", confidence=0.3)
    await bruno.say("no")
    await bruno.say("quaranta")
    await hang_up(client, bruno)


def flat(text: str) -> str:
    """The output with every run of spaces and line breaks as one space (titles wrap)."""
    return " ".join(text.split())


def row(output: str, first_cell: str) -> list[str]:
    """The cells of the table row whose first cell is `first_cell`."""
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in:\n{output}")


def report_of(voicesurvey: Invoke, campaign_id: int) -> Result:
    result = voicesurvey("report", str(campaign_id))
    assert result.exit_code == 0, result.stderr
    return result


@pytest.mark.parametrize("languages", [["it-IT", "en-US"], ["en-US", "it-IT"]])
async def test_stats_show_each_text_for_a_reader_in_the_first_language(
    client: httpx.AsyncClient, languages: list[str]
) -> None:
    campaign_id = await create(client, document(languages))

    questions = (await client.get(f"/api/campaigns/{campaign_id}/stats")).json()["questions"]

    assert {qid: stats["text"] for qid, stats in questions.items()} == FOR_READER[languages[0]]
    # The responses export names its columns with the same texts.
    page = (await client.get(f"/api/campaigns/{campaign_id}/responses")).json()
    assert {q["id"]: q["text"] for q in page["questions"]} == FOR_READER[languages[0]]


async def test_stats_texts_after_interviews_show_no_respondent_value(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await create(client, document(["it-IT", "en-US"]))
    await interview_two(client, sessions, campaign_id)

    stats = (await client.get(f"/api/campaigns/{campaign_id}/stats")).json()

    assert {qid: q["text"] for qid, q in stats["questions"].items()} == FOR_READER["it-IT"]
    assert stats["quotas"] == [
        {"name": "adults", "target": 1, "completes": 1, "full": True},
        {"name": "young", "target": 2, "completes": 1, "full": False},
    ]


async def test_cli_report_shows_texts_quotas_and_answers_said_back(
    client: httpx.AsyncClient, sessions: Sessions, voicesurvey: Invoke
) -> None:
    campaign_id = await create(client, document(["it-IT", "en-US"]))
    await interview_two(client, sessions, campaign_id)

    # The command runs its own event loop, so it runs beside this test's.
    result = await asyncio.to_thread(report_of, voicesurvey, campaign_id)

    output = flat(result.stdout)
    assert "owns_car: Ha un'auto, [contact.name]? (2 answered" in output
    assert "brand: Ha detto [answer.owns_car]: quale marca, a [contact.city]? (2" in output
    assert "{" not in result.stdout and "Anna" not in result.stdout
    assert "Quotas" in output
    assert row(result.stdout, "young")[:4] == ["young", "2", "1", "50%"]
    adults = row(result.stdout, "adults")
    assert (adults[:4], adults[-1]) == (["adults", "1", "1", "100%"], "full")
    assert row(result.stdout, "said back, confirmed")[:3] == ["said back, confirmed", "1", "50%"]
    assert row(result.stdout, "said back, corrected")[:3] == ["said back, corrected", "1", "50%"]


def test_cli_report_of_a_campaign_created_by_the_cli(voicesurvey: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps(document(["en-US", "it-IT"])), encoding="utf-8")
    created = voicesurvey("campaign", "create", str(path))
    assert created.exit_code == 0, created.stderr

    result = report_of(voicesurvey, 1)

    output = flat(result.stdout)
    assert "brand: You said [answer.owns_car]: which brand, in [contact.city]?" in output
    assert row(result.stdout, "young")[:4] == ["young", "2", "0", "0%"]
    assert row(result.stdout, "adults")[-1] == ""  # not full
    assert "said back" not in output  # nothing was said back yet


def test_cli_report_without_quotas_has_no_quota_table(voicesurvey: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "campaign.json"
    path.write_text(
        json.dumps(
            document(
                ["it-IT"],
                quotas=OMIT,
                questions=[
                    {"id": "city", "type": "free_text", "text": "Vive a {contact.city|}?"},
                ],
            )
        ),
        encoding="utf-8",
    )
    assert voicesurvey("campaign", "create", str(path)).exit_code == 0

    output = flat(report_of(voicesurvey, 1).stdout)

    assert "city: Vive a [contact.city]?" in output
    assert "Quotas" not in output and "quota" not in output
