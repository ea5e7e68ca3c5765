"""The Twilio emulator plays calls against a real voice app over HTTP, as Twilio would."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from app.telephony.base import CallRequest, ProviderUnavailable
from app.telephony.twilio import TwilioProvider
from app.telephony.twiml import GatherSpec, render_hangup, render_turn
from callsim.twilio.interpreter import APPLICATION_ERROR
from tests.support.twilio_emulator import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    RunningEmulator,
    VoiceApp,
    serve,
)

ROOT = Path(__file__).resolve().parents[2]
NUMBER = "+393331234567"
PROMPTS = ["Ha due minuti?", "Da 1 a 10, quanto è soddisfatto?", "Ci consiglierebbe?", "Altro?"]
StartApp = Callable[[list[str]], VoiceApp]


def survey_turns() -> list[str]:
    """One listening turn per prompt, each posting to the next document; then goodbye."""
    turns = [
        render_turn(
            [prompt],
            "it-IT",
            GatherSpec("it-IT", hints=["sì", "no"]),
            f"/twiml/{n + 1}?attempt_id=1",
            hangup=False,
        )
        for n, prompt in enumerate(PROMPTS)
    ]
    return [*turns, render_hangup(["Grazie, arrivederci."], "it-IT")]


@pytest.fixture
def start_app(provider: TwilioProvider) -> Iterator[StartApp]:
    with ExitStack() as stack:

        def start(documents: list[str]) -> VoiceApp:
            app = VoiceApp(documents, provider)
            app.base_url = stack.enter_context(serve(app.asgi()))
            return app

        yield start


async def place(
    provider: TwilioProvider,
    app: VoiceApp,
    to: str = NUMBER,
    ring_timeout_seconds: int = 30,
    time_limit_seconds: int = 900,
) -> str:
    request = CallRequest(
        attempt_id=1,
        to=to,
        from_=None,
        voice_url=app.url("/twiml/0?attempt_id=1"),
        status_callback_url=app.url("/events?attempt_id=1"),
        ring_timeout_seconds=ring_timeout_seconds,
        time_limit_seconds=time_limit_seconds,
    )
    return (await provider.initiate_call(request)).provider_call_id


# --- a scripted respondent -------------------------------------------------------------------


async def test_a_scripted_respondent_answers_each_gather(
    emulator: RunningEmulator, provider: TwilioProvider, start_app: StartApp
) -> None:
    answers = [{"speech": "sì"}, {"digits": "8"}, {"silence": True}, {"hangup": True}]
    await emulator.register(NUMBER, answers=answers)
    app = start_app(survey_turns())

    sid = await place(provider, app)
    record = await emulator.call(sid)

    voice = app.voice_requests()
    assert [r.path for r in voice] == ["/twiml/0", "/twiml/1", "/twiml/2", "/twiml/3"]
    assert all(r.status_code == 200 for r in voice)  # every signature checked out
    first, speech, digits, empty = (r.params for r in voice)
    assert first["CallSid"] == sid and first["AccountSid"] == ACCOUNT_SID
    assert (first["From"], first["To"]) == (FROM_NUMBER, NUMBER)
    assert (first["CallStatus"], first["Direction"]) == ("in-progress", "outbound-api")
    assert "AnsweredBy" not in first
    assert (speech["SpeechResult"], float(speech["Confidence"])) == ("sì", 0.92)
    assert (digits["Digits"], digits["FinishedOnKey"]) == ("8", "")
    assert not {"SpeechResult", "Digits"} & set(empty)  # actionOnEmptyResult posts no result
    assert record["heard"] == PROMPTS
    assert [g["answer"] for g in record["gathers"]] == answers
    assert record["status"] == "completed" and record["finished"]


async def test_status_callbacks_arrive_signed_and_numbered(
    emulator: RunningEmulator, provider: TwilioProvider, start_app: StartApp
) -> None:
    await emulator.register(NUMBER, answers=[{"speech": "no"}])
    app = start_app(survey_turns())

    sid = await place(provider, app)
    record = await emulator.call(sid)

    assert [c["status_code"] for c in record["callbacks"]] == [204] * 4
    events = app.events
    assert [e.status for e in events] == ["initiated", "ringing", "in-progress", "completed"]
    assert [e.sequence_number for e in events] == [0, 1, 2, 3]
    assert all(e.attempt_id == 1 and e.provider_call_id == sid for e in events)
    timestamps = [parsedate_to_datetime(e.raw["Timestamp"]) for e in events]
    assert len(timestamps) == 4 and timestamps == sorted(timestamps)
    assert events[-1].duration_seconds == record["duration"] and record["duration"] >= 1
    assert all(e.duration_seconds is None for e in events[:-1])


async def test_a_voice_app_with_the_wrong_token_rejects_every_request(
    emulator: RunningEmulator, start_app: StartApp
) -> None:
    placing = TwilioProvider.from_settings(emulator.settings())
    app = start_app(survey_turns())
    app.provider = TwilioProvider.from_settings(emulator.settings(twilio_auth_token="other"))

    record = await emulator.call(await place(placing, app))

    assert {r.status_code for r in app.received} == {403}
    assert any("11200" in note for note in record["notes"])
    assert record["heard"] == [APPLICATION_ERROR]  # the app's TwiML was never served


async def test_the_default_respondent_answers_then_hangs_up_at_the_first_gather(
    emulator: RunningEmulator, provider: TwilioProvider, start_app: StartApp
) -> None:
    app = start_app(survey_turns())

    record = await emulator.call(await place(provider, app))

    assert [r.path for r in app.voice_requests()] == ["/twiml/0"]
    assert record["heard"] == PROMPTS[:1]
    assert [g["answer"] for g in record["gathers"]] == [{"hangup": True}]
    assert record["status"] == "completed"


async def test_running_out_of_answers_hangs_up(
    emulator: RunningEmulator, provider: TwilioProvider, start_app: StartApp
) -> None:
    await emulator.register(NUMBER, answers=[{"speech": "sì"}])
    app = start_app(survey_turns())

    record = await emulator.call(await place(provider, app))

    assert len(app.voice_requests()) == 2
    assert record["gathers"][-1]["answer"] == {"hangup": True}


async def test_the_call_ends_with_hangup_or_the_end_of_the_document(
    emulator: RunningEmulator, provider: TwilioProvider, start_app: StartApp
) -> None:
    await emulator.register(NUMBER, answers=[{"digits": "1"}])
    goodbye = render_hangup(["Grazie, arrivederci."], "it-IT")
    gather = render_turn(["Prema 1"], "it-IT", GatherSpec("it-IT"), "/twiml/1", hangup=False)
    app = start_app([gather, goodbye])

    record = await emulator.call(await place(provider, app))

    assert record["heard"] == ["Prema 1", "Grazie, arrivederci."]
    assert record["status"] == "completed"
    assert [e.status for e in app.events][-1] == "completed"


# --- Gather semantics ------------------------------------------------------------------------


def gather_doc(attributes: str, then: str = "") -> str:
    return f"<Response><Gather {attributes}><Say>Domanda</Say></Gather>{then}</Response>"


@pytest.mark.parametrize(
    ("attributes", "pressed", "expected"),
    [
        ('input="dtmf" finishOnKey=""', "#", {"Digits": "#", "FinishedOnKey": ""}),
        ('input="dtmf"', "12#", {"Digits": "12", "FinishedOnKey": "#"}),
        ('input="dtmf" numDigits="1"', "34", {"Digits": "3", "FinishedOnKey": ""}),
        ('input="speech dtmf" finishOnKey=""', "*", {"Digits": "*", "FinishedOnKey": ""}),
    ],
)
async def test_digits_follow_finish_on_key_and_num_digits(
    emulator: RunningEmulator,
    provider: TwilioProvider,
    start_app: StartApp,
    attributes: str,
    pressed: str,
    expected: dict[str, str],
) -> None:
    await emulator.register(NUMBER, answers=[{"digits": pressed}])
    app = start_app([gather_doc(f'action="/twiml/1" {attributes}'), "<Response/>"])

    await emulator.call(await place(provider, app))

    action = app.voice_requests()[1].params
    assert {k: action[k] for k in expected} == expected


async def test_without_action_on_empty_result_silence_falls_through_to_the_redirect(
    emulator: RunningEmulator, provider: TwilioProvider, start_app: StartApp
) -> None:
    await emulator.register(NUMBER, answers=[{"silence": True}])
    redirect = '<Redirect method="POST">/twiml/1?no_input=1</Redirect>'
    app = start_app([gather_doc('input="speech" action="/twiml/2"', redirect), "<Response/>"])

    await emulator.call(await place(provider, app))

    assert [(r.path, r.query) for r in app.voice_requests()] == [
        ("/twiml/0", {"attempt_id": "1"}),
        ("/twiml/1", {"no_input": "1"}),
    ]


async def test_an_answer_the_gather_does_not_listen_for_is_silence(
    emulator: RunningEmulator, provider: TwilioProvider, start_app: StartApp
) -> None:
    await emulator.register(NUMBER, answers=[{"speech": "otto"}])
    doc = gather_doc('input="dtmf" action="/twiml/1" actionOnEmptyResult="true"')
    app = start_app([doc, "<Response/>"])

    await emulator.call(await place(provider, app))

    assert not {"SpeechResult", "Digits"} & set(app.voice_requests()[1].params)


async def test_an_empty_transcript_is_posted_as_such(
    emulator: RunningEmulator, provider: TwilioProvider, start_app: StartApp
) -> None:
    await emulator.register(NUMBER, answers=[{"speech": "", "confidence": 0.0}])
    app = start_app([gather_doc('input="speech" action="/twiml/1"'), "<Response/>"])

    await emulator.call(await place(provider, app))

    action = app.voice_requests()[1].params
    assert (action["SpeechResult"], float(action["Confidence"])) == ("", 0.0)


# --- call outcomes ---------------------------------------------------------------------------


@pytest.mark.parametrize("behaviour", ["no-answer", "busy", "failed"])
async def test_a_call_that_never_connects_fetches_no_twiml(
    emulator: RunningEmulator, provider: TwilioProvider, start_app: StartApp, behaviour: str
) -> None:
    await emulator.register(NUMBER, behaviour, error_code=32009 if behaviour == "failed" else None)
    app = start_app(survey_turns())

    record = await emulator.call(await place(provider, app))

    assert app.voice_requests() == []
    assert [e.status for e in app.events] == ["initiated", "ringing", behaviour]
    assert app.events[-1].duration_seconds == 0
    assert app.events[-1].raw.get("ErrorCode") == ("32009" if behaviour == "failed" else None)
    assert record["status"] == behaviour


async def test_a_ring_timeout_shorter_than_the_ringing_is_no_answer(
    emulator: RunningEmulator, start_app: StartApp
) -> None:
    await emulator.register(NUMBER, ring_seconds=20)
    provider = TwilioProvider.from_settings(emulator.settings())
    app = start_app(survey_turns())

    record = await emulator.call(await place(provider, app, ring_timeout_seconds=10))

    assert record["status"] == "no-answer" and app.voice_requests() == []


async def test_the_time_limit_ends_a_call_that_runs_long(
    emulator: RunningEmulator, provider: TwilioProvider, start_app: StartApp
) -> None:
    await emulator.register(NUMBER, answers=[{"silence": True}] * 4)
    app = start_app(survey_turns())

    record = await emulator.call(await place(provider, app, time_limit_seconds=8))

    # Each silent turn takes its prompt plus the 5 s Gather timeout of simulated time.
    assert len(app.voice_requests()) == 2
    assert record["status"] == "completed" and "TimeLimit reached" in " ".join(record["notes"])


# --- Twilio's own faults ----------------------------------------------------------------------


async def test_a_held_call_stays_live_until_its_hold_ends(
    emulator: RunningEmulator, provider: TwilioProvider, start_app: StartApp
) -> None:
    await emulator.register(NUMBER, hold_seconds=1.0, answers=[{"speech": "no"}])
    app = start_app(survey_turns())
    sid = await place(provider, app)
    deadline = time.monotonic() + 5
    while (await provider.fetch_call(sid)).status != "in-progress":
        assert time.monotonic() < deadline, "the call was never answered"

    assert app.voice_requests() == []  # answered, on hold: no TwiML asked for yet
    record = await emulator.call(sid, wait=10)
    assert record["status"] == "completed" and len(app.voice_requests()) == 2


async def test_lost_callbacks_are_never_delivered(
    emulator: RunningEmulator, provider: TwilioProvider, start_app: StartApp
) -> None:
    await emulator.register(NUMBER, lost_callbacks=True, answers=[{"speech": "no"}])
    app = start_app(survey_turns())

    record = await emulator.call(await place(provider, app))

    assert record["status"] == "completed" and len(app.voice_requests()) == 2
    assert record["callbacks"] == [] and app.events == []


@pytest.mark.parametrize(
    ("fault", "says"),
    [("error", "HTTP 500"), ("timeout", "unreachable"), ("garbage", "not understood")],
)
async def test_a_fetch_fault_is_an_answer_the_adapter_cannot_trust(
    emulator: RunningEmulator, start_app: StartApp, fault: str, says: str
) -> None:
    provider = TwilioProvider.from_settings(emulator.settings(twilio_api_timeout_seconds=0.5))
    await emulator.register(NUMBER, fetch_fault=fault, hold_seconds=2)
    sid = await place(provider, start_app(survey_turns()))

    with pytest.raises(ProviderUnavailable, match=says):
        await provider.fetch_call(sid)

    assert (await emulator.call(sid, wait=0))["fetches"] == 1


@pytest.mark.parametrize(
    ("behaviour", "mode", "answered_by"),
    [
        ("machine", "Enable", "machine_start"),
        ("machine", "DetectMessageEnd", "machine_end_beep"),
        ("fax", "Enable", "fax"),
        ("answer", "DetectMessageEnd", "human"),
    ],
)
async def test_machine_detection_reports_answered_by(
    emulator: RunningEmulator, start_app: StartApp, behaviour: str, mode: str, answered_by: str
) -> None:
    await emulator.register(NUMBER, behaviour, answers=[{"speech": "pronto"}])
    provider = TwilioProvider.from_settings(emulator.settings(twilio_machine_detection=mode))
    app = start_app(survey_turns())

    await emulator.call(await place(provider, app))

    assert app.voice_requests()[0].params["AnsweredBy"] == answered_by
    assert {e.raw.get("AnsweredBy") for e in app.events if e.status != "ringing"} >= {answered_by}
    if behaviour != "answer":  # a machine never answers a question
        assert "SpeechResult" not in app.voice_requests()[1].params


# --- delivery options for idempotency tests --------------------------------------------------


async def test_retry_webhooks_delivers_each_voice_webhook_twice(
    emulator: RunningEmulator, provider: TwilioProvider, start_app: StartApp
) -> None:
    await emulator.options(retry_webhooks=True)
    await emulator.register(NUMBER, answers=[{"speech": "sì"}])
    app = start_app(survey_turns())

    record = await emulator.call(await place(provider, app))

    paths = [r.path for r in app.voice_requests()]
    assert paths == ["/twiml/0", "/twiml/0", "/twiml/1", "/twiml/1"]
    first, retry = app.voice_requests()[:2]
    assert first.params == retry.params
    token = "i-twilio-idempotency-token"
    assert first.headers[token] == retry.headers[token]
    assert first.headers["x-twilio-signature"] == retry.headers["x-twilio-signature"]
    assert [w["attempt"] for w in record["webhooks"]] == [1, 2, 1, 2]


async def test_shuffle_callbacks_delivers_them_out_of_order(
    emulator: RunningEmulator, provider: TwilioProvider, start_app: StartApp
) -> None:
    await emulator.options(shuffle_callbacks=True, seed=7)
    await emulator.register(NUMBER, answers=[{"speech": "sì"}])
    app = start_app(survey_turns())

    await emulator.call(await place(provider, app))

    numbers = [e.sequence_number for e in app.events if e.sequence_number is not None]
    assert sorted(numbers) == [0, 1, 2, 3] and numbers != [0, 1, 2, 3]
    by_number = {e.sequence_number: e.status for e in app.events}
    assert by_number == {0: "initiated", 1: "ringing", 2: "in-progress", 3: "completed"}


async def test_duplicate_callbacks_delivers_each_twice(
    emulator: RunningEmulator, provider: TwilioProvider, start_app: StartApp
) -> None:
    await emulator.options(duplicate_callbacks=True)
    app = start_app(survey_turns())

    await emulator.call(await place(provider, app))

    assert [e.sequence_number for e in app.events] == [0, 0, 1, 1, 2, 2, 3, 3]


# --- the REST surface, spoken to directly ---------------------------------------------------


def create_form(app: VoiceApp, events: list[str]) -> list[tuple[str, str]]:
    form = [("To", NUMBER), ("From", FROM_NUMBER), ("Url", app.url("/twiml/0"))]
    form.append(("StatusCallback", app.url("/events")))
    return form + [("StatusCallbackEvent", e) for e in events]


async def post_create(emulator: RunningEmulator, form: list[tuple[str, str]], **kw: Any) -> Any:
    auth = kw.pop("auth", (ACCOUNT_SID, AUTH_TOKEN))
    url = f"{emulator.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with httpx.AsyncClient(trust_env=False) as client:
        return await client.post(url, content=urlencode(form), headers=headers, auth=auth)


@pytest.mark.parametrize(
    ("events", "delivered"),
    [
        ([], ["completed"]),
        (["ringing", "completed"], ["ringing", "completed"]),
        # One space-joined value is one unknown event: calls look stuck at `initiated`.
        (["initiated ringing answered completed"], ["initiated"]),
    ],
)
async def test_only_subscribed_events_are_called_back(
    emulator: RunningEmulator, start_app: StartApp, events: list[str], delivered: list[str]
) -> None:
    app = start_app(survey_turns())

    response = await post_create(emulator, create_form(app, events))
    await emulator.call(response.json()["sid"])

    statuses = [r.params.get("CallStatus") for r in app.received if r.path == "/events"]
    assert statuses == delivered


async def test_the_rest_api_checks_credentials(
    emulator: RunningEmulator, start_app: StartApp
) -> None:
    app = start_app(survey_turns())

    response = await post_create(emulator, create_form(app, []), auth=(ACCOUNT_SID, "nope"))

    assert response.status_code == 401 and response.json()["code"] == 20003
    assert await emulator.calls() == []


async def test_the_created_call_resource_is_what_the_library_parses(
    emulator: RunningEmulator, start_app: StartApp
) -> None:
    app = start_app(survey_turns())

    response = await post_create(emulator, create_form(app, []))

    body = response.json()
    assert response.status_code == 201
    assert body["status"] == "queued" and body["direction"] == "outbound-api"
    assert body["sid"].startswith("CA") and len(body["sid"]) == 34
    assert body["uri"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{body['sid']}.json"
    basic = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    async with httpx.AsyncClient(trust_env=False) as client:
        fetched = await client.get(
            emulator.base_url + body["uri"], headers={"Authorization": f"Basic {basic}"}
        )
    assert fetched.json()["sid"] == body["sid"]


def test_the_emulator_runs_as_a_module() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "callsim.twilio", "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TWILIO_AUTH_TOKEN": "T"}
    process = subprocess.Popen([*command, "--seed", "3"], env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/_emulator/options", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert response.json()["seed"] == 3
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- the TwiML renderer ----------------------------------------------------------------------


def test_render_turn_nests_the_prompts_in_the_gather_and_redirects_on_no_input() -> None:
    spec = GatherSpec("en-US", hints=["yes", "no, thanks"], num_digits=2)

    xml = render_turn(["Hello", "Ready?"], "en-US", spec, "https://x/v?attempt_id=1", False)

    root = ET.fromstring(xml.encode())
    gather, redirect = list(root)
    assert gather.tag == "Gather" and redirect.tag == "Redirect"
    assert gather.attrib == {
        "input": "speech dtmf",
        "action": "https://x/v?attempt_id=1",
        "method": "POST",
        "timeout": "5",
        "speechTimeout": "auto",
        "speechModel": "phone_call",
        "language": "en-US",
        "hints": "yes, no  thanks",
        "finishOnKey": "",
        "numDigits": "2",
        "actionOnEmptyResult": "true",
    }
    assert [(s.text, s.get("voice"), s.get("language")) for s in gather] == [
        ("Hello", "Polly.Joanna", "en-US"),
        ("Ready?", "Polly.Joanna", "en-US"),
    ]
    assert (redirect.text, redirect.get("method")) == (
        "https://x/v?attempt_id=1&no_input=1",
        "POST",
    )


def test_render_turn_without_a_gather_hangs_up_or_continues() -> None:
    hang_up = ET.fromstring(render_turn(["Ciao"], "it-IT", None, "/next", hangup=True).encode())
    carry_on = ET.fromstring(render_turn(["Ciao"], "it-IT", None, "/next", hangup=False).encode())

    assert [v.tag for v in hang_up] == ["Say", "Hangup"]
    assert [(v.tag, v.text) for v in carry_on] == [("Say", "Ciao"), ("Redirect", "/next")]
    assert hang_up[0].get("voice") == "Polly.Bianca"


def test_render_turn_refuses_auto_speech_timeout_with_the_default_model() -> None:
    with pytest.raises(ValueError, match="speech model"):
        GatherSpec("it-IT", speech_model="default")
    with pytest.raises(ValueError, match="listens or hangs up"):
        render_turn(["x"], "it-IT", GatherSpec("it-IT"), "/a", hangup=True)
