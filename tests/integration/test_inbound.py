"""Calls to the campaign's number through POST /webhooks/telephony/inbound (mock provider, and
the Twilio adapter's signatures), on a real database."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.inbound import INBOUND_TIME_LIMIT_SECONDS, InboundKind, caller_number
from app.config import Settings
from app.main import create_app
from app.metrics import INBOUND_KINDS
from app.scheduler.recovery import RecoveryPolicy, recover_stale
from app.scheduler.tick import db_now, run_tick
from app.telephony.mock import MockProvider
from tests.integration.test_dispatch import make_ctx
from tests.support.factories import (
    call_window,
    campaign_document,
    create_campaign,
    csv_body,
    import_csv,
    script,
)
from tests.support.seed import execute, fetch_all
from tests.support.voice import Conversation, Turn

Sessions = async_sessionmaker[AsyncSession]
INBOUND = "/webhooks/telephony/inbound"
EVENTS = "/webhooks/telephony/events"
ALL_DAY = call_window(
    start="00:00", end="23:59:59", days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
)
CALLER_ID = "+390212345678"  # the campaigns' number (the factory's caller_id)
CONTACT = "+390212340001"
OTHER = "+390212340002"
STRANGER = "+390287654321"
THANKS = "Grazie per averci richiamato."
WHO = "questo numero è usato da un servizio automatico"
PRESS_NINE = "Per non essere più chiamato, prema 9."
LISTED = "Ho preso nota: non la chiameremo più. Arrivederci."


async def campaign_with(
    client: httpx.AsyncClient, numbers: list[str], *, start: bool = True, **document: Any
) -> int:
    """A campaign (running unless `start` is false) with these contacts, all pending."""
    document.setdefault("call_window", ALL_DAY)
    document.setdefault("retry_after_minutes", [0])
    campaign = await create_campaign(client, **document)
    imported = await import_csv(
        client, campaign["id"], csv_body(["phone_number"], *[[n] for n in numbers])
    )
    assert imported.json()["imported"] == len(numbers), imported.text
    if start:
        assert (await client.post(f"/api/campaigns/{campaign['id']}/start")).status_code == 200
    return int(campaign["id"])


async def call_in(
    client: httpx.AsyncClient, from_: str | None, call_id: str = "MKin1", to: str = CALLER_ID
) -> dict[str, Any]:
    """The first request of a call to the number, as the mock provider's dialect has it."""
    body = {"call_id": call_id, "to": to, **({"from": from_} if from_ is not None else {})}
    response = await client.post(INBOUND, json=body)
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()
    return reply


async def press(
    client: httpx.AsyncClient, reply: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any]:
    """Answer the prompt of `reply` at the URL it listens at."""
    parts = urlsplit(reply["listen"]["next"])
    response = await client.post(f"{parts.path}?{parts.query}", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def contacts_row(rows: dict[tuple[int, str], Any], campaign_id: int, number: str = CONTACT) -> Any:
    return rows[(campaign_id, number)]


async def attempts(sessions: Sessions) -> list[Any]:
    return await fetch_all(sessions, "SELECT * FROM call_attempts ORDER BY id")


async def contacts(sessions: Sessions) -> dict[tuple[int, str], Any]:
    rows = await fetch_all(sessions, "SELECT * FROM contacts")
    return {(r.campaign_id, r.phone_number): r for r in rows}


def counted(kind: InboundKind) -> float:
    value = REGISTRY.get_sample_value("voicesurvey_inbound_calls_total", {"kind": kind.value})
    return value or 0.0


async def test_a_pending_contact_who_calls_back_takes_the_whole_survey(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await campaign_with(client, [CONTACT])
    before = counted(InboundKind.SURVEY)

    first = await call_in(client, "+39 02 1234 0001", call_id="MKback")  # normalised to E.164

    assert first["say"][0] == THANKS and "assistente automatico di ACME" in first["say"][1]
    [attempt] = await attempts(sessions)
    assert first["listen"]["next"].endswith(
        f"/webhooks/telephony/voice?attempt_id={attempt.id}&turn=1"
    )
    assert (attempt.direction, attempt.provider_call_id, attempt.attempt_number) == (
        "inbound",
        "MKback",
        1,
    )
    assert attempt.status == "in-progress" and attempt.answered_at is not None
    assert attempt.time_limit_seconds == INBOUND_TIME_LIMIT_SECONDS
    assert contacts_row(await contacts(sessions), campaign_id).state == "in_progress"
    # Later turns go to the voice webhook, exactly as on an outbound call.
    conv = Conversation(client, attempt.id, [Turn(json.dumps(first))])
    assert "quanto è soddisfatto" in (await conv.say("sì")).text
    await conv.say("otto")
    await conv.press("#")
    await conv.say("la seconda")
    last = await conv.say("più personale nei negozi")
    assert last.hangs_up and "Arrivederci" in last.text
    # The number's status callback carries no attempt id: the call id finds the attempt.
    ended = await client.post(
        EVENTS, json={"provider_call_id": "MKback", "status": "completed", "duration": 95}
    )
    assert ended.status_code == 204

    [attempt] = await attempts(sessions)
    contact = contacts_row(await contacts(sessions), campaign_id)
    assert (attempt.status, attempt.outcome, attempt.duration_seconds) == (
        "completed",
        "completed",
        95,
    )
    assert (contact.state, contact.attempts_count) == ("completed", 1)
    [response] = await fetch_all(sessions, "SELECT * FROM survey_responses")
    assert response.completed and response.answers["satisfaction"]["value"] == 8
    assert counted(InboundKind.SURVEY) == before + 1
    # The audit trail shows the call as an inbound one.
    audit = await client.get(f"/api/campaigns/{campaign_id}/audit")
    assert "inbound_call" in audit.text


async def test_a_contact_who_calls_back_may_opt_out_instead(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    first = await campaign_with(client, [CONTACT])
    second = await campaign_with(client, [CONTACT], caller_id="+390212345679")
    offered = await call_in(client, CONTACT, call_id="MKoptout")
    [attempt] = await attempts(sessions)

    conv = Conversation(client, attempt.id, [Turn(json.dumps(offered))])
    goodbye = await conv.say("non chiamatemi più")

    assert goodbye.hangs_up and "non la chiameremo più" in goodbye.text
    rows = await contacts(sessions)
    # The contact in this call ends with the call; the other campaign's at once.
    assert rows[(second, CONTACT)].state == "do_not_call"
    [entry] = await fetch_all(sessions, "SELECT phone_number FROM do_not_call")
    assert entry.phone_number == CONTACT
    await client.post(EVENTS, json={"provider_call_id": "MKoptout", "status": "completed"})
    assert contacts_row(await contacts(sessions), first).state == "do_not_call"


async def test_a_redelivered_inbound_request_gets_the_current_turn_and_no_second_attempt(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await campaign_with(client, [CONTACT])
    before = counted(InboundKind.SURVEY)

    first = await call_in(client, CONTACT, call_id="MKretry")
    again = await call_in(client, CONTACT, call_id="MKretry")
    assert again == first
    [attempt] = await attempts(sessions)
    conv = Conversation(client, attempt.id, [Turn(json.dumps(first))])
    asked = await conv.say("sì")
    late = await call_in(client, CONTACT, call_id="MKretry")  # answered with the current turn

    assert late == asked.reply
    assert len(await attempts(sessions)) == 1
    assert counted(InboundKind.SURVEY) == before + 1


async def test_concurrent_deliveries_of_one_call_make_one_attempt(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    # The same number is a pending contact of two campaigns: a losing delivery must not take
    # the other one.
    await campaign_with(client, [CONTACT])
    await campaign_with(client, [CONTACT], caller_id="+390212345679")

    replies = await asyncio.gather(*(call_in(client, CONTACT, call_id="MKsame") for _ in range(6)))

    [attempt] = await attempts(sessions)
    assert all(r == replies[0] for r in replies)
    assert replies[0]["listen"]["next"].endswith(f"attempt_id={attempt.id}&turn=1")
    states = sorted(r.state for r in (await contacts(sessions)).values())
    assert states == ["in_progress", "pending"]


async def test_the_campaign_calling_from_the_number_called_is_preferred(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    first = await campaign_with(client, [CONTACT])
    second = await campaign_with(client, [CONTACT], caller_id="+390212345679")

    await call_in(client, CONTACT, call_id="MKpick", to="+390212345679")

    [attempt] = await attempts(sessions)
    assert attempt.campaign_id == second != first


async def test_an_unknown_caller_hears_who_calls_and_pressing_9_lists_the_number(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    message = "Buongiorno, la chiamava ACME per un sondaggio sui suoi acquisti."
    own_number = "+390212345670"
    running = await campaign_with(
        client, [OTHER], caller_id=own_number, script=script(inbound=message)
    )
    # The caller is a pending contact of two campaigns that are not running (nothing to do now)
    # and a finished contact of a running one.
    draft = await campaign_with(client, [STRANGER], start=False)
    paused = await campaign_with(client, [STRANGER])
    assert (await client.post(f"/api/campaigns/{paused}/pause")).status_code == 200
    done = await campaign_with(client, [STRANGER])
    await execute(
        sessions, "UPDATE contacts SET state = 'completed' WHERE campaign_id = :c", c=done
    )
    before = counted(InboundKind.LISTED)

    heard = await call_in(client, STRANGER, call_id="MKnine")

    assert heard["language"] == "it-IT" and WHO in heard["say"][0]
    assert heard["say"][1:] == [PRESS_NINE]
    assert heard["listen"]["num_digits"] == 1 and heard["listen"]["keys_only"] is True
    assert heard["listen"]["next"].endswith(f"{INBOUND}?prompt=nine")
    listed = await press(client, heard, {"call_id": "MKnine", "from": STRANGER, "digits": "9"})

    assert listed == {"language": "it-IT", "say": [LISTED], "listen": None}
    [entry] = await fetch_all(sessions, "SELECT * FROM do_not_call")
    assert (entry.phone_number, entry.source) == (STRANGER, "inbound")
    assert entry.reason == "pressed 9 on a call to the campaign's number"
    rows = await contacts(sessions)
    assert rows[(draft, STRANGER)].state == "do_not_call"
    assert rows[(paused, STRANGER)].state == "do_not_call"
    assert rows[(done, STRANGER)].state == "completed"
    assert rows[(running, OTHER)].state == "pending"
    events = await fetch_all(sessions, "SELECT contact_id, kind, detail FROM contact_events")
    assert sorted((e.kind, e.detail["source"]) for e in events) == [("opt_out", "inbound")] * 2
    assert await attempts(sessions) == []
    assert counted(InboundKind.LISTED) == before + 1
    # A redelivered 9 changes nothing more.
    await press(client, heard, {"call_id": "MKnine", "from": STRANGER, "digits": "9"})
    assert len(await fetch_all(sessions, "SELECT * FROM contact_events")) == 2
    # Someone unknown calling the running campaign's own number hears its own message.
    unknown = await call_in(client, "+390233334444", call_id="MKown", to=own_number)
    assert unknown["say"] == [message, PRESS_NINE]


async def test_any_other_key_or_none_hangs_up_politely_and_lists_nothing(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await campaign_with(client, [OTHER])
    heard = await call_in(client, STRANGER, call_id="MKother")

    other_key = await press(
        client, heard, {"call_id": "MKother", "from": STRANGER, "to": CALLER_ID, "digits": "1"}
    )
    nothing = await press(client, heard, {"call_id": "MKother", "from": STRANGER, "to": CALLER_ID})

    goodbye = "La ringraziamo comunque per l'attenzione. Arrivederci."
    assert other_key == nothing == {"language": "it-IT", "say": [goodbye], "listen": None}
    assert await fetch_all(sessions, "SELECT * FROM do_not_call") == []


async def test_a_stranger_to_an_unknown_number_hears_the_global_words_in_english(
    client: httpx.AsyncClient,
) -> None:
    heard = await call_in(client, STRANGER, call_id="MKglobal", to="+390299999999")

    assert heard["language"] == "en-US"
    assert heard["say"] == [
        "Hello, this number is used by an automated service that runs short telephone surveys. "
        "If we called you, it was for a survey.",
        "Never to be called again, press 9.",
    ]


async def test_a_contact_in_a_call_finished_or_out_of_attempts_gets_the_message(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await campaign_with(client, [CONTACT, OTHER, STRANGER], max_attempts=1)
    await execute(
        sessions,
        "UPDATE contacts SET next_attempt_at = now() + interval '1 day' WHERE phone_number <> :n",
        n=CONTACT,
    )
    await run_tick(make_ctx(sessions, MockProvider()))  # CONTACT is being called right now
    await execute(
        sessions, "UPDATE contacts SET state = 'refused' WHERE phone_number = :n", n=OTHER
    )
    # Pending, but its one attempt was made (attempts_count = max_attempts, no appointments).
    await execute(
        sessions,
        "UPDATE contacts SET attempts_count = 1 WHERE phone_number = :n",
        n=STRANGER,
    )
    before = await attempts(sessions)

    for index, number in enumerate([CONTACT, OTHER, STRANGER]):
        heard = await call_in(client, number, call_id=f"MKbusy{index}")
        assert heard["say"][-1] == PRESS_NINE and WHO in heard["say"][0], number

    assert [a.id for a in await attempts(sessions)] == [a.id for a in before]
    rows = await contacts(sessions)
    assert [rows[(campaign_id, n)].state for n in (CONTACT, OTHER, STRANGER)] == [
        "in_progress",
        "refused",
        "pending",
    ]


@pytest.mark.parametrize(
    "caller_id",
    [None, "", "anonymous", "+266696687", "0212340001", "+39 02 x12 y34", "+39-02-ABC-DEFG"],
)
async def test_a_withheld_or_garbage_caller_id_hears_who_calls_and_nothing_is_written(
    client: httpx.AsyncClient, sessions: Sessions, caller_id: str | None
) -> None:
    await campaign_with(client, [CONTACT])

    heard = await call_in(client, caller_id, call_id="MKanon")

    # No number to put on the list: no "press 9" either.
    assert heard["listen"] is None and len(heard["say"]) == 1 and WHO in heard["say"][0]
    assert await attempts(sessions) == []
    assert await fetch_all(sessions, "SELECT * FROM do_not_call") == []


def test_caller_ids_are_read_as_e164_or_not_at_all() -> None:
    assert caller_number("+39 02 1234 0001") == CONTACT
    assert caller_number("+1 (202) 555-0143") == "+12025550143"
    assert caller_number("+39" + "1" * 70) is None
    assert [caller_number(raw) for raw in (None, "", "Restricted", "client:alice", "3331234")] == [
        None
    ] * 5


def test_every_kind_of_inbound_call_is_a_metric_label() -> None:
    assert set(INBOUND_KINDS) == {kind.value for kind in InboundKind}


async def test_a_silent_inbound_call_is_kept_until_the_providers_cap_then_recovered(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await campaign_with(client, [CONTACT])
    await call_in(client, CONTACT, call_id="MKsilent")
    policy = RecoveryPolicy(stale_seconds=60, margin_seconds=300)
    # Longer than the campaign's 15-minute limit, which an incoming call is not placed with.
    await execute(
        sessions,
        "UPDATE call_attempts SET started_at = now() - interval '1 hour',"
        " answered_at = now() - interval '1 hour', last_event_at = now() - interval '1 hour'",
    )

    assert (
        await recover_stale(sessions, MockProvider(), now=await db_now(sessions), policy=policy)
        == 0
    )
    [attempt] = await attempts(sessions)
    assert attempt.ended_at is None
    later = await db_now(sessions) + timedelta(seconds=INBOUND_TIME_LIMIT_SECONDS)
    assert await recover_stale(sessions, MockProvider(), now=later, policy=policy) == 1

    [attempt] = await attempts(sessions)
    contact = contacts_row(await contacts(sessions), campaign_id)
    assert attempt.ended_at is not None and attempt.status == "stale"
    assert (contact.state, contact.attempts_count) == ("pending", 1)


async def test_the_mock_takes_inbound_calls_from_this_machine_only(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await campaign_with(client, [CONTACT])

    relayed = await client.post(
        INBOUND,
        json={"call_id": "MKfar", "from": CONTACT, "to": CALLER_ID},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    malformed = await client.post(INBOUND, json={"from": CONTACT})

    assert relayed.status_code == 403
    assert malformed.status_code == 422 and "call_id" in malformed.json()["detail"]
    assert await attempts(sessions) == []


async def test_script_inbound_is_checked_like_the_other_texts(client: httpx.AsyncClient) -> None:
    piped = await client.post(
        "/api/campaigns",
        json=campaign_document(script=script(inbound="Ha risposto {answer.satisfaction|}?")),
    )
    both = await client.post(
        "/api/campaigns",
        json=campaign_document(
            language=None,
            languages=["it-IT", "en-US"],
            script={
                key: {"it-IT": "Testo.", "en-US": "Text."}
                for key in ("intro", "consent", "refused", "closing", "inbound")
            },
            questions=[{"id": "q", "type": "yes_no", "text": {"it-IT": "Sì?", "en-US": "Yes?"}}],
        ),
    )

    assert piped.status_code == 422 and "script.inbound" in piped.text
    assert both.status_code == 201, both.text


# --- Twilio: signed like every webhook --------------------------------------------------------

TOKEN = "inbound-test-token"
PUBLIC = "http://127.0.0.1:8880"


@pytest.fixture
async def twilio_client(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[httpx.AsyncClient]:
    """The service with the Twilio adapter (nothing is dialled: the scheduler is off)."""
    settings = make_settings(
        telephony_provider="twilio",
        twilio_account_sid="AC" + "0" * 31 + "9",
        twilio_auth_token=TOKEN,
        twilio_from_number=CALLER_ID,
        public_base_url=PUBLIC,
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as c:
            yield c


def signature(url: str, params: dict[str, str], token: str = TOKEN) -> str:
    payload = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(
        hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    ).decode()


async def post_form(
    client: httpx.AsyncClient, path: str, params: dict[str, str], sign: str | None
) -> httpx.Response:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if sign is not None:
        headers["X-Twilio-Signature"] = sign
    return await client.post(path, content=urlencode(params), headers=headers)


async def test_twilio_inbound_requests_unsigned_or_forged_get_403_and_change_nothing(
    twilio_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await campaign_with(twilio_client, [CONTACT])
    params = {
        "CallSid": "CA" + "a" * 32,
        "From": CONTACT,
        "To": CALLER_ID,
        "Direction": "inbound",
        "CallStatus": "ringing",
    }
    url = PUBLIC + INBOUND

    unsigned = await post_form(twilio_client, INBOUND, params, None)
    forged = await post_form(twilio_client, INBOUND, params, signature(url, params, "wrong"))
    elsewhere = await post_form(twilio_client, INBOUND, params, signature(url + "?x=1", params))
    nine = {**params, "From": STRANGER, "Digits": "9"}
    forged_nine = await post_form(
        twilio_client, f"{INBOUND}?prompt=nine", nine, signature(url, nine, "wrong")
    )

    assert [r.status_code for r in (unsigned, forged, elsewhere, forged_nine)] == [403] * 4
    assert await attempts(sessions) == []
    assert await fetch_all(sessions, "SELECT * FROM do_not_call") == []
    assert contacts_row(await contacts(sessions), campaign_id).state == "pending"

    signed = await post_form(twilio_client, INBOUND, params, signature(url, params))

    assert signed.status_code == 200 and signed.headers["content-type"].startswith(
        "application/xml"
    )
    [attempt] = await attempts(sessions)
    assert (
        f'action="{PUBLIC}/webhooks/telephony/voice?attempt_id={attempt.id}&amp;turn=1"'
        in signed.text
    )
    assert THANKS in signed.text


async def test_twilio_press_9_menu_is_a_one_key_gather_back_to_the_inbound_url(
    twilio_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await campaign_with(twilio_client, [OTHER])
    params = {"CallSid": "CA" + "b" * 32, "From": STRANGER, "To": CALLER_ID}
    url = PUBLIC + INBOUND

    menu = await post_form(twilio_client, INBOUND, params, signature(url, params))
    prompt_url = f"{url}?prompt=nine"
    nine = {**params, "Digits": "9"}
    listed = await post_form(
        twilio_client, f"{INBOUND}?prompt=nine", nine, signature(prompt_url, nine)
    )

    assert menu.status_code == 200
    assert 'input="dtmf"' in menu.text and 'numDigits="1"' in menu.text
    assert f'action="{prompt_url}"' in menu.text and "speechTimeout" not in menu.text
    assert listed.status_code == 200 and LISTED in listed.text and "<Hangup" in listed.text
    [entry] = await fetch_all(sessions, "SELECT * FROM do_not_call")
    assert (entry.phone_number, entry.source) == (STRANGER, "inbound")
