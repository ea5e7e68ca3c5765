"""The Twilio adapter: places calls through the official `twilio` library, checks signatures.

The library is synchronous (it uses `requests`), so every REST call runs in a worker thread.
Errors become the project's own exceptions:

- `InvalidNumberError`: Twilio says the destination can never be called (21211, 21214, ...);
- `TelephonyError`: any other 4xx, so the call was certainly not placed;
- `ProviderUnavailable`: a 5xx, a timeout, a broken connection or an answer that is not what
  Twilio sends. The call may or may not exist, so it is deliberately *not* a `TelephonyError`:
  the dispatcher leaves the attempt open for a callback to adopt or for recovery to reconcile,
  and recovery never closes a call on such an answer before the call is provably over.

Every inbound webhook is authenticated with `X-Twilio-Signature` over the public URL
(PUBLIC_BASE_URL + path + query) before its body is even looked at.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from app.config import Settings, SettingsError
from app.logs import one_line
from app.telephony.base import (
    CallReport,
    CallRequest,
    InboundWebhook,
    InvalidNumberError,
    PlacedCall,
    ProviderUnavailable,
    StatusEvent,
    TelephonyError,
    WebhookInvalid,
    WebhookRejected,
)
from app.telephony.mock import event_from_fields

T = TypeVar("T")

# Twilio's codes for a destination that can never be dialled as given.
# 21215 (geo permissions) is left out: the account, not the number, needs fixing.
INVALID_NUMBER_CODES = frozenset({21211, 21214, 21217, 13223, 13224})
# A hang-up that finds the call gone (unknown sid, or no longer in progress) has nothing to do.
CALL_GONE_CODES = frozenset({20404, 21220})
# One repeated form parameter each: a space-joined string leaves calls stuck at `initiated`.
STATUS_CALLBACK_EVENTS = ("initiated", "ringing", "answered", "completed")
# Twilio's CallStatus values; anything else in an answer means the answer is not understood.
CALL_STATUSES = frozenset(
    {
        "queued",
        "initiated",
        "ringing",
        "in-progress",
        "completed",
        "busy",
        "failed",
        "no-answer",
        "canceled",
    }
)


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str
    auth_token: str
    from_number: str
    api_base_url: str | None = None
    machine_detection: str = "off"
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
            api_timeout_seconds=settings.twilio_api_timeout_seconds,
        )


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
        status = _text(call.status)
        if status not in CALL_STATUSES:
            raise ProviderUnavailable(f"Twilio answered an unknown call status {status!r}")
        try:
            duration = int(call.duration) if call.duration not in (None, "") else None
        except (TypeError, ValueError):
            raise ProviderUnavailable(f"Twilio answered a duration {call.duration!r}") from None
        return CallReport(
            status=status, answered_by=_text(call.answered_by), duration_seconds=duration
        )

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
        if not params:
            return None
        event = event_from_fields({**webhook.query, **params})
        return replace(event, timestamp=_timestamp(params.get("Timestamp")))

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


def _timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        raise WebhookInvalid("Timestamp: not an RFC 2822 date") from None


def _code(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
