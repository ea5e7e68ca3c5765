"""Checklist gates 5 to 7 end to end: the real service (uvicorn), the official twilio library,
and the local Twilio emulator placing the calls and playing scripted respondents.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.acceptance.processes import Service, free_port, twilio_env, wait_until
from tests.support.factories import call_window, campaign_document, csv_body
from tests.support.syncdb import count_mismatches, duplicates, query
from tests.support.twilio_emulator import (
    AUTH_TOKEN,
    RunningEmulator,
    running_emulator,
)

pytestmark = pytest.mark.acceptance

ALL_DAY = call_window(
    start="00:00", end="23:59:59", days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
)

# One respondent per number: (number, behaviour, answers)
COMPLETE = "+390212340001"
REFUSES = "+390212340002"
HANGS_UP = "+390212340003"
NO_ANSWER = "+390212340004"
BUSY = "+390212340005"
VOICEMAIL = "+390212340006"
OPTS_OUT = "+390212340007"

RESPONDENTS: list[tuple[str, str, list[dict[str, Any]]]] = [
    (
        COMPLETE,
        "answer",
        [
            {"speech": "sì, certo"},
            {"speech": "può ripetere?"},
            {"speech": "otto"},
            {"digits": "#"},
            {"speech": "la seconda"},
            {"speech": "più personale nei negozi"},
        ],
    ),
    (REFUSES, "answer", [{"speech": "no, grazie"}]),
    (HANGS_UP, "answer", [{"speech": "sì"}, {"speech": "sette"}, {"hangup": True}]),
    (NO_ANSWER, "no-answer", []),
    (BUSY, "busy", []),
    (VOICEMAIL, "machine", []),
    (OPTS_OUT, "answer", [{"speech": "sì"}, {"speech": "non chiamatemi più"}]),
]


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(step_delay=0.01) as emu:
        yield emu


def twilio_service(
    database_url: str, emu: RunningEmulator, tmp_path: Path, **extra: str
) -> Service:
    port = free_port()
    env = twilio_env(database_url, emu.base_url, port, **extra)
    service = Service(env, tmp_path / "service.log", port=port)
    wait_until(lambda: "Application startup complete" in service.log(), 60, "start-up")
    return service


def run_campaign(
    service: Service,
    document: dict[str, Any],
    numbers: list[str],
    languages: dict[str, str] | None = None,
) -> int:
    with httpx.Client(base_url=service.url, timeout=30) as api:
        created = api.post("/api/campaigns", json=document)
        assert created.status_code == 201, created.text
        campaign_id = int(created.json()["id"])
        spoken = languages or {}
        body = csv_body(["phone_number", "language"], *[[n, spoken.get(n, "")] for n in numbers])
        imported = api.post(
            f"/api/campaigns/{campaign_id}/contacts",
            content=body.encode(),
            headers={"content-type": "text/csv"},
        )
        assert imported.json()["imported"] == len(numbers), imported.text
        assert api.post(f"/api/campaigns/{campaign_id}/start").status_code == 200

        def finished() -> bool:
            return api.get(f"/api/campaigns/{campaign_id}").json()["status"] == "completed"

        wait_until(finished, 120, "the campaign to complete")
    return campaign_id


def contact_states(database_url: str) -> dict[str, str]:
    return {
        r["phone_number"]: r["state"]
        for r in query(database_url, "SELECT phone_number, state FROM contacts")
    }


def answers_of(database_url: str, number: str) -> list[dict[str, Any]]:
    rows = query(
        database_url,
        "SELECT r.id, r.answers, r.completed, r.call_attempt_id, r.superseded, r.resumed_from_id"
        " FROM survey_responses r "
        "JOIN contacts c ON c.id = r.contact_id WHERE c.phone_number = $1",
        number,
    )
    return [dict(r) for r in rows]


def test_italian_campaign_every_respondent_kind(
    database_url: str, emulator: RunningEmulator, tmp_path: Path
) -> None:
    for number, behaviour, answers in RESPONDENTS:
        asyncio.run(emulator.register(number, behaviour, answers=answers))
    service = twilio_service(database_url, emulator, tmp_path, TWILIO_MACHINE_DETECTION="Enable")
    try:
        document = campaign_document(call_window=ALL_DAY, max_attempts=2, retry_after_minutes=[0])
        run_campaign(service, document, [n for n, _, _ in RESPONDENTS])
    finally:
        service.stop()

    assert contact_states(database_url) == {
        COMPLETE: "completed",
        REFUSES: "refused",
        HANGS_UP: "partial",
        NO_ANSWER: "not_reached",
        BUSY: "not_reached",
        VOICEMAIL: "not_reached",
        OPTS_OUT: "do_not_call",
    }
    [complete] = answers_of(database_url, COMPLETE)
    assert complete["completed"] is True
    answers = json.loads(complete["answers"])
    assert answers["satisfaction"]["value"] == 8
    assert answers["recommend"]["skipped"] == "skipped_by_respondent"
    assert answers["channel"]["value"] == "email"
    assert answers["comment"]["value"] == "più personale nei negozi"
    # The hang-up was called back to finish (resume_partials), hung up again, and is a partial
    # now that its attempts ran out: one live response carrying the first call's answer.
    first, resumed = sorted(answers_of(database_url, HANGS_UP), key=lambda r: r["id"])
    assert (first["superseded"], resumed["superseded"]) == (True, False)
    assert resumed["resumed_from_id"] == first["id"]
    carried = json.loads(resumed["answers"])["satisfaction"]
    assert (carried["value"], carried["attempt_id"]) == (7, first["call_attempt_id"])
    assert answers_of(database_url, REFUSES) == []
    # G5.2: the provider's call id is stored and the times are consistent.
    attempt = query(
        database_url,
        "SELECT a.* FROM call_attempts a JOIN survey_responses r ON r.call_attempt_id = a.id "
        "WHERE r.completed",
    )[0]
    assert attempt["provider_call_id"].startswith("CA")
    assert attempt["started_at"] <= attempt["answered_at"] <= attempt["ended_at"]
    outcomes = query(
        database_url,
        "SELECT c.phone_number, array_agg(a.outcome ORDER BY a.attempt_number) AS outcomes "
        "FROM call_attempts a JOIN contacts c ON c.id = a.contact_id GROUP BY 1",
    )
    by_number = {r["phone_number"]: list(r["outcomes"]) for r in outcomes}
    assert by_number[VOICEMAIL] == ["machine", "machine"]  # voicemail is retried
    assert by_number[HANGS_UP] == ["partial", "partial"]
    assert by_number[NO_ANSWER] == ["no_answer", "no_answer"]
    assert by_number[BUSY] == ["busy", "busy"]
    assert duplicates(database_url) == [] and count_mismatches(database_url) == []
    assert "Traceback" not in service.log()
    # Each call asked for the four status events, each as its own parameter.
    calls = asyncio.run(emulator.calls())
    assert all(
        call["request"]["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
        for call in calls
    )


def test_english_survey_with_redelivered_webhooks_and_shuffled_callbacks(
    database_url: str, emulator: RunningEmulator, tmp_path: Path
) -> None:
    asyncio.run(
        emulator.options(
            retry_webhooks=True, duplicate_callbacks=True, shuffle_callbacks=True, seed=3
        )
    )
    number = "+12025550143"
    asyncio.run(
        emulator.register(
            number,
            answers=[
                {"speech": "yes"},
                {"speech": "nine"},
                {"speech": "say again"},
                {"digits": "1"},
            ],
        )
    )
    document = campaign_document(
        call_window=ALL_DAY,
        language="en-US",
        timezone="America/New_York",
        caller_id="+12025550100",
        script={
            "intro": "Hello, this is ACME's automated assistant.",
            "consent": "Do you have one minute for two questions? Please say yes or no.",
            "refused": "No problem. Goodbye.",
            "closing": "Thank you for your time. Goodbye.",
        },
        questions=[
            {
                "id": "score",
                "type": "scale",
                "text": "From 1 to 10, how satisfied are you?",
                "min": 1,
                "max": 10,
            },
            {"id": "again", "type": "yes_no", "text": "Would you buy from us again?"},
        ],
    )
    service = twilio_service(database_url, emulator, tmp_path)
    try:
        run_campaign(service, document, [number])
    finally:
        service.stop()

    assert contact_states(database_url) == {number: "completed"}
    [response] = answers_of(database_url, number)
    assert {k: v["value"] for k, v in json.loads(response["answers"]).items()} == {
        "score": 9,
        "again": True,
    }
    assert query(database_url, "SELECT count(*) FROM call_attempts")[0][0] == 1
    [call] = asyncio.run(emulator.calls())
    heard = " ".join(call["heard"])
    # Redelivered turns were answered from the stored reply: nothing was asked twice
    # except the question the respondent asked to hear again.
    assert heard.count("how satisfied") == 1
    assert heard.count("Would you buy from us again?") == 2
    assert heard.endswith("Thank you for your time. Goodbye.")


def _signature(url: str, params: dict[str, str], token: str) -> str:
    payload = url + "".join(k + params[k] for k in sorted(params))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def test_unsigned_or_badly_signed_webhooks_are_refused_and_change_nothing(
    database_url: str, emulator: RunningEmulator, tmp_path: Path
) -> None:
    service = twilio_service(database_url, emulator, tmp_path, SCHEDULER_ENABLED="false")
    params = {"CallSid": "CA" + "f" * 32, "CallStatus": "completed", "SequenceNumber": "3"}
    try:
        url = f"{service.url}/webhooks/telephony/events?attempt_id=1"
        empty = httpx.post(url, timeout=10)
        forged = httpx.post(
            url,
            data=params,
            headers={"X-Twilio-Signature": _signature(url, params, "wrong")},
            timeout=10,
        )
        voice = httpx.post(
            f"{service.url}/webhooks/telephony/voice?attempt_id=1",
            data={"SpeechResult": "sì"},
            timeout=10,
        )
        signed = httpx.post(
            url,
            data=params,
            headers={"X-Twilio-Signature": _signature(url, params, AUTH_TOKEN)},
            timeout=10,
        )
    finally:
        service.stop()

    assert (empty.status_code, forged.status_code, voice.status_code) == (403, 403, 403)
    assert signed.status_code == 204  # validated against PUBLIC_BASE_URL + path + query
    stored = query(database_url, "SELECT provider_call_id FROM telephony_events")
    assert [r["provider_call_id"] for r in stored] == ["CA" + "f" * 32]


BRANCHING = campaign_document(
    call_window=ALL_DAY,
    language=None,
    languages=["it-IT", "en-US"],
    max_attempts=1,
    timezone="Europe/Rome",
    script={
        "intro": {"it-IT": "Buongiorno.", "en-US": "Good morning."},
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
)


def test_a_branching_bilingual_survey_through_twilio(
    database_url: str, emulator: RunningEmulator, tmp_path: Path
) -> None:
    italian, english, minor = "+390212340101", "+12025550199", "+390212340102"
    respondents = {
        italian: [{"speech": "sì"}, {"speech": "no"}, {"speech": "quaranta"}],
        english: [{"speech": "yes"}, {"speech": "yes"}, {"speech": "the other one"},
                  {"digits": "52"}],
        minor: [{"speech": "sì"}, {"speech": "sì"}, {"speech": "fiat"}, {"speech": "sedici"}],
    }  # fmt: skip
    for number, answers in respondents.items():
        asyncio.run(emulator.register(number, "answer", answers=answers))
    service = twilio_service(database_url, emulator, tmp_path)
    try:
        run_campaign(service, BRANCHING, list(respondents), languages={english: "en-US"})
    finally:
        service.stop()

    states = contact_states(database_url)
    assert states == {italian: "completed", english: "completed", minor: "screened_out"}
    [it] = answers_of(database_url, italian)
    assert json.loads(it["answers"])["brand"]["skipped"] == "not_applicable"
    [en] = answers_of(database_url, english)
    assert json.loads(en["answers"])["brand"]["value"] == "other"
    assert json.loads(en["answers"])["age"]["value"] == 52
    calls = {call["to"]: call for call in asyncio.run(emulator.calls())}
    # The English contact heard English, with an English voice and recogniser.
    assert "Which brand?" in " ".join(calls[english]["heard"])
    gathers = [g["attributes"] for g in calls[english]["gathers"]]
    assert all(g["language"] == "en-US" for g in gathers)
    assert "Quale marca?" not in " ".join(calls[italian]["heard"])  # not asked: no car
    assert "Traceback" not in service.log()


def test_an_appointment_through_twilio_is_kept_before_anyone_else(
    database_url: str, emulator: RunningEmulator, tmp_path: Path
) -> None:
    later, other = "+390212340201", "+390212340202"
    asyncio.run(
        emulator.register(later, "answer", answers=[{"speech": "adesso no, mi richiami domani"}])
    )
    asyncio.run(emulator.register(other, "busy"))
    service = twilio_service(database_url, emulator, tmp_path)
    try:
        document = campaign_document(
            call_window=ALL_DAY, max_attempts=1, retry_after_minutes=[0], max_concurrent_calls=1
        )
        with httpx.Client(base_url=service.url, timeout=30) as api:
            campaign_id = start_campaign(api, document, [later, other])

            def booked() -> bool:
                rows = query(database_url, "SELECT state, dial_rank FROM contacts")
                return any(r["dial_rank"] == 0 for r in rows) and all(
                    r["state"] != "in_progress" for r in rows
                )

            wait_until(booked, 60, "the appointment to be booked")
            # A day passes: the appointment is due (so is nobody else: max_attempts is 1 and
            # the other contact was called already, or is due later than the appointment).
            asyncio.run(emulator.register(later, "answer", answers=[{"speech": "sì"}, *COMPLETES]))
            query(
                database_url,
                "UPDATE contacts SET next_attempt_at = now() - interval '1 second'"
                " WHERE dial_rank = 0",
            )

            def finished() -> bool:
                return api.get(f"/api/campaigns/{campaign_id}").json()["status"] == "completed"

            wait_until(finished, 90, "the campaign to complete")
    finally:
        service.stop()

    outcomes = query(
        database_url,
        "SELECT c.phone_number, array_agg(a.outcome ORDER BY a.attempt_number) AS outcomes "
        "FROM call_attempts a JOIN contacts c ON c.id = a.contact_id GROUP BY 1",
    )
    by_number = {r["phone_number"]: list(r["outcomes"]) for r in outcomes}
    # One attempt allowed, but the appointment earned the second, which completed.
    assert by_number[later] == ["callback_requested", "completed"]
    assert contact_states(database_url)[later] == "completed"
    [booked_at] = query(
        database_url, "SELECT callback_at FROM call_attempts WHERE callback_at IS NOT NULL"
    )
    assert booked_at["callback_at"] is not None
    calls = [c for c in asyncio.run(emulator.calls()) if c["to"] == later]
    assert "richiameremo" in " ".join(calls[0]["heard"])
    assert duplicates(database_url) == [] and count_mismatches(database_url) == []
    assert "Traceback" not in service.log()


COMPLETES = [
    {"speech": "otto"},
    {"speech": "sì"},
    {"speech": "email"},
    {"speech": "niente"},
]


def start_campaign(api: httpx.Client, document: dict[str, Any], numbers: list[str]) -> int:
    created = api.post("/api/campaigns", json=document)
    assert created.status_code == 201, created.text
    campaign_id = int(created.json()["id"])
    body = csv_body(["phone_number"], *[[n] for n in numbers])
    imported = api.post(
        f"/api/campaigns/{campaign_id}/contacts",
        content=body.encode(),
        headers={"content-type": "text/csv"},
    )
    assert imported.json()["imported"] == len(numbers), imported.text
    assert api.post(f"/api/campaigns/{campaign_id}/start").status_code == 200
    return campaign_id


def test_a_voicemail_message_is_left_once_per_contact(
    database_url: str, emulator: RunningEmulator, tmp_path: Path
) -> None:
    machine = "+390212340301"
    asyncio.run(emulator.register(machine, "machine"))
    service = twilio_service(
        database_url, emulator, tmp_path, TWILIO_MACHINE_DETECTION="DetectMessageEnd"
    )
    message = "Buongiorno, la chiamava ACME per un breve sondaggio. La richiameremo."
    try:
        document = campaign_document(call_window=ALL_DAY, max_attempts=2, retry_after_minutes=[0])
        document["script"]["voicemail"] = message
        run_campaign(service, document, [machine])
    finally:
        service.stop()

    calls = [c for c in asyncio.run(emulator.calls()) if c["to"] == machine]
    heard = [" ".join(c["heard"]) for c in calls]
    assert len(heard) == 2
    assert sum(message in h for h in heard) == 1  # once per contact, not once per call
    [contact] = query(database_url, "SELECT state, voicemail_left_at FROM contacts")
    assert contact["state"] == "not_reached" and contact["voicemail_left_at"] is not None
    events = query(database_url, "SELECT kind FROM contact_events")
    assert [e["kind"] for e in events] == ["voicemail"]
    outcomes = query(database_url, "SELECT outcome FROM call_attempts ORDER BY attempt_number")
    assert [o["outcome"] for o in outcomes] == ["machine", "machine"]
    assert "Traceback" not in service.log()
