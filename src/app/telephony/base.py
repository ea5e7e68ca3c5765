"""The one interface every telephony provider implements, and the typed events it produces.

Adapters translate their wire format into these types; nothing outside `telephony/` sees a
provider's payload shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class TelephonyError(Exception):
    """The provider refused or failed to do what was asked."""


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


@dataclass(frozen=True)
class StatusEvent:
    """A call-status callback: where the provider says the call stands."""

    attempt_id: int | None
    provider_call_id: str | None
    status: str  # one of AttemptStatus's provider values
    sequence_number: int | None = None
    timestamp: datetime | None = None
    answered_by: str | None = None
    duration_seconds: int | None = None
    error_code: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallReport:
    """What the provider says about a call when asked; status None means it does not know."""

    status: str | None
    answered_by: str | None = None
    duration_seconds: int | None = None


class TelephonyProvider(Protocol):
    name: str

    async def initiate_call(self, request: CallRequest) -> PlacedCall:
        """Place one outbound call. Not idempotent: a second call rings the phone again."""
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

    def validate_webhook(self, webhook: InboundWebhook) -> dict[str, str]:
        """Authenticate an inbound webhook and return its parameters (WebhookRejected if not)."""
        ...

    def parse_status_event(self, webhook: InboundWebhook) -> StatusEvent | None:
        """Authenticate and parse a status callback; None for an empty keep-alive POST."""
        ...
