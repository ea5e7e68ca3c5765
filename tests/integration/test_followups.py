"""Calls that lead to other calls, through the webhooks and the scheduler (mock provider, real
database): "call me later" appointments, and interviews resumed after a hang-up."""

from __future__ import annotations

import json
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.scheduler.tick import run_tick
from app.scheduler.window import CallWindow
from app.telephony.mock import MockProvider
from tests.integration.test_dispatch import make_ctx
from tests.integration.test_inbound import CONTACT, call_in
from tests.support.factories import call_window, create_campaign, csv_body
from tests.support.seed import execute, fetch_all
from tests.support.voice import Conversation

Sessions = async_sessionmaker[AsyncSession]
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ALL_DAY = call_window(start="00:00", end="23:59:59", days=EVERY_DAY)
ROME = ZoneInfo("Europe/Rome")


async def campaign_with(
    client: httpx.AsyncClient, numbers: list[str], **document: Any
) -> dict[str, Any]:
    document = {"call_window": ALL_DAY, "retry_after_minutes": [0], **document}
    campaign = await create_campaign(client, **document)
    body = csv_body(["phone_number"], *([n] for n in numbers))
    response = await client.post(
        f"/api/campaigns/{campaign['id']}/contacts",
        content=body.encode(),
        headers={"content-type": "text/csv"},
    )
    assert response.json()["imported"] == len(numbers), response.text
    assert (await client.post(f"/api/campaigns/{campaign['id']}/start")).status_code == 200
    return campaign


async def dial(client: httpx.AsyncClient, sessions: Sessions) -> list[Conversation]:
    """One scheduler tick; a conversation for each attempt it opened."""
    before = {r.id for r in await fetch_all(sessions, "SELECT id FROM call_attempts")}
    await run_tick(make_ctx(sessions, MockProvider()))
    after = await fetch_all(sessions, "SELECT id FROM call_attempts ORDER BY id")
    return [Conversation(client, r.id) for r in after if r.id not in before]


async def hang_up(client: httpx.AsyncClient, conv: Conversation, duration: int = 40) -> None:
    body = {"status": "completed", "duration": duration, "sequence_number": 9}
    response = await client.post(
        f"/webhooks/telephony/events?attempt_id={conv.attempt_id}", json=body
    )
    assert response.status_code == 204


async def db_now(sessions: Sessions) -> datetime:
    value: datetime = (await fetch_all(sessions, "SELECT now() AS now"))[0].now
    return value


# --- resuming ------------------------------------------------------------------------------------


async def test_a_broken_off_interview_is_resumed_and_exported_as_one_interview(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign = await campaign_with(client, ["+39 02 1234 5678"])
    (first,) = await dial(client, sessions)
    await first.answer_call()
    await first.say("sì")
    await first.say("nove")  # satisfaction
    await hang_up(client, first)

    contact = (await fetch_all(sessions, "SELECT state, attempts_count FROM contacts"))[0]
    assert (contact.state, contact.attempts_count) == ("pending", 1)  # not a final partial

    (second,) = await dial(client, sessions)
    opening = await second.answer_call()
    # Who calls first (the survey's intro names ACME), then that the interview resumes.
    assert opening.says[0] == "Buongiorno, sono l'assistente automatico di ACME."
    assert "interrotta" in opening.says[1] and "continuare" in opening.text
    next_question = await second.say("sì")
    assert "consiglierebbe" in next_question.text  # the first unanswered question
    await second.say("sì")
    await second.say("email")
    closing = await second.say("niente da aggiungere")
    assert closing.hangs_up
    await hang_up(client, second)

    contact = (await fetch_all(sessions, "SELECT state FROM contacts"))[0]
    assert contact.state == "completed"
    rows = await fetch_all(
        sessions,
        "SELECT id, call_attempt_id, superseded, resumed_from_id, completed, answers"
        " FROM survey_responses ORDER BY id",
    )
    assert [(r.superseded, r.completed) for r in rows] == [(True, False), (False, True)]
    assert rows[1].resumed_from_id == rows[0].id
    answers = rows[1].answers
    assert answers["satisfaction"]["value"] == 9
    assert answers["satisfaction"]["attempt_id"] == first.attempt_id
    assert answers["recommend"]["attempt_id"] == second.attempt_id

    exported = await client.get(f"/api/campaigns/{campaign['id']}/responses")
    assert exported.status_code == 200
    items = exported.json()["items"]
    assert len(items) == 1  # one interview per contact
    assert items[0]["satisfaction"] == 9 and items[0]["completed"] is True
    assert items[0]["resumed_from_response_id"] == rows[0].id
    assert str(first.attempt_id) in items[0]["answer_attempt_ids"]

    stats = (await client.get(f"/api/campaigns/{campaign['id']}/stats")).json()
    assert stats["questions"]["satisfaction"]["answered"] == 1  # counted once, not once per call


async def test_a_partial_is_final_once_attempts_run_out(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await campaign_with(client, ["+39 02 1234 5678"], max_attempts=1)
    (conv,) = await dial(client, sessions)
    await conv.answer_call()
    await conv.say("sì")
    await conv.say("nove")
    await hang_up(client, conv)

    contact = (await fetch_all(sessions, "SELECT state, last_outcome FROM contacts"))[0]
    assert (contact.state, contact.last_outcome) == ("partial", "partial")


# --- appointments --------------------------------------------------------------------------------


async def test_call_me_tomorrow_at_six_books_an_appointment_in_the_contacts_zone(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign = await campaign_with(client, ["+39 02 1234 5678"], max_attempts=1)
    (conv,) = await dial(client, sessions)
    await conv.answer_call()
    goodbye = await conv.say("adesso non posso, mi richiami domani alle 18")
    assert goodbye.hangs_up and "richiameremo" in goodbye.text
    now = await db_now(sessions)
    await hang_up(client, conv, duration=10)

    attempt = (await fetch_all(sessions, "SELECT outcome, callback_at FROM call_attempts"))[0]
    assert attempt.outcome == "callback_requested"
    tomorrow = now.astimezone(ROME).date().toordinal() + 1
    local = attempt.callback_at.astimezone(ROME)
    assert (local.date().toordinal(), local.time()) == (tomorrow, time(18, 0))
    contact = (
        await fetch_all(
            sessions,
            "SELECT state, next_attempt_at, appointment_at, dial_rank, appointments_count"
            " FROM contacts",
        )
    )[0]
    # max_attempts is 1, but the appointment earned one more attempt.
    assert (contact.state, contact.dial_rank, contact.appointments_count) == ("pending", 0, 1)
    assert contact.next_attempt_at == attempt.callback_at == contact.appointment_at
    events = await fetch_all(sessions, "SELECT kind, detail FROM contact_events ORDER BY id")
    assert [e.kind for e in events] == ["appointment"]
    assert events[0].detail["said"] == "adesso non posso, mi richiami domani alle 18"

    stats = (await client.get(f"/api/campaigns/{campaign['id']}/stats")).json()
    assert stats["appointments"]["pending"] == 1
    assert stats["attempts"]["by_outcome"]["callback_requested"] == 1


async def test_an_appointment_outside_the_window_moves_to_its_next_opening(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    window = call_window(start="09:00", end="20:00", days=EVERY_DAY)
    await campaign_with(client, ["+39 02 1234 5678"])  # dialled now, whatever the hour
    (conv,) = await dial(client, sessions)
    await execute(
        sessions, "UPDATE campaigns SET call_window = CAST(:w AS jsonb)", w=json.dumps(window)
    )
    await conv.answer_call()
    await conv.say("non ora, richiamami domani alle 23")
    await hang_up(client, conv, duration=10)

    attempt = (await fetch_all(sessions, "SELECT callback_at FROM call_attempts"))[0]
    local = attempt.callback_at.astimezone(ROME)
    assert CallWindow.parse(window).is_open(local)
    assert local.time() == time(9, 0)  # the morning after the day asked for


async def test_appointments_are_dialled_before_anyone_else(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await campaign_with(client, ["+39 02 1234 5678", "+39 02 1234 5679"], max_concurrent_calls=1)
    (conv,) = await dial(client, sessions)
    await conv.answer_call()
    await conv.say("mi richiami tra mezz'ora")
    await hang_up(client, conv, duration=10)
    called = (await fetch_all(sessions, "SELECT contact_id FROM call_attempts"))[0].contact_id
    # Half an hour passes: the appointment is due, and so is the contact not yet called, which
    # has waited longer.
    await execute(sessions, "UPDATE contacts SET next_attempt_at = now() - interval '1 hour'")
    await execute(
        sessions,
        "UPDATE contacts SET next_attempt_at = now() - interval '1 minute' WHERE id = :id",
        id=called,
    )

    (next_call,) = await dial(client, sessions)

    attempt = (
        await fetch_all(
            sessions,
            "SELECT contact_id, attempt_number FROM call_attempts WHERE id = :id",
            id=next_call.attempt_id,
        )
    )[0]
    assert (attempt.contact_id, attempt.attempt_number) == (called, 2)


async def ask_to_be_called_later_three_times(
    client: httpx.AsyncClient, sessions: Sessions
) -> list[str]:
    """One attempt allowed, and each call ends with "call me later": the goodbyes said."""
    await campaign_with(client, ["+39 02 1234 5678"], max_attempts=1)
    goodbyes = []
    for _ in range(3):
        (conv,) = await dial(client, sessions)
        await conv.answer_call()
        goodbye = await conv.say("adesso non posso, mi richiami domani alle 18")
        assert goodbye.hangs_up
        goodbyes.append(goodbye.text)
        await hang_up(client, conv, duration=10)
        await execute(sessions, "UPDATE contacts SET next_attempt_at = now()")  # tomorrow came
    return goodbyes


async def test_call_me_later_with_no_attempt_left_is_told_so_and_books_nothing(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    goodbyes = await ask_to_be_called_later_three_times(client, sessions)

    # Each appointment earns an attempt, two at most: the third cannot be kept.
    assert ["richiameremo" in g for g in goodbyes] == [True, True, False]
    assert "non potremo richiamarla" in goodbyes[2]
    attempts = await fetch_all(
        sessions, "SELECT attempt_number, outcome, callback_at FROM call_attempts ORDER BY id"
    )
    assert [(a.attempt_number, a.outcome) for a in attempts] == [
        (n, "callback_requested") for n in (1, 2, 3)
    ]
    assert [a.callback_at is None for a in attempts] == [False, False, True]
    contact = (
        await fetch_all(
            sessions, "SELECT state, last_outcome, appointments_count, appointment_at FROM contacts"
        )
    )[0]
    assert (contact.state, contact.last_outcome) == ("not_reached", "callback_requested")
    assert (contact.appointments_count, contact.appointment_at) == (2, None)
    events = await fetch_all(sessions, "SELECT kind FROM contact_events ORDER BY id")
    assert [e.kind for e in events] == ["appointment", "appointment"]


async def resume_after_a_silence(client: httpx.AsyncClient, sessions: Sessions) -> list[str]:
    """The first call gets no answer to the first question and hangs up at the third; the
    second resumes it. The questions the second call asks, as said."""
    await campaign_with(client, ["+39 02 1234 5678"])
    (first,) = await dial(client, sessions)
    await first.answer_call()
    await first.say("sì")
    await first.silence()
    await first.silence()  # satisfaction: skipped for want of an answer
    await first.say("sì")  # recommend
    await hang_up(client, first)
    (second,) = await dial(client, sessions)
    await second.answer_call()
    asked = [(await second.say(said)).text for said in ("sì", "otto", "email")]
    closing = await second.say("niente")
    assert closing.hangs_up
    await hang_up(client, second)
    return asked


async def test_a_resumed_interview_asks_again_a_question_left_unanswered(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    asked = await resume_after_a_silence(client, sessions)

    assert "soddisfatto" in asked[0]  # the first unanswered question, not the one after "sì"
    assert "email" in asked[1] and "migliorare" in asked[2]
    assert "consiglierebbe" not in " ".join(asked)  # answered by the first call
    response = (
        await fetch_all(
            sessions, "SELECT answers, completed FROM survey_responses WHERE NOT superseded"
        )
    )[0]
    assert response.completed
    assert response.answers["satisfaction"]["value"] == 8
    assert response.answers["satisfaction"]["skipped"] is None
    assert response.answers["recommend"]["value"] is True


async def test_a_respondent_who_calls_back_resumes_with_words_for_a_call_to_us(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await campaign_with(client, [CONTACT])
    (first,) = await dial(client, sessions)
    await first.answer_call()
    await first.say("sì")
    await first.say("nove")
    await hang_up(client, first)

    opening = await call_in(client, CONTACT, call_id="MKresume")

    assert opening["say"] == [
        "Grazie per averci richiamato.",
        "Buongiorno, sono l'assistente automatico di ACME.",  # who calls, on every call
        "Possiamo completare ora l'intervista che si era interrotta.",  # not "we call you"
        "Possiamo continuare da dove eravamo rimasti? Risponda sì o no.",
    ]
