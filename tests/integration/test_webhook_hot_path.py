"""The webhooks' ORM-free path (app.calls.hotpath) against the full, locking path it shortcuts.

The same respondents are played twice through the HTTP webhooks: once as the service runs, once
with the short path switched off so that every request goes the full way. Everything stored must
be the same; concurrent deliveries of one request must still apply it once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.telephony import router as webhooks
from tests.integration.test_followups import campaign_with, dial, hang_up
from tests.support.seed import execute, fetch_all
from tests.support.voice import Conversation

Sessions = async_sessionmaker[AsyncSession]
Script = Callable[[httpx.AsyncClient, Sessions], Awaitable[None]]


async def _full_path_only(*_args: Any, **_kwargs: Any) -> None:
    return None


async def _rings_and_answers(client: httpx.AsyncClient, conv: Conversation) -> None:
    """Progress callbacks as a provider may send them: repeated, late, out of order."""
    url = f"/webhooks/telephony/events?attempt_id={conv.attempt_id}"
    for status, number, call in [
        ("ringing", 1, None),
        ("in-progress", 2, None),
        ("in-progress", 2, None),  # a retry of the same callback
        ("ringing", 1, None),  # a late one
        ("in-progress", 3, "CA-another-call"),  # not this attempt's call
    ]:
        body: dict[str, Any] = {"status": status, "sequence_number": number}
        if call:
            body["provider_call_id"] = call
        assert (await client.post(url, json=body)).status_code == 204


async def _complete_with_repeat_and_skip(client: httpx.AsyncClient, sessions: Sessions) -> None:
    await campaign_with(client, ["+39 02 1234 5678"])
    (conv,) = await dial(client, sessions)
    await _rings_and_answers(client, conv)
    await conv.answer_call()
    await conv.say("sì, va bene", confidence=0.81)
    await conv.say("può ripetere?")
    await conv.say("otto")
    await conv.press("#")
    await conv.say("la seconda")
    await conv.say("più personale nei negozi")
    await hang_up(client, conv, duration=60)


async def _resumed_after_a_hang_up(client: httpx.AsyncClient, sessions: Sessions) -> None:
    await campaign_with(client, ["+39 02 1234 5678"])
    (first,) = await dial(client, sessions)
    await _rings_and_answers(client, first)
    await first.answer_call()
    await first.say("sì")
    await first.say("nove")
    await hang_up(client, first)
    (second,) = await dial(client, sessions)
    await _rings_and_answers(client, second)
    await second.answer_call()
    await second.say("sì")
    await second.say("no")
    await second.press("2")
    await second.say("niente")
    await hang_up(client, second)


async def _refused(client: httpx.AsyncClient, sessions: Sessions) -> None:
    await campaign_with(client, ["+39 02 1234 5678"])
    (conv,) = await dial(client, sessions)
    await _rings_and_answers(client, conv)
    await conv.answer_call()
    await conv.say("no, non ho tempo")
    await hang_up(client, conv, duration=10)


async def _stored(sessions: Sessions) -> dict[str, Any]:
    """What the calls left in the database, without ids and clock times."""
    attempts = await fetch_all(
        sessions,
        "SELECT attempt_number, status, outcome, language, dialogue_state, answered_at IS NULL"
        " AS unanswered, last_sequence_number FROM call_attempts ORDER BY id",
    )
    responses = await fetch_all(
        sessions,
        "SELECT answers, completed, language, screened_out_by, superseded,"
        " resumed_from_id IS NOT NULL AS resumed FROM survey_responses ORDER BY id",
    )
    events = await fetch_all(sessions, "SELECT kind, detail FROM contact_events ORDER BY id")
    statuses = await fetch_all(
        sessions, "SELECT status, sequence_number FROM telephony_events ORDER BY id"
    )
    contacts = await fetch_all(sessions, "SELECT state, attempts_count FROM contacts")
    return {
        "attempts": [_without_ids(dict(r._mapping)) for r in attempts],
        "responses": [_without_ids(dict(r._mapping)) for r in responses],
        "events": [dict(r._mapping) for r in events],
        "statuses": [tuple(r) for r in statuses],
        "contacts": [tuple(r) for r in contacts],
    }


def _without_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _without_ids(v) for k, v in value.items() if k not in ("attempt_id", "resumed_from")
        }
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


async def _truncate(sessions: Sessions) -> None:
    await execute(sessions, "TRUNCATE campaigns, do_not_call RESTART IDENTITY CASCADE")


async def again_on_the_full_path(sessions: Sessions, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty database, and every webhook from now on the full way: to play a script again."""
    await _truncate(sessions)
    monkeypatch.setattr(webhooks, "quick_turn", _full_path_only)
    monkeypatch.setattr(webhooks, "quick_status", _full_path_only)


@pytest.mark.parametrize(
    "script", [_complete_with_repeat_and_skip, _resumed_after_a_hang_up, _refused]
)
async def test_the_short_and_the_full_path_store_the_same(
    client: httpx.AsyncClient,
    sessions: Sessions,
    monkeypatch: pytest.MonkeyPatch,
    script: Script,
) -> None:
    taken: list[str] = []
    quick_turn, quick_status = webhooks.quick_turn, webhooks.quick_status

    async def counted_turn(*args: Any) -> Any:
        reply = await quick_turn(*args)
        taken.append("turn" if reply is not None else "full")
        return reply

    async def counted_status(*args: Any, **kwargs: Any) -> Any:
        result = await quick_status(*args, **kwargs)
        taken.append("status" if result is not None else "full")
        return result

    monkeypatch.setattr(webhooks, "quick_turn", counted_turn)
    monkeypatch.setattr(webhooks, "quick_status", counted_status)
    await script(client, sessions)
    short = await _stored(sessions)
    # The short path did carry the turns and the progress callbacks; the final callback and
    # nothing else went the full way.
    assert taken.count("turn") >= 2 and taken.count("status") >= 4, taken

    await again_on_the_full_path(sessions, monkeypatch)
    await script(client, sessions)
    full = await _stored(sessions)

    assert short == full
    assert short["attempts"] and short["statuses"]  # there was something to compare


async def test_concurrent_deliveries_of_one_answer_apply_it_once(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await campaign_with(client, ["+39 02 1234 5678"])
    (conv,) = await dial(client, sessions)
    await conv.answer_call()
    await conv.say("sì")
    url = conv.turns[-1].action
    assert url is not None

    replies = await asyncio.gather(
        *(client.post(url, json={"speech": "sette", "confidence": 0.9}) for _ in range(12))
    )

    assert {r.status_code for r in replies} == {200}
    assert len({r.text for r in replies}) == 1  # every delivery got the same next question
    state = (await fetch_all(sessions, "SELECT dialogue_state FROM call_attempts"))[0]
    assert state.dialogue_state["engine"]["turn"] == 3  # answered, consent, this answer
    response = (await fetch_all(sessions, "SELECT answers FROM survey_responses"))[0]
    assert list(response.answers) == ["satisfaction"]
    assert response.answers["satisfaction"]["value"] == 7


async def test_status_callbacks_racing_an_answer_lose_neither(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await campaign_with(client, ["+39 02 1234 5678"])
    (conv,) = await dial(client, sessions)
    await conv.answer_call()
    await conv.say("sì")
    url = conv.turns[-1].action
    assert url is not None
    events = f"/webhooks/telephony/events?attempt_id={conv.attempt_id}"

    results = await asyncio.gather(
        client.post(url, json={"speech": "otto", "confidence": 0.9}),
        *(
            client.post(events, json={"status": status, "sequence_number": n})
            for n, status in enumerate(["ringing", "in-progress", "in-progress", "ringing"], 1)
        ),
    )

    assert [r.status_code for r in results] == [200, 204, 204, 204, 204]
    attempt = (
        await fetch_all(
            sessions,
            "SELECT status, answered_at, last_sequence_number, dialogue_state FROM call_attempts",
        )
    )[0]
    assert attempt.status == "in-progress" and attempt.answered_at is not None
    assert attempt.last_sequence_number == 4
    assert attempt.dialogue_state["engine"]["turn"] == 3
    response = (await fetch_all(sessions, "SELECT answers FROM survey_responses"))[0]
    assert response.answers["satisfaction"]["value"] == 8
    stored = await fetch_all(sessions, "SELECT count(*) AS n FROM telephony_events")
    assert stored[0].n == 4  # four distinct callbacks, each stored once


async def test_an_edited_survey_is_read_again(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign = await campaign_with(client, ["+39 02 1234 5678", "+39 02 1234 5679"])
    first, second = await dial(client, sessions)
    await first.answer_call()
    before = await first.say("sì")
    assert "quanto è soddisfatto" in before.text.lower()
    await execute(
        sessions,
        "UPDATE campaigns SET definition = jsonb_set(definition, '{questions,0,text}',"
        " '\"Che voto dà al servizio?\"') WHERE id = :id",
        id=campaign["id"],
    )
    await second.answer_call()
    after = await second.say("sì")
    assert "Che voto dà al servizio?" in after.text
