"""The one interface every telephony provider implements, and the typed events it produces.

An adapter (`twilio.py`, `mock.py`) is the whole boundary: it authenticates a provider's webhook
and reads it into these types, renders a `Reply` into the provider's document, and turns the
provider's REST answers and errors into `CallReport`s and the exceptions below. Nothing outside
an adapter knows a provider's field names, status strings or error codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class TelephonyError(Exception):
    """The provider refused to do what was asked: it certainly did not happen."""


class InvalidNumberError(TelephonyError):
    """The provider says the destination number cannot be called at all."""


class ProviderUnavailable(Exception):
    """The provider gave no clear answer (unreachable, timed out, a 5xx, an answer not understood).

    Deliberately not a `TelephonyError`: whatever was asked may or may not have happened (a call
    may exist), so callers must not act as if it had been refused.
    """


class WebhookRejected(Exception):
    """An inbound webhook failed authentication (answer 403)."""


class WebhookInvalid(Exception):
    """An inbound webhook is malformed (answer 422); the message names the field."""


class CallState(StrEnum):
    """Where the provider says a call stands."""

    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset(
    {
        CallState.COMPLETED,
        CallState.BUSY,
        CallState.NO_ANSWER,
        CallState.FAILED,
        CallState.CANCELED,
    }
)


class Answerer(StrEnum):
    """Who or what answering-machine detection says picked up."""

    HUMAN = "human"
    MACHINE = "machine"
    FAX = "fax"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CallRequest:
    attempt_id: int
    to: str
    from_: str | None
    voice_url: str
    status_callback_url: str
    ring_timeout_seconds: int  # the provider stops ringing after this long
    time_limit_seconds: int  # and ends an answered call after this long


@dataclass(frozen=True)
class PlacedCall:
    provider_call_id: str


@dataclass(frozen=True)
class InboundWebhook:
    """An HTTP request from the provider, as the provider addressed it."""

    url: str  # the public URL the provider requested (PUBLIC_BASE_URL + path + query)
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    content_type: str
    local: bool = False  # from this machine's loopback, not relayed by a proxy (web/peers.py)


@dataclass(frozen=True)
class StatusEvent:
    """A call-status callback: where the provider says the call stands."""

    attempt_id: int | None
    provider_call_id: str | None
    status: CallState
    sequence_number: int | None = None
    answered_by: Answerer | None = None
    duration_seconds: int | None = None
    invalid_number: bool = False  # the provider says the number can never be called
    error: str | None = None  # the provider's error, for the record
    raw: Mapping[str, Any] = field(default_factory=dict)  # stored as the provider sent it


@dataclass(frozen=True)
class VoiceTurn:
    """A voice webhook: the call was answered (`turn` None), or an answer to turn `turn`."""

    attempt_id: int
    turn: int | None
    answered_by: Answerer | None = None
    speech: str | None = None
    confidence: float | None = None  # 0..1, when the recogniser gives one
    digits: str | None = None
    # A machine whose greeting detection waited out: a message said now is recorded whole.
    greeting_ended: bool = False


@dataclass(frozen=True)
class InboundCall:
    """A call to the campaign's number: its first request, or the answer to our "press 9"."""

    provider_call_id: str
    from_number: str | None  # the caller id as the provider gave it (withheld: None or a word)
    to_number: str | None  # the number that was called
    digits: str | None = None  # the keys pressed at the "press 9" prompt
    answers_prompt: bool = False  # the request answers that prompt (no digits: nothing pressed)


# The Voice URL of the campaign's number. The "press 9" prompt's answer comes back to it with
# PROMPT_PARAM in its query, so that an empty answer is never taken for a new call.
INBOUND_PATH = "/webhooks/telephony/inbound"
PROMPT_PARAM = "prompt"


@dataclass(frozen=True)
class Listening:
    """How to listen after the prompts."""

    hints: tuple[str, ...] = ()  # expected answers, to help the recogniser
    timeout_seconds: int = 5  # silence before the respondent is deemed not to answer
    num_digits: int | None = None  # keys that end keypad entry
    keys_only: bool = False  # listen for keys, not speech (a "press 9" menu)


@dataclass(frozen=True)
class Reply:
    """What to do on the line now: speak, then listen (the answer goes to `next_url`) or hang up."""

    language: str  # BCP-47, e.g. it-IT
    says: tuple[str, ...] = ()
    listen: Listening | None = None  # None: hang up after speaking


@dataclass(frozen=True)
class ProviderDocument:
    """A reply rendered in the provider's own format."""

    body: str
    media_type: str


@dataclass(frozen=True)
class CallReport:
    """What the provider says about a call when asked; status None means it has no such call."""

    status: CallState | None
    answered_by: Answerer | None = None
    duration_seconds: int | None = None


class TelephonyProvider(Protocol):
    name: str

    async def initiate_call(self, request: CallRequest) -> PlacedCall:
        """Place one outbound call. Not idempotent: a second call rings the phone again.

        TelephonyError when refused (nothing happened); ProviderUnavailable (or any other
        exception) when the outcome is unknown.
        """
        ...

    async def hangup(self, provider_call_id: str) -> None:
        """End a call; a call that already ended counts as success."""
        ...

    async def fetch_call(self, provider_call_id: str) -> CallReport:
        """Ask the provider where a call stands (reconciliation of silent attempts).

        Status None: the provider says it has no such call. ProviderUnavailable when it cannot
        be asked or gives an answer that cannot be understood.
        """
        ...

    async def aclose(self) -> None:
        """Release what the provider holds (connections, simulated calls); safe to repeat."""
        ...

    def parse_status_event(self, webhook: InboundWebhook) -> StatusEvent | None:
        """Authenticate and read a status callback; None for an empty keep-alive POST.

        WebhookRejected when not authentic, WebhookInvalid (naming the field) when malformed.
        """
        ...

    def parse_voice_turn(self, webhook: InboundWebhook) -> VoiceTurn:
        """Authenticate and read a voice webhook (same errors as `parse_status_event`)."""
        ...

    def parse_inbound(self, webhook: InboundWebhook) -> InboundCall:
        """Authenticate and read a call to the campaign's number (same errors as above)."""
        ...

    def render_reply(self, reply: Reply, next_url: str) -> ProviderDocument:
        """The provider's document for `reply`; the respondent's answer goes to `next_url`."""
        ...
