"""The spoken survey through the voice webhook, persisted per turn (mock provider, real DB)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.scheduler.tick import run_tick
from app.telephony.mock import MockProvider
from tests.integration.test_dispatch import make_ctx
from tests.support.factories import call_window, campaign_document, create_campaign, csv_body
from tests.support.seed import execute, fetch_all
from tests.support.voice import Conversation

Sessions = async_sessionmaker[AsyncSession]
ALL_DAY = call_window(
    start="00:00", end="23:59:59", days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
)


async def start_call(
    client: httpx.AsyncClient, sessions: Sessions, **document: Any
) -> Conversation:
    """Create, fill and start a one-contact campaign, dispatch it, return its conversation."""
    campaign = await create_campaign(
        client, call_window=ALL_DAY, retry_after_minutes=[0], **document
    )
    body = csv_body(["phone_number"], ["+39 02 1234 5678"])
    response = await client.post(
        f"/api/campaigns/{campaign['id']}/contacts",
        content=body.encode(),
        headers={"content-type": "text/csv"},
    )
    assert response.json()["imported"] == 1
    assert (await client.post(f"/api/campaigns/{campaign['id']}/start")).status_code == 200
    await run_tick(make_ctx(sessions, MockProvider()))
    attempt = (await fetch_all(sessions, "SELECT id FROM call_attempts"))[0]
    return Conversation(client, attempt.id)


async def end_call(client: httpx.AsyncClient, conv: Conversation, duration: int = 60) -> None:
    body = {"status": "completed", "duration": duration, "sequence_number": 9}
    response = await client.post(
        f"/webhooks/telephony/events?attempt_id={conv.attempt_id}", json=body
    )
    assert response.status_code == 204


async def state_of(sessions: Sessions) -> tuple[str, str | None, Any]:
    contact = (await fetch_all(sessions, "SELECT state FROM contacts"))[0]
    attempt = (await fetch_all(sessions, "SELECT outcome FROM call_attempts"))[0]
    responses = await fetch_all(sessions, "SELECT * FROM survey_responses")
    return contact.state, attempt.outcome, responses


async def test_italian_survey_with_repeat_and_skip_is_stored_complete(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    conv = await start_call(client, sessions)

    intro = await conv.answer_call()
    assert "assistente automatico di ACME" in intro.text and "due minuti" in intro.text
    first = await conv.say("sì, va bene")
    assert "quanto è soddisfatto" in first.text
    again = await conv.say("può ripetere?")
    assert "quanto è soddisfatto" in again.text
    await conv.say("otto")
    await conv.press("#")  # skip "Ci consiglierebbe?"
    await conv.say("la seconda")
    last = await conv.say("più personale nei negozi")
    assert last.hangs_up and "Arrivederci" in last.text
    await end_call(client, conv)

    state, outcome, responses = await state_of(sessions)
    assert (state, outcome) == ("completed", "completed")
    assert len(responses) == 1 and responses[0].completed is True
    answers = responses[0].answers
    assert answers["satisfaction"]["value"] == 8
    assert answers["recommend"]["skipped"] == "skipped_by_respondent"
    assert answers["channel"]["value"] == "email"
    assert answers["comment"]["value"] == "più personale nei negozi"
    attempt = (await fetch_all(sessions, "SELECT * FROM call_attempts"))[0]
    assert attempt.provider_call_id and attempt.answered_at <= attempt.ended_at


async def test_english_survey_answered_on_the_keypad(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    document = campaign_document(language="en-US")
    document["script"] = {
        "intro": "Hello, this is ACME's automated assistant.",
        "consent": "Do you have two minutes? Please say yes or no.",
        "refused": "No problem. Goodbye.",
        "closing": "Thank you for your time. Goodbye.",
    }
    document["questions"] = [
        {
            "id": "score",
            "type": "scale",
            "text": "From 1 to 10, how satisfied are you?",
            "min": 1,
            "max": 10,
        },
        {"id": "again", "type": "yes_no", "text": "Would you buy again?"},
        {"id": "count", "type": "number", "text": "How many times did you visit us?"},
    ]
    conv = await start_call(
        client,
        sessions,
        **{k: v for k, v in document.items() if k in ("language", "script", "questions")},
    )

    await conv.answer_call()
    await conv.press("1")  # yes to consent
    await conv.press("10")
    await conv.say("yeah sure")
    last = await conv.say("twenty one")
    assert last.hangs_up and "Thank you" in last.text
    await end_call(client, conv)

    state, _, responses = await state_of(sessions)
    assert state == "completed"
    assert {k: v["value"] for k, v in responses[0].answers.items()} == {
        "score": 10,
        "again": True,
        "count": 21,
    }


async def test_a_retried_webhook_does_not_advance_the_survey_twice(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    conv = await start_call(client, sessions)
    await conv.answer_call()
    await conv.say("sì")
    answered = await conv.say("sette")

    retried = await conv.replay_last()

    assert retried.body == answered.body
    _, _, responses = await state_of(sessions)
    assert responses[0].answers["satisfaction"]["value"] == 7
    assert list(responses[0].answers) == ["satisfaction"]


async def test_refusal_stores_no_answers(client: httpx.AsyncClient, sessions: Sessions) -> None:
    conv = await start_call(client, sessions)
    await conv.answer_call()

    goodbye = await conv.say("no, non ho tempo")
    assert goodbye.hangs_up and "Nessun problema" in goodbye.text
    await end_call(client, conv, duration=15)

    assert await state_of(sessions) == ("refused", "refused", [])


async def test_hang_up_after_consent_keeps_answers_as_partial(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    # Without resume_partials the broken-off interview is final at once (test_followups.py
    # has the default: the contact is called back to finish it).
    conv = await start_call(client, sessions, resume_partials=False)
    await conv.answer_call()
    await conv.say("sì")
    await conv.say("nove")

    await end_call(client, conv, duration=30)  # the respondent hung up mid-survey

    state, outcome, responses = await state_of(sessions)
    assert (state, outcome) == ("partial", "partial")
    assert responses[0].answers["satisfaction"]["value"] == 9
    assert responses[0].completed is False


async def test_opt_out_lists_the_number_and_stops_the_survey(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    conv = await start_call(client, sessions)
    await conv.answer_call()
    await conv.say("sì")

    goodbye = await conv.say("non chiamatemi più")
    assert goodbye.hangs_up
    await end_call(client, conv)

    state, outcome, _ = await state_of(sessions)
    assert (state, outcome) == ("do_not_call", "opted_out")
    listed = await fetch_all(sessions, "SELECT phone_number FROM do_not_call")
    assert [r.phone_number for r in listed] == ["+390212345678"]


async def test_answering_machine_is_hung_up_on_and_retried(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    conv = await start_call(client, sessions)

    turn = await conv.answer_call(answered_by="machine")
    assert turn.hangs_up and turn.says == []
    await end_call(client, conv, duration=5)

    state, outcome, responses = await state_of(sessions)
    assert (state, outcome, responses) == ("pending", "machine", [])


@pytest.mark.parametrize("missing", ["attempt_id", "turn_not_int"])
async def test_voice_webhook_rejects_a_malformed_request(
    client: httpx.AsyncClient, missing: str
) -> None:
    url = (
        "/webhooks/telephony/voice"
        if missing == "attempt_id"
        else "/webhooks/telephony/voice?attempt_id=1&turn=x"
    )
    response = await client.post(url, json={})

    assert response.status_code == 422
    assert ("attempt_id" if missing == "attempt_id" else "turn") in json.dumps(response.json())


async def test_a_damaged_survey_hangs_up_politely_instead_of_failing(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    conv = await start_call(client, sessions)
    await execute(sessions, "UPDATE campaigns SET definition = '{}'::jsonb")

    turn = await conv.answer_call()

    assert turn.hangs_up and turn.says == []
