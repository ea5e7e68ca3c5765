"""Calls to the campaign's number end to end: the real service (uvicorn), the official twilio
library and the local Twilio emulator, which calls the number's Voice URL as Twilio does."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.acceptance.processes import Service, wait_until
from tests.acceptance.test_twilio_end_to_end import (
    ALL_DAY,
    COMPLETES,
    start_campaign,
    twilio_service,
)
from tests.support.factories import campaign_document, script
from tests.support.syncdb import count_mismatches, duplicates, query
from tests.support.twilio_emulator import RunningEmulator, running_emulator

pytestmark = pytest.mark.acceptance

CALLER_ID = "+390212345678"  # the campaign's number (the factory's caller_id)
MISSED = "+390212340401"
STRANGER = "+390212340402"


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(step_delay=0.01) as emu:
        yield emu


def point_number_at(emulator: RunningEmulator, service: Service, **options: object) -> None:
    """The Twilio number's Voice URL and its "call status changes" URL, as the docs say."""
    asyncio.run(
        emulator.options(
            inbound_url=f"{service.url}/webhooks/telephony/inbound",
            inbound_status_url=f"{service.url}/webhooks/telephony/events",
            **options,
        )
    )


def test_a_contact_who_missed_the_call_calls_back_and_completes_the_survey(
    database_url: str, emulator: RunningEmulator, tmp_path: Path
) -> None:
    asyncio.run(emulator.register(MISSED, "no-answer"))
    service = twilio_service(database_url, emulator, tmp_path)
    try:
        # Twilio redelivers every request of the call (a retry): still one attempt, one survey.
        point_number_at(emulator, service, retry_webhooks=True, duplicate_callbacks=True)
        document = campaign_document(call_window=ALL_DAY, max_attempts=3, retry_after_minutes=[60])
        with httpx.Client(base_url=service.url, timeout=30) as api:
            campaign_id = start_campaign(api, document, [MISSED])

            def missed() -> bool:
                rows = query(database_url, "SELECT state, last_outcome FROM contacts")
                return [tuple(r) for r in rows] == [("pending", "no_answer")]

            wait_until(missed, 60, "the first call to go unanswered")
            answers = [{"speech": "sì"}, *COMPLETES]
            call = asyncio.run(emulator.inbound(MISSED, CALLER_ID, answers))

            def finished() -> bool:
                return api.get(f"/api/campaigns/{campaign_id}").json()["status"] == "completed"

            wait_until(finished, 60, "the campaign to complete")
    finally:
        service.stop()

    attempts = query(
        database_url,
        "SELECT direction, outcome, status, provider_call_id, answered_at, ended_at"
        " FROM call_attempts ORDER BY attempt_number",
    )
    assert [(a["direction"], a["outcome"]) for a in attempts] == [
        ("outbound", "no_answer"),
        ("inbound", "completed"),
    ]
    inbound = attempts[1]
    assert inbound["provider_call_id"] == call["sid"] and inbound["status"] == "completed"
    assert inbound["answered_at"] <= inbound["ended_at"]
    [contact] = query(database_url, "SELECT state, attempts_count FROM contacts")
    assert (contact["state"], contact["attempts_count"]) == ("completed", 2)
    [response] = query(database_url, "SELECT completed FROM survey_responses")
    assert response["completed"] is True
    # What the caller heard, in order: thanks, the survey, the closing.
    assert call["direction"] == "inbound" and call["status"] == "completed"
    assert call["heard"][0] == "Grazie per averci richiamato."
    assert call["heard"][-1] == "Grazie per il suo tempo. Arrivederci."
    # Every request was signed and answered, the first at the inbound URL, the others at the
    # voice URL; the number's status callback (twice) closed the attempt.
    assert all(w["status_code"] == 200 for w in call["webhooks"])
    assert "/webhooks/telephony/inbound" in call["webhooks"][0]["url"]
    assert all("/webhooks/telephony/voice?attempt_id=" in w["url"] for w in call["webhooks"][2:])
    assert [(c["params"]["CallStatus"], c["status_code"]) for c in call["callbacks"]] == [
        ("completed", 204),
        ("completed", 204),
    ]
    # The dialler never called again: one outbound call in all.
    assert [c["direction"] for c in asyncio.run(emulator.calls())] == ["outbound-api", "inbound"]
    assert duplicates(database_url) == [] and count_mismatches(database_url) == []
    assert "Traceback" not in service.log()


def test_an_unknown_caller_hears_who_calls_and_presses_9(
    database_url: str, emulator: RunningEmulator, tmp_path: Path
) -> None:
    message = "Buongiorno, la chiamava ACME per un breve sondaggio sui suoi acquisti."
    service = twilio_service(database_url, emulator, tmp_path)
    try:
        point_number_at(emulator, service)
        document = campaign_document(call_window=ALL_DAY, script=script(inbound=message))
        with httpx.Client(base_url=service.url, timeout=30) as api:
            assert api.post("/api/campaigns", json=document).status_code == 201
        call = asyncio.run(emulator.inbound(STRANGER, CALLER_ID, [{"digits": "9"}]))
        silent = asyncio.run(emulator.inbound("anonymous", CALLER_ID))
    finally:
        service.stop()

    assert call["heard"] == [
        message,
        "Per non essere più chiamato, prema 9.",
        "Ho preso nota: non la chiameremo più. Arrivederci.",
    ]
    [gather] = call["gathers"]
    assert gather["attributes"]["input"] == "dtmf" and gather["attributes"]["numDigits"] == "1"
    assert gather["result"] == {"Digits": "9", "FinishedOnKey": ""}
    [entry] = query(database_url, "SELECT phone_number, source, reason FROM do_not_call")
    assert (entry["phone_number"], entry["source"]) == (STRANGER, "inbound")
    # A withheld caller id hears who calls, and nothing to press: there is no number to list.
    assert silent["heard"] == [message] and silent["gathers"] == []
    assert query(database_url, "SELECT count(*) FROM call_attempts")[0][0] == 0
    # The number's status callbacks for these calls find no attempt: stored, answered 204.
    assert all(c["status_code"] == 204 for c in call["callbacks"] + silent["callbacks"])
    assert "Traceback" not in service.log()
