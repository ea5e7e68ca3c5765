"""The Twilio adapter over real HTTP: the `twilio` library talking to the local emulator."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import socket
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from twilio.request_validator import RequestValidator

from app.config import Settings, SettingsError
from app.main import create_app
from app.telephony.base import (
    Answerer,
    CallReport,
    CallRequest,
    CallState,
    InboundWebhook,
    InvalidNumberError,
    Listening,
    ProviderUnavailable,
    Reply,
    TelephonyError,
    VoiceTurn,
    WebhookInvalid,
    WebhookRejected,
)
from app.telephony.factory import create_provider
from app.telephony.twilio import TwilioConfig, TwilioProvider
from tests.support.twilio_emulator import (
    AUTH_TOKEN,
    FROM_NUMBER,
    RunningEmulator,
    VoiceApp,
    serve,
)

NUMBER = "+393331234567"
SERVICE = "http://127.0.0.1:8880"  # the tests' PUBLIC_BASE_URL
SERVICE_EVENTS = "/webhooks/telephony/events?attempt_id=7"
PUBLIC = "https://surveys.example.com"
EVENTS_URL = f"{PUBLIC}/webhooks/telephony/events?attempt_id=7"
FORM = "application/x-www-form-urlencoded"
HANG_UP_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Ciao</Say></Response>'


@pytest.fixture
async def voice_app(provider: TwilioProvider) -> AsyncIterator[VoiceApp]:
    app = VoiceApp([HANG_UP_TWIML], provider)
    with serve(app.asgi()) as base_url:
        app.base_url = base_url
        yield app


def request_to(app: VoiceApp, to: str = NUMBER, attempt_id: int = 7) -> CallRequest:
    return CallRequest(
        attempt_id=attempt_id,
        to=to,
        from_=None,
        voice_url=app.url(f"/twiml/0?attempt_id={attempt_id}"),
        status_callback_url=app.url(f"/events?attempt_id={attempt_id}"),
        ring_timeout_seconds=30,
        time_limit_seconds=900,
    )


# --- configuration ---------------------------------------------------------------------------


def test_the_factory_builds_the_twilio_adapter(emulator_server: RunningEmulator) -> None:
    provider = create_provider(emulator_server.settings())

    assert isinstance(provider, TwilioProvider)
    assert provider.name == "twilio"


def test_missing_credentials_stop_start_up_naming_the_variables(
    emulator_server: RunningEmulator,
) -> None:
    settings = emulator_server.settings(twilio_auth_token=None, twilio_from_number=None)

    with pytest.raises(SettingsError, match="TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER"):
        create_provider(settings)


# --- initiate_call ---------------------------------------------------------------------------


async def test_initiate_call_sends_what_twilio_needs(
    emulator: RunningEmulator, provider: TwilioProvider, voice_app: VoiceApp
) -> None:
    placed = await provider.initiate_call(request_to(voice_app))

    record = await emulator.call(placed.provider_call_id)
    sent = record["request"]
    assert placed.provider_call_id.startswith("CA") and len(placed.provider_call_id) == 34
    # One repeated form value per event, not one space-joined string.
    assert sent["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert sent["To"] == [NUMBER] and sent["From"] == [FROM_NUMBER]
    assert sent["Url"] == [voice_app.url("/twiml/0?attempt_id=7")]
    assert sent["Method"] == ["POST"] and sent["StatusCallbackMethod"] == ["POST"]
    assert sent["StatusCallback"] == [voice_app.url("/events?attempt_id=7")]
    assert sent["Timeout"] == ["30"] and sent["TimeLimit"] == ["900"]
    assert "MachineDetection" not in sent


async def test_the_requests_caller_id_ring_timeout_and_time_limit_are_used(
    emulator: RunningEmulator, voice_app: VoiceApp
) -> None:
    provider = TwilioProvider.from_settings(emulator.settings())
    request = dataclasses.replace(
        request_to(voice_app),
        from_="+390611111111",
        ring_timeout_seconds=45,
        time_limit_seconds=300,
    )

    placed = await provider.initiate_call(request)

    sent = (await emulator.call(placed.provider_call_id))["request"]
    assert sent["From"] == ["+390611111111"]
    assert sent["Timeout"] == ["45"] and sent["TimeLimit"] == ["300"]


@pytest.mark.parametrize("mode", ["Enable", "DetectMessageEnd"])
async def test_machine_detection_when_enabled_reaches_the_twiml_request(
    emulator: RunningEmulator, voice_app: VoiceApp, mode: str
) -> None:
    provider = TwilioProvider.from_settings(emulator.settings(twilio_machine_detection=mode))

    placed = await provider.initiate_call(request_to(voice_app))

    record = await emulator.call(placed.provider_call_id)
    assert record["request"]["MachineDetection"] == [mode]
    assert voice_app.voice_requests()[0].params["AnsweredBy"] == "human"
    assert record["answered_by"] == "human"


@pytest.mark.parametrize("code", [21211, 21214, 21217, 13223, 13224])
async def test_a_number_twilio_cannot_call_is_an_invalid_number(
    emulator: RunningEmulator, provider: TwilioProvider, voice_app: VoiceApp, code: int
) -> None:
    await emulator.register(NUMBER, "invalid", error_code=code)

    with pytest.raises(InvalidNumberError, match=f"Twilio error {code} \\(HTTP 400\\)"):
        await provider.initiate_call(request_to(voice_app))

    assert await emulator.calls() == []


async def test_a_geo_permission_refusal_is_a_telephony_error_not_a_bad_number(
    emulator: RunningEmulator, provider: TwilioProvider, voice_app: VoiceApp
) -> None:
    await emulator.register(NUMBER, "invalid", error_code=21215)

    with pytest.raises(TelephonyError, match="21215") as raised:
        await provider.initiate_call(request_to(voice_app))

    assert not isinstance(raised.value, InvalidNumberError)


async def test_a_malformed_number_is_refused_by_twilio_as_invalid(
    emulator: RunningEmulator, provider: TwilioProvider, voice_app: VoiceApp
) -> None:
    with pytest.raises(InvalidNumberError, match="21211"):
        await provider.initiate_call(request_to(voice_app, to="+12"))


async def test_other_client_errors_are_telephony_errors(
    emulator: RunningEmulator, voice_app: VoiceApp
) -> None:
    provider = TwilioProvider.from_settings(emulator.settings(twilio_auth_token="wrong"))

    with pytest.raises(TelephonyError, match="20003") as info:
        await provider.initiate_call(request_to(voice_app))

    assert not isinstance(info.value, InvalidNumberError)
    assert "\n" not in str(info.value)


async def test_a_server_error_is_an_unknown_outcome_not_a_telephony_error(
    emulator_server: RunningEmulator,
) -> None:
    broken = FastAPI()

    @broken.post("/2010-04-01/Accounts/{sid}/Calls.json")
    async def create(sid: str) -> JSONResponse:
        return JSONResponse({"code": 20500, "message": "Internal Server Error"}, status_code=500)

    with serve(broken) as base_url:
        provider = TwilioProvider.from_settings(
            emulator_server.settings(twilio_api_base_url=base_url)
        )
        with pytest.raises(ProviderUnavailable, match="HTTP 500") as info:
            await provider.initiate_call(request_to(VoiceApp([], provider)))

    assert not isinstance(info.value, TelephonyError)


async def test_an_unreachable_api_is_an_unknown_outcome(emulator_server: RunningEmulator) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    provider = TwilioProvider.from_settings(emulator_server.settings(twilio_api_base_url=closed))

    with pytest.raises(ProviderUnavailable, match="unreachable"):
        await provider.initiate_call(request_to(VoiceApp([], provider)))


# --- fetch_call and hangup -------------------------------------------------------------------


async def test_fetch_call_reports_status_answered_by_and_duration(
    emulator: RunningEmulator, voice_app: VoiceApp
) -> None:
    provider = TwilioProvider.from_settings(emulator.settings(twilio_machine_detection="Enable"))
    placed = await provider.initiate_call(request_to(voice_app))
    await emulator.call(placed.provider_call_id)

    report = await provider.fetch_call(placed.provider_call_id)

    assert report.status == "completed"
    assert report.answered_by == "human"
    assert report.duration_seconds is not None and report.duration_seconds >= 1


@pytest.mark.parametrize("behaviour", ["busy", "no-answer", "failed"])
async def test_fetch_call_reports_a_call_that_never_connected(
    emulator: RunningEmulator, provider: TwilioProvider, voice_app: VoiceApp, behaviour: str
) -> None:
    await emulator.register(NUMBER, behaviour)
    placed = await provider.initiate_call(request_to(voice_app))
    await emulator.call(placed.provider_call_id)

    report = await provider.fetch_call(placed.provider_call_id)

    assert report == CallReport(status=behaviour, answered_by=None, duration_seconds=0)
    assert voice_app.voice_requests() == []


@pytest.mark.parametrize("sid", [None, "", "CA" + "f" * 32])
async def test_fetch_call_of_no_or_an_unknown_call_does_not_know(
    emulator: RunningEmulator, provider: TwilioProvider, sid: str | None
) -> None:
    assert await provider.fetch_call(sid) == CallReport(status=None)


async def test_hangup_of_a_ringing_call_cancels_it_and_repeating_it_succeeds(
    emulator: RunningEmulator, provider: TwilioProvider, voice_app: VoiceApp
) -> None:
    await emulator.options(step_delay=0.3)
    placed = await provider.initiate_call(request_to(voice_app))

    await provider.hangup(placed.provider_call_id)
    await provider.hangup(placed.provider_call_id)  # already ended: Twilio says 21220

    record = await emulator.call(placed.provider_call_id)
    assert record["status"] == "canceled"
    assert (await provider.fetch_call(placed.provider_call_id)).status == "canceled"
    assert voice_app.voice_requests() == []
    final = [e for e in voice_app.events if e.status == "canceled"]
    assert len(final) == 1


async def test_hangup_of_an_answered_call_completes_it(
    emulator: RunningEmulator, provider: TwilioProvider, voice_app: VoiceApp
) -> None:
    voice_app.delay_seconds = 0.5  # the call stays in progress while the TwiML is awaited
    sid = (await provider.initiate_call(request_to(voice_app))).provider_call_id
    for _ in range(200):
        if (await provider.fetch_call(sid)).status == "in-progress":
            break
        await asyncio.sleep(0.01)

    await provider.hangup(sid)

    record = await emulator.call(sid)
    assert record["status"] == "completed" and record["heard"] == []
    statuses = [e.status for e in voice_app.events]
    assert statuses == ["initiated", "ringing", "in-progress", "completed"]


async def test_hangup_of_an_unknown_call_succeeds(provider: TwilioProvider) -> None:
    await provider.hangup("CA" + "0" * 32)


# --- through the events endpoint, with TELEPHONY_PROVIDER=twilio -----------------------------


@pytest.fixture
async def twilio_service(
    make_settings: Callable[..., Settings], emulator_server: RunningEmulator
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        telephony_provider="twilio",
        twilio_account_sid=emulator_server.account_sid,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from_number=FROM_NUMBER,
        twilio_api_base_url=emulator_server.base_url,
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url=SERVICE) as client:
            yield client


def signed_headers(url: str, params: dict[str, str]) -> dict[str, str]:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    return {"X-Twilio-Signature": signature, "Content-Type": FORM}


async def test_an_unsigned_empty_post_to_the_events_endpoint_gets_403(
    twilio_service: httpx.AsyncClient,
) -> None:
    assert (await twilio_service.post(SERVICE_EVENTS)).status_code == 403


async def test_a_badly_signed_callback_to_the_events_endpoint_gets_403(
    twilio_service: httpx.AsyncClient,
) -> None:
    headers = signed_headers(SERVICE + SERVICE_EVENTS, {**COMPLETED, "CallStatus": "busy"})

    response = await twilio_service.post(
        SERVICE_EVENTS, content=urlencode(COMPLETED), headers=headers
    )

    assert response.status_code == 403


async def test_a_signed_empty_post_to_the_events_endpoint_is_a_keep_alive(
    twilio_service: httpx.AsyncClient,
) -> None:
    headers = signed_headers(SERVICE + SERVICE_EVENTS, {})

    assert (await twilio_service.post(SERVICE_EVENTS, headers=headers)).status_code == 204


# --- parse_status_event ----------------------------------------------------------------------


def offline_provider(token: str = AUTH_TOKEN) -> TwilioProvider:
    config = TwilioConfig(account_sid="AC" + "1" * 32, auth_token=token, from_number=FROM_NUMBER)
    return TwilioProvider(config)


def callback(
    params: dict[str, str],
    *,
    url: str = EVENTS_URL,
    signature: str | None = "sign",
    token: str = AUTH_TOKEN,
    signed_url: str | None = None,
) -> InboundWebhook:
    headers = {"content-type": FORM, "host": "surveys.example.com"}
    if signature == "sign":
        signature = RequestValidator(token).compute_signature(signed_url or url, params)
    if signature is not None:
        headers["x-twilio-signature"] = signature
    query = dict(p.split("=", 1) for p in url.partition("?")[2].split("&") if p)
    return InboundWebhook(
        url=url, headers=headers, query=query, body=urlencode(params).encode(), content_type=FORM
    )


COMPLETED = {
    "AccountSid": "AC" + "1" * 32,
    "CallSid": "CA" + "2" * 32,
    "CallStatus": "completed",
    "SequenceNumber": "3",
    "CallDuration": "42",
    "AnsweredBy": "machine_start",
    "Timestamp": "Tue, 14 Feb 2023 18:39:53 +0000",  # not read: an unparsable one is harmless
    "ForwardedFrom": "",  # blank values are signed too
    "To": NUMBER,
}


def test_a_signed_status_callback_becomes_a_status_event() -> None:
    event = offline_provider().parse_status_event(callback(COMPLETED))

    assert event is not None
    assert (event.attempt_id, event.status) == (7, CallState.COMPLETED)
    assert event.provider_call_id == "CA" + "2" * 32
    assert (event.sequence_number, event.duration_seconds) == (3, 42)
    assert event.answered_by is Answerer.MACHINE
    assert (event.invalid_number, event.error) == (False, None)
    assert event.raw["ForwardedFrom"] == "" and event.raw["AnsweredBy"] == "machine_start"


@pytest.mark.parametrize(
    ("twilio", "state"),
    [
        ("queued", CallState.QUEUED),
        ("initiated", CallState.INITIATED),
        ("ringing", CallState.RINGING),
        ("in-progress", CallState.IN_PROGRESS),
        ("completed", CallState.COMPLETED),
        ("busy", CallState.BUSY),
        ("no-answer", CallState.NO_ANSWER),
        ("failed", CallState.FAILED),
        ("canceled", CallState.CANCELED),
    ],
)
def test_every_twilio_call_status_has_its_state(twilio: str, state: CallState) -> None:
    event = offline_provider().parse_status_event(callback({**COMPLETED, "CallStatus": twilio}))

    assert event is not None and event.status is state


@pytest.mark.parametrize(
    ("twilio", "answerer"),
    [
        ("machine_start", Answerer.MACHINE),
        ("machine_end_beep", Answerer.MACHINE),
        ("machine_end_silence", Answerer.MACHINE),
        ("machine_end_other", Answerer.MACHINE),
        ("fax", Answerer.FAX),
        ("human", Answerer.HUMAN),
        ("unknown", Answerer.UNKNOWN),
        ("something_new", Answerer.UNKNOWN),
        ("", None),
    ],
)
def test_answered_by_is_read_as_who_picked_up(twilio: str, answerer: Answerer | None) -> None:
    event = offline_provider().parse_status_event(callback({**COMPLETED, "AnsweredBy": twilio}))

    assert event is not None and event.answered_by is answerer


@pytest.mark.parametrize("code", ["13223", "13224", "13225", "21211", "21214", "21217"])
def test_twilios_invalid_number_codes_say_the_number_is_invalid(code: str) -> None:
    params = {**COMPLETED, "CallStatus": "failed", "ErrorCode": code}

    event = offline_provider().parse_status_event(callback(params))

    assert event is not None and event.invalid_number
    assert event.error == f"Twilio error {code}"


@pytest.mark.parametrize("code", ["32009", "30003", "31005", "21215", ""])
def test_other_error_codes_are_kept_but_do_not_condemn_the_number(code: str) -> None:
    params = {**COMPLETED, "CallStatus": "failed", "ErrorCode": code}

    event = offline_provider().parse_status_event(callback(params))

    assert event is not None and not event.invalid_number
    assert event.error == (f"Twilio error {code}" if code else None)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("CallStatus", "exploded"),
        ("CallStatus", ""),
        ("SequenceNumber", "one"),
        ("SequenceNumber", "9" * 30),
        ("CallDuration", "-5"),
    ],
)
def test_a_signed_callback_with_a_malformed_field_is_invalid_naming_it(
    field: str, value: str
) -> None:
    with pytest.raises(WebhookInvalid, match=f"^{field}: "):
        offline_provider().parse_status_event(callback({**COMPLETED, field: value}))


def test_a_malformed_attempt_id_in_the_callback_url_is_named() -> None:
    url = f"{PUBLIC}/webhooks/telephony/events?attempt_id={'9' * 25}"

    with pytest.raises(WebhookInvalid, match=r"^attempt_id: "):
        offline_provider().parse_status_event(callback(COMPLETED, url=url))


# --- voice turns and TwiML ---------------------------------------------------------------------

VOICE_URL = f"{PUBLIC}/webhooks/telephony/voice?attempt_id=7"
HEARD_SI = VoiceTurn(7, 2, speech="sì")


@pytest.mark.parametrize(
    ("url", "params", "expected"),
    [
        (VOICE_URL, {"CallStatus": "in-progress"}, VoiceTurn(7, None)),
        (
            VOICE_URL,
            {"AnsweredBy": "machine_end_beep"},
            VoiceTurn(7, None, Answerer.MACHINE, greeting_ended=True),
        ),
        (VOICE_URL, {"AnsweredBy": "machine_start"}, VoiceTurn(7, None, Answerer.MACHINE)),
        (VOICE_URL, {"AnsweredBy": "fax"}, VoiceTurn(7, None, Answerer.FAX)),
        (
            VOICE_URL + "&turn=2",
            {"SpeechResult": " otto ", "Confidence": "0.8125"},
            VoiceTurn(7, 2, speech="otto", confidence=0.8125),
        ),
        # A confidence that is not 0..1 is as good as none.
        (VOICE_URL + "&turn=2", {"SpeechResult": "sì", "Confidence": "nan"}, HEARD_SI),
        (VOICE_URL + "&turn=2", {"SpeechResult": "sì", "Confidence": "7"}, HEARD_SI),
        (VOICE_URL + "&turn=3", {"Digits": "#", "FinishedOnKey": ""}, VoiceTurn(7, 3, digits="#")),
        (VOICE_URL + "&turn=3", {"SpeechResult": "", "Digits": ""}, VoiceTurn(7, 3)),
        # The Redirect after a Gather that fell through: nothing was heard, whatever is posted.
        (VOICE_URL + "&turn=3&no_input=1", {"SpeechResult": "stale"}, VoiceTurn(7, 3)),
    ],
)  # fmt: skip
def test_a_signed_voice_webhook_becomes_a_voice_turn(
    url: str, params: dict[str, str], expected: VoiceTurn
) -> None:
    assert offline_provider().parse_voice_turn(callback(params, url=url)) == expected


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"{PUBLIC}/webhooks/telephony/voice", "attempt_id"),
        (VOICE_URL + "&turn=x", "turn"),
        (f"{PUBLIC}/webhooks/telephony/voice?attempt_id=1e3", "attempt_id"),
    ],
)
def test_a_voice_webhook_with_a_malformed_url_is_invalid_naming_it(url: str, field: str) -> None:
    with pytest.raises(WebhookInvalid, match=f"^{field}: "):
        offline_provider().parse_voice_turn(callback({"CallStatus": "in-progress"}, url=url))


def test_an_unsigned_voice_webhook_is_rejected_before_it_is_read() -> None:
    with pytest.raises(WebhookRejected):
        offline_provider().parse_voice_turn(
            callback({"Digits": "1"}, url=VOICE_URL, signature=None)
        )


def test_a_reply_that_listens_is_a_gather_posting_to_the_next_url() -> None:
    reply = Reply("it-IT", ("Ha due minuti?",), Listening(("sì", "no"), 6, 1))
    next_url = VOICE_URL + "&turn=1"

    document = offline_provider().render_reply(reply, next_url)

    assert document.media_type == "application/xml"
    root = ET.fromstring(document.body)
    gather = root.find("Gather")
    assert gather is not None and gather.get("action") == next_url
    assert (gather.get("language"), gather.get("hints")) == ("it-IT", "sì, no")
    assert (gather.get("timeout"), gather.get("numDigits")) == ("6", "1")
    assert gather.get("speechModel") == "phone_call"
    assert [e.text for e in gather.iter("Say")] == ["Ha due minuti?"]
    redirect = root.find("Redirect")
    assert redirect is not None and redirect.text == next_url + "&no_input=1"


def test_the_speech_model_setting_reaches_the_gather(emulator_server: RunningEmulator) -> None:
    provider = TwilioProvider.from_settings(
        emulator_server.settings(twilio_speech_model="experimental_conversations")
    )
    reply = Reply("en-US", ("Hello?",), Listening())

    gather = ET.fromstring(provider.render_reply(reply, VOICE_URL).body).find("Gather")

    assert gather is not None and gather.get("speechModel") == "experimental_conversations"


@pytest.mark.parametrize("model", ["default", ""])
def test_a_speech_model_that_cannot_end_utterances_stops_start_up(
    emulator_server: RunningEmulator, model: str
) -> None:
    with pytest.raises(SettingsError, match="TWILIO_SPEECH_MODEL"):
        create_provider(emulator_server.settings(twilio_speech_model=model))


def test_a_reply_that_does_not_listen_speaks_and_hangs_up() -> None:
    document = offline_provider().render_reply(Reply("en-US", ("Goodbye.",)), VOICE_URL)

    root = ET.fromstring(document.body)
    assert [e.tag for e in root] == ["Say", "Hangup"]
    assert root[0].text == "Goodbye." and root[0].get("voice") == "Polly.Joanna"


@pytest.mark.parametrize(
    ("case", "webhook"),
    [
        ("missing signature", callback(COMPLETED, signature=None)),
        ("empty signature", callback(COMPLETED, signature="")),
        ("garbage signature", callback(COMPLETED, signature="bm90IGEgc2lnbmF0dXJl")),
        ("other token", callback(COMPLETED, token="someone-else")),
        ("signed for another URL", callback(COMPLETED, signed_url=EVENTS_URL + "1")),
        ("signed behind the proxy", callback(COMPLETED, signed_url="http://10.0.0.5:8880/x")),
        ("unsigned empty body", callback({}, signature=None)),
        ("empty body, bad signature", callback({}, signature="bm90IGEgc2lnbmF0dXJl")),
    ],
)
def test_an_unauthenticated_callback_is_rejected(case: str, webhook: InboundWebhook) -> None:
    with pytest.raises(WebhookRejected):
        offline_provider().parse_status_event(webhook)


def test_a_tampered_body_is_rejected() -> None:
    webhook = callback(COMPLETED)
    tampered = InboundWebhook(
        url=webhook.url,
        headers=webhook.headers,
        query=webhook.query,
        body=webhook.body.replace(b"completed", b"no-answer"),
        content_type=FORM,
    )

    with pytest.raises(WebhookRejected):
        offline_provider().parse_status_event(tampered)


def test_a_signed_empty_post_is_a_keep_alive() -> None:
    assert offline_provider().parse_status_event(callback({})) is None


def test_validate_webhook_returns_the_form_and_signs_every_value_of_a_repeated_name() -> None:
    url = f"{PUBLIC}/webhooks/telephony/voice?attempt_id=7"
    pairs = [("Digits", "2"), ("CallSid", "CA1"), ("Digits", "1")]
    # Names sorted, then each name + value, for every value of a repeated name.
    signed = url + "CallSidCA1" + "Digits1" + "Digits2"
    mac = hmac.new(AUTH_TOKEN.encode(), signed.encode(), hashlib.sha1)
    webhook = InboundWebhook(
        url=url,
        headers={"X-Twilio-Signature": base64.b64encode(mac.digest()).decode()},
        query={"attempt_id": "7"},
        body=urlencode(pairs).encode(),
        content_type=FORM + "; charset=utf-8",
    )

    assert offline_provider().validate_webhook(webhook) == {"Digits": "1", "CallSid": "CA1"}


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://surveys.example.com", True),
        ("http://127.0.0.1:8880", True),
        ("http://localhost:8880", True),
        ("http://surveys.example.com", False),
        ("http://10.1.2.3:8880", False),
    ],
)
def test_public_base_url_must_be_https_except_on_loopback(
    emulator_server: RunningEmulator, url: str, accepted: bool
) -> None:
    settings = emulator_server.settings(public_base_url=url)

    if accepted:
        assert isinstance(create_provider(settings), TwilioProvider)
    else:
        with pytest.raises(SettingsError, match="PUBLIC_BASE_URL"):
            create_provider(settings)
