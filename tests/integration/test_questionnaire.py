"""Questionnaire v2 through the API and the voice webhook (mock provider, real database):
several languages, branching, screen-outs, quotas, and what the results then say."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.scheduler.tick import run_tick
from app.telephony.mock import MockProvider
from tests.integration.test_dispatch import make_ctx
from tests.support.factories import call_window, campaign_document, csv_body
from tests.support.seed import execute, fetch_all
from tests.support.voice import Conversation

Sessions = async_sessionmaker[AsyncSession]
ALL_DAY = call_window(
    start="00:00", end="23:59:59", days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
)

BILINGUAL: dict[str, Any] = campaign_document(
    language=None,
    languages=["it-IT", "en-US"],
    call_window=ALL_DAY,
    retry_after_minutes=[0],
    script={
        "intro": {"it-IT": "Buongiorno {contact.name|}.", "en-US": "Hello {contact.name|}."},
        "consent": {"it-IT": "Ha due minuti?", "en-US": "Do you have two minutes?"},
        "refused": {"it-IT": "Grazie.", "en-US": "Thanks."},
        "closing": {"it-IT": "Arrivederci.", "en-US": "Goodbye."},
    },
    questions=[
        {"id": "owns_car", "type": "yes_no", "text": {"it-IT": "Ha un'auto?", "en-US": "A car?"}},
        {
            "id": "brand",
            "type": "choice",
            "text": {"it-IT": "Quale marca?", "en-US": "Which brand?"},
            "choices": ["fiat", {"value": "other", "text": {"it-IT": "altra", "en-US": "other"}}],
            "ask_if": {"owns_car": True},
        },
        {
            "id": "age",
            "type": "number",
            "text": {"it-IT": "Quanti anni ha?", "en-US": "How old are you?"},
            "screen_out_if": {"age": {"lt": 18}},
        },
    ],
    quotas=[{"name": "young", "when": {"age": {"lt": 35}}, "target": 1}],
)


async def create(client: httpx.AsyncClient, document: dict[str, Any]) -> int:
    response = await client.post("/api/campaigns", json=document)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def call_each(
    client: httpx.AsyncClient, sessions: Sessions, campaign_id: int, rows: list[list[str]]
) -> list[Conversation]:
    """Import the contacts, start the campaign, dispatch: one conversation per contact."""
    body = csv_body(["phone_number", "name", "language"], *rows)
    imported = await client.post(
        f"/api/campaigns/{campaign_id}/contacts",
        content=body.encode(),
        headers={"content-type": "text/csv"},
    )
    assert imported.json()["imported"] == len(rows), imported.text
    assert (await client.post(f"/api/campaigns/{campaign_id}/start")).status_code == 200
    await run_tick(make_ctx(sessions, MockProvider()))
    attempts = await fetch_all(
        sessions,
        "SELECT a.id FROM call_attempts a JOIN contacts c ON c.id = a.contact_id ORDER BY c.id",
    )
    return [Conversation(client, a.id) for a in attempts]


async def hang_up(client: httpx.AsyncClient, conv: Conversation) -> None:
    body = {"status": "completed", "duration": 60, "sequence_number": 9}
    url = f"/webhooks/telephony/events?attempt_id={conv.attempt_id}"
    assert (await client.post(url, json=body)).status_code == 204


async def test_a_v2_document_is_stored_with_its_quotas(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await create(client, BILINGUAL)

    stored = (await client.get(f"/api/campaigns/{campaign_id}")).json()
    quotas = await fetch_all(sessions, "SELECT name, target, completes FROM campaign_quotas")

    assert stored["language"] == "it-IT"
    assert stored["definition"]["questions"][1]["ask_if"] == {"owns_car": True}
    assert [tuple(q) for q in quotas] == [("young", 1, 0)]


async def test_a_text_missing_a_language_is_a_422_at_its_path(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    document = {**BILINGUAL, "questions": [{"id": "q", "type": "yes_no", "text": {"it-IT": "?"}}]}

    response = await client.post("/api/campaigns", json=document)

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "questions", 0, "text", "en-US"]
    assert (await fetch_all(sessions, "SELECT count(*) FROM campaigns"))[0][0] == 0


async def test_an_unsupported_contact_language_is_a_rejected_row(
    client: httpx.AsyncClient,
) -> None:
    campaign_id = await create(client, BILINGUAL)
    body = csv_body(
        ["phone_number", "language"], ["+393331110001", "en-US"], ["+393331110002", "xx"]
    )

    report = (
        await client.post(
            f"/api/campaigns/{campaign_id}/contacts",
            content=body.encode(),
            headers={"content-type": "text/csv"},
        )
    ).json()

    assert report["imported"] == 1
    assert report["rejected"][0]["row"] == 2 and "language" in report["rejected"][0]["error"]


async def test_interviews_branch_screen_out_and_fill_a_quota(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await create(client, BILINGUAL)
    rows = [
        ["+393331110001", "Anna", "en-US"],  # car, 30: completes, fills "young"
        ["+393331110002", "Bruno", ""],  # no car, 16: screened out by the question
        ["+393331110003", "Carla", "it-IT"],  # car, 25 after "young" is full: quota_full
    ]
    anna, bruno, carla = await call_each(client, sessions, campaign_id, rows)

    hello = await anna.answer_call()
    assert hello.says[0] == "Hello Anna."
    for reply in ("yes", "yes", "other", "thirty"):
        await anna.say(reply)
    await hang_up(client, anna)

    await bruno.answer_call()
    for reply in ("sì", "no"):
        await bruno.say(reply)
    goodbye = await bruno.say("sedici")
    assert goodbye.hangs_up
    await hang_up(client, bruno)

    await carla.answer_call()
    for reply in ("sì", "sì", "fiat"):
        await carla.say(reply)
    await carla.say("venticinque")
    await hang_up(client, carla)

    contacts = await fetch_all(sessions, "SELECT name, state, language FROM contacts ORDER BY id")
    assert [tuple(c) for c in contacts] == [
        ("Anna", "completed", "en-US"),
        ("Bruno", "screened_out", None),
        ("Carla", "screened_out", "it-IT"),
    ]
    responses = await fetch_all(
        sessions,
        "SELECT r.language, r.screened_out_by, r.answers, a.language AS spoken "
        "FROM survey_responses r JOIN call_attempts a ON a.id = r.call_attempt_id "
        "ORDER BY r.contact_id",
    )
    assert [(r.language, r.spoken, r.screened_out_by) for r in responses] == [
        ("en-US", "en-US", None),
        ("it-IT", "it-IT", "question:age"),
        ("it-IT", "it-IT", "quota:young"),
    ]
    assert responses[0].answers["brand"]["value"] == "other"
    assert responses[1].answers["brand"]["skipped"] == "not_applicable"

    stats = (await client.get(f"/api/campaigns/{campaign_id}/stats")).json()
    assert stats["quotas"] == [{"name": "young", "target": 1, "completes": 1, "full": True}]
    assert stats["contacts"]["screened_out"] == 2
    assert stats["dispositions"]["4.70"]["count"] == 2
    # Screened out is not eligible: out of the response rate's denominator.
    assert stats["rates"]["RR1"] == 1.0


async def test_a_campaign_whose_quotas_are_all_full_stops_dialling(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await create(client, BILINGUAL)
    rows = [["+393331110001", "Anna", "en-US"], ["+393331110002", "Bruno", "it-IT"]]
    body = csv_body(["phone_number", "name", "language"], *rows)
    await client.post(
        f"/api/campaigns/{campaign_id}/contacts",
        content=body.encode(),
        headers={"content-type": "text/csv"},
    )
    await client.post(f"/api/campaigns/{campaign_id}/start")
    await execute(sessions, "UPDATE campaign_quotas SET completes = target")

    report = await run_tick(make_ctx(sessions, MockProvider()))

    assert report.dispatched == 0
    status = (await client.get(f"/api/campaigns/{campaign_id}")).json()["status"]
    assert status == "completed"  # nothing left worth calling, no call in flight


async def test_stats_show_confirmed_corrected_and_not_applicable_answers(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await create(client, {**BILINGUAL, "confirm_below": 0.6, "quotas": None})
    rows = [["+393331110001", "Anna", ""], ["+393331110002", "Bruno", ""]]
    anna, bruno = await call_each(client, sessions, campaign_id, rows)

    await anna.answer_call()
    for reply in ("sì", "no"):
        await anna.say(reply)
    asked_back = await anna.say("quaranta", confidence=0.3)
    assert asked_back.says == ["Ho capito 40, giusto?"]
    await anna.say("sì")
    await hang_up(client, anna)

    await bruno.answer_call()
    for reply in ("sì", "no"):
        await bruno.say(reply)
    await bruno.say("quattordici", confidence=0.3)
    await bruno.say("no")
    await bruno.say("quarantuno")
    await hang_up(client, bruno)

    stats = (await client.get(f"/api/campaigns/{campaign_id}/stats")).json()["questions"]
    age = stats["age"]
    assert (age["answered"], age["confirmed"], age["corrected"]) == (2, 1, 1)
    assert (age["confirmed_share"], age["corrected_share"]) == (0.5, 0.5)
    brand = stats["brand"]
    assert brand["skipped_by_reason"] == {"not_applicable": 2}
    assert (brand["asked"], brand["skipped"], brand["skip_rate"]) == (0, 0, None)
