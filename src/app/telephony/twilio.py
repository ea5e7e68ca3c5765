"""The Twilio adapter: every Twilio detail the service knows, and nothing else knows.

It places and asks about calls through the official `twilio` library, authenticates webhooks
with `X-Twilio-Signature`, reads Twilio's form fields into the project's typed events, and renders
replies as TwiML (`twiml.py`). Twilio's field names, CallStatus and AnsweredBy values and error
codes appear here and in `twiml.py` only.

The library is synchronous (it uses `requests`), so every REST call runs in a worker thread.
Errors become the project's own exceptions:

- `InvalidNumberError`: Twilio says the destination can never be called (21211, 21214, ...);
- `TelephonyError`: any other 4xx, so the call was certainly not placed;
- `ProviderUnavailable`: a 5xx, a timeout, a broken connection or an answer that is not what
  Twilio sends. The call may or may not exist, so it is deliberately *not* a `TelephonyError`:
  the dispatcher leaves the attempt open for a callback to adopt or for recovery to reconcile,
  and recovery never closes a call on such an answer before the call is provably over.

Every inbound webhook is authenticated with `X-Twilio-Signature` over the public URL
(PUBLIC_BASE_URL + path + query) before its body is even looked at — the number's Voice URL
(`parse_inbound`: CallSid, From, To, and Digits of the "press 9" Gather) as much as the others.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from app.config import Settings, SettingsError
from app.logs import one_line
from app.telephony.base import (
    PROMPT_PARAM,
    Answerer,
    CallReport,
    CallRequest,
    CallState,
    InboundCall,
    InboundWebhook,
    InvalidNumberError,
    PlacedCall,
    ProviderDocument,
    ProviderUnavailable,
    Reply,
    StatusEvent,
    TelephonyError,
    VoiceTurn,
    WebhookInvalid,
    WebhookRejected,
)
from app.telephony.callbacks import ATTEMPT_PARAM, TURN_PARAM, query_id, required_attempt
from app.telephony.twiml import NO_INPUT_FLAG, GatherSpec, render_hangup, render_turn

T = TypeVar("T")

# Twilio's codes for a destination that can never be dialled as given, from the REST API or in
# a status callback's ErrorCode. 21215 (geo permissions) is left out: the account, not the
# number, needs fixing.
INVALID_NUMBER_CODES = frozenset({21211, 21214, 21217, 13223, 13224, 13225})
# A hang-up that finds the call gone (unknown sid, or no longer in progress) has nothing to do.
CALL_GONE_CODES = frozenset({20404, 21220})
TWIML = "application/xml"
# Call SIDs are 34 characters and numbers at most 16: anything longer is not from Twilio.
MAX_FIELD_CHARS = 64
# One repeated form parameter each: a space-joined string leaves calls stuck at `initiated`.
STATUS_CALLBACK_EVENTS = ("initiated", "ringing", "answered", "completed")

# Twilio's CallStatus values; anything else means the payload is not understood.
STATUSES = {
    "queued": CallState.QUEUED,
    "initiated": CallState.INITIATED,
    "ringing": CallState.RINGING,
    "in-progress": CallState.IN_PROGRESS,
    "completed": CallState.COMPLETED,
    "busy": CallState.BUSY,
    "no-answer": CallState.NO_ANSWER,
    "failed": CallState.FAILED,
    "canceled": CallState.CANCELED,
}
# AnsweredBy values of answering-machine detection; an unlisted one counts as unknown.
ANSWERED_BY = {
    "human": Answerer.HUMAN,
    "machine_start": Answerer.MACHINE,
    "machine_end_beep": Answerer.MACHINE,
    "machine_end_silence": Answerer.MACHINE,
    "machine_end_other": Answerer.MACHINE,
    "fax": Answerer.FAX,
    "unknown": Answerer.UNKNOWN,
}
# With MachineDetection=DetectMessageEnd the verdict comes after the greeting (and its beep).
GREETING_ENDED = frozenset({"machine_end_beep", "machine_end_silence", "machine_end_other"})


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str
    auth_token: str
    from_number: str
    api_base_url: str | None = None
    machine_detection: str = "off"
    speech_model: str = "phone_call"
    # requests has no timeout by default; a hung connection must become an "unknown outcome".
    api_timeout_seconds: float = 15.0

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioConfig:
        """Take the TWILIO_* settings; a missing one stops start-up naming the variable."""
        token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
        required = {
            "TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": token,
            "TWILIO_FROM_NUMBER": settings.twilio_from_number,
        }
        missing = [name for name, value in required.items() if not value]
        if missing:
            raise SettingsError(
                f"invalid setting {', '.join(missing)}: required when TELEPHONY_PROVIDER=twilio"
            )
        if not _public_and_secure(settings.public_base_url):
            raise SettingsError(
                "invalid setting PUBLIC_BASE_URL: Twilio needs an https:// URL it can reach "
                "(http:// is accepted only for a loopback host, with a local emulator)"
            )
        return cls(
            account_sid=settings.twilio_account_sid or "",
            auth_token=token,
            from_number=settings.twilio_from_number or "",
            api_base_url=settings.twilio_api_base_url,
            machine_detection=settings.twilio_machine_detection,
            speech_model=_speech_model(settings.twilio_speech_model),
            api_timeout_seconds=settings.twilio_api_timeout_seconds,
        )


def _speech_model(model: str) -> str:
    if model.strip() in ("", "default"):
        # speechTimeout="auto" (the end of the utterance at the first pause) needs a model.
        raise SettingsError(
            "invalid setting TWILIO_SPEECH_MODEL: use a model that supports speechTimeout=auto, "
            "such as phone_call or experimental_conversations"
        )
    return model.strip()


def _public_and_secure(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_client(config: TwilioConfig) -> Any:
    """A REST client; TWILIO_API_BASE_URL re-points the Api domain (calls live there)."""
    client = Client(
        config.account_sid,
        config.auth_token,
        http_client=TwilioHttpClient(timeout=config.api_timeout_seconds),
    )
    if config.api_base_url:
        # Domain.base_url is what the library joins every resource path onto.
        client.api.base_url = config.api_base_url.rstrip("/")
        # Edge/region routing (TWILIO_EDGE, TWILIO_REGION) would rewrite the overridden host.
        client.edge = None
        client.region = None
    return client


class TwilioProvider:
    name = "twilio"

    def __init__(self, config: TwilioConfig, client: Any = None) -> None:
        self._config = config
        self._client = client if client is not None else make_client(config)
        self._validator = RequestValidator(config.auth_token)

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioProvider:
        return cls(TwilioConfig.from_settings(settings))

    async def initiate_call(self, request: CallRequest) -> PlacedCall:
        """Create the call; not idempotent (Twilio has no idempotency key on create)."""
        call = await self._run(self._client.calls.create, **self._create_params(request))
        return PlacedCall(provider_call_id=str(call.sid))

    async def aclose(self) -> None:
        return None  # the REST client holds no connection worth closing

    async def hangup(self, provider_call_id: str) -> None:
        """End the call; one that already ended, or that Twilio does not know, counts as done."""
        try:
            await self._run(self._client.calls(provider_call_id).update, status="completed")
        except _TwilioError as exc:
            if exc.code in CALL_GONE_CODES or exc.status == 404:
                return
            raise

    async def fetch_call(self, provider_call_id: str) -> CallReport:
        """Where Twilio says the call stands; an unknown sid reports status None."""
        try:
            call = await self._run(self._client.calls(provider_call_id).fetch)
        except _TwilioError as exc:
            if exc.status == 404:
                return CallReport(status=None)
            raise
        status = STATUSES.get(_text(call.status) or "")
        if status is None:
            raise ProviderUnavailable(f"Twilio answered an unknown call status {call.status!r}")
        try:
            duration = int(call.duration) if call.duration not in (None, "") else None
        except (TypeError, ValueError):
            raise ProviderUnavailable(f"Twilio answered a duration {call.duration!r}") from None
        return CallReport(status, _answered_by(_text(call.answered_by)), duration)

    def validate_webhook(self, webhook: InboundWebhook) -> dict[str, str]:
        """Authenticate a Twilio webhook and return its form parameters."""
        signature = _header(webhook.headers, "x-twilio-signature")
        if not signature:
            raise WebhookRejected("missing X-Twilio-Signature")
        params = _form(webhook)
        if not self._validator.validate(webhook.url, params, signature):
            raise WebhookRejected("X-Twilio-Signature does not match the request")
        return dict(params)

    def parse_status_event(self, webhook: InboundWebhook) -> StatusEvent | None:
        """Authenticate first (even an empty body), then read the call-status callback."""
        params = self.validate_webhook(webhook)
        attempt_id = query_id(webhook.query, ATTEMPT_PARAM)  # malformed even on a keep-alive
        if not params:
            return None
        raw_status = params.get("CallStatus", "")
        if not raw_status:
            raise WebhookInvalid("CallStatus: field required")
        status = STATUSES.get(raw_status)
        if status is None:
            raise WebhookInvalid(f"CallStatus: unknown call status {raw_status!r}")
        code = params.get("ErrorCode") or None
        return StatusEvent(
            attempt_id=attempt_id,
            provider_call_id=params.get("CallSid") or None,
            status=status,
            sequence_number=_field_int(params, "SequenceNumber"),
            answered_by=_answered_by(params.get("AnsweredBy")),
            duration_seconds=_field_int(params, "CallDuration"),
            invalid_number=_code(code) in INVALID_NUMBER_CODES,
            error=f"Twilio error {code}" if code else None,
            raw=params,
        )

    def parse_voice_turn(self, webhook: InboundWebhook) -> VoiceTurn:
        """Authenticate, then read the answer to a Gather (or the answered call's first request)."""
        params = self.validate_webhook(webhook)
        attempt_id = required_attempt(webhook.query)
        turn = query_id(webhook.query, TURN_PARAM)
        if turn is None:
            verdict = params.get("AnsweredBy")
            return VoiceTurn(
                attempt_id,
                None,
                answered_by=_answered_by(verdict),
                greeting_ended=verdict in GREETING_ENDED,
            )
        if NO_INPUT_FLAG in webhook.query:
            return VoiceTurn(attempt_id, turn)  # the Gather fell through: nothing was heard
        return VoiceTurn(
            attempt_id,
            turn,
            speech=params.get("SpeechResult", "").strip() or None,
            confidence=_confidence(params.get("Confidence")),
            digits=params.get("Digits", "").strip() or None,
        )

    def parse_inbound(self, webhook: InboundWebhook) -> InboundCall:
        """Authenticate, then read a call to the number (its Voice URL) or its "press 9" answer."""
        params = self.validate_webhook(webhook)
        call_sid = _storable(params, "CallSid")
        if call_sid is None:
            raise WebhookInvalid("CallSid: field required")
        answers_prompt = PROMPT_PARAM in webhook.query
        digits = None
        if answers_prompt and NO_INPUT_FLAG not in webhook.query:
            digits = _storable(params, "Digits")
        return InboundCall(
            provider_call_id=call_sid,
            from_number=_storable(params, "From"),
            to_number=_storable(params, "To"),
            digits=digits,
            answers_prompt=answers_prompt,
        )

    def render_reply(self, reply: Reply, next_url: str) -> ProviderDocument:
        """TwiML: the prompts in a Gather posting to `next_url`, or the prompts and a hang-up."""
        if reply.listen is None:
            return ProviderDocument(render_hangup(reply.says, reply.language), TWIML)
        gather = GatherSpec(
            language=reply.language,
            hints=reply.listen.hints,
            input="dtmf" if reply.listen.keys_only else "speech dtmf",
            timeout_seconds=reply.listen.timeout_seconds,
            num_digits=reply.listen.num_digits,
            speech_model=self._config.speech_model,
        )
        body = render_turn(reply.says, reply.language, gather, next_url, hangup=False)
        return ProviderDocument(body, TWIML)

    def _create_params(self, request: CallRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "to": request.to,
            "from_": request.from_ or self._config.from_number,
            "url": request.voice_url,
            "method": "POST",
            "status_callback": request.status_callback_url,
            "status_callback_method": "POST",
            "status_callback_event": list(STATUS_CALLBACK_EVENTS),
            "timeout": request.ring_timeout_seconds,
            # Twilio's own default is 4 hours; with it, a call is provably over much sooner.
            "time_limit": request.time_limit_seconds,
        }
        if self._config.machine_detection != "off":
            # Synchronous AMD: Twilio waits for the verdict and sends AnsweredBy with the
            # first TwiML request and the status callbacks.
            params["machine_detection"] = self._config.machine_detection
        return params

    async def _run(self, func: Callable[..., T], /, **kwargs: Any) -> T:
        try:
            return await asyncio.to_thread(functools.partial(func, **kwargs))
        except Exception as exc:
            translated = _translate(exc)
            if translated is exc:
                raise
            raise translated from exc


class _TwilioError(TelephonyError):
    """A 4xx from Twilio, with its status and code kept for the callers that look at them."""

    def __init__(self, message: str, status: int, code: int | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class _InvalidNumber(InvalidNumberError, _TwilioError):
    pass


def _translate(exc: Exception) -> Exception:
    if not isinstance(exc, TwilioRestException | TwilioServiceException):
        # requests' errors (timeouts, refused connections) are OSErrors; a body that is not JSON
        # is a ValueError. Anything else is a bug and keeps its own type, which the dispatcher
        # and recovery also treat as an unknown outcome.
        if isinstance(exc, OSError):
            return ProviderUnavailable(f"Twilio unreachable: {one_line(exc)}")
        if isinstance(exc, ValueError):
            return ProviderUnavailable(f"Twilio's answer not understood: {one_line(exc)}")
        return exc
    status, code = int(exc.status), _code(exc.code)
    # str(exc) is a coloured multi-line banner on a TTY; build one plain line instead.
    detail = exc.msg if isinstance(exc, TwilioRestException) else (exc.detail or exc.title)
    message = f"Twilio error {code} (HTTP {status}): {detail}"
    if code in INVALID_NUMBER_CODES:
        return _InvalidNumber(message, status, code)
    if 400 <= status < 500:
        return _TwilioError(message, status, code)
    return ProviderUnavailable(message)


class _FormParams(dict[str, str]):
    """Form fields, last value wins, plus every value per name for signature checking."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        pairs = list(pairs)
        super().__init__(pairs)
        self._all: dict[str, list[str]] = {}
        for name, value in pairs:
            self._all.setdefault(name, []).append(value)

    def getall(self, name: str) -> list[str]:
        """What RequestValidator asks a multi-dict for (repeated names are all signed)."""
        return self._all[name]


def _form(webhook: InboundWebhook) -> _FormParams:
    if not webhook.body.strip():
        return _FormParams([])
    if "application/x-www-form-urlencoded" not in webhook.content_type.lower():
        raise WebhookRejected(f"unexpected content type {webhook.content_type!r} from Twilio")
    # Blank values are signed too: dropping them would break every valid signature.
    text = webhook.body.decode("utf-8", "replace")
    return _FormParams(parse_qsl(text, keep_blank_values=True))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return None


def _storable(params: Mapping[str, str], name: str) -> str | None:
    """A short text field, stripped; None when blank. WebhookInvalid when it cannot be stored."""
    value = params.get(name, "").strip()
    if not value:
        return None
    if len(value) > MAX_FIELD_CHARS or "\x00" in value:
        raise WebhookInvalid(f"{name}: not a value Twilio sends (too long, or a NUL character)")
    return value


def _answered_by(value: str | None) -> Answerer | None:
    return ANSWERED_BY.get(value, Answerer.UNKNOWN) if value else None


def _field_int(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name, "")
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise WebhookInvalid(f"{name}: not a whole number below 10^9")
    return int(raw)


def _confidence(raw: str | None) -> float | None:
    """The recogniser's 0..1 confidence; anything else is as good as none."""
    try:
        value = float(raw) if raw else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and 0 <= value <= 1 else None


def _code(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
