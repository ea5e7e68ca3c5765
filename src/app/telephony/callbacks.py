"""The service's own callback URLs, and the ids they carry back: the same for every provider.

Every call is placed with `.../voice?attempt_id=N` and `.../events?attempt_id=N`; each voice reply
that listens points the answer at `.../voice?attempt_id=N&turn=T`. A provider echoes these URLs,
so the ids come back whatever the provider's own payload looks like.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.db.base import BIGINT_MAX
from app.telephony.base import WebhookInvalid

VOICE_PATH = "/webhooks/telephony/voice"
EVENTS_PATH = "/webhooks/telephony/events"
ATTEMPT_PARAM = "attempt_id"
TURN_PARAM = "turn"


@dataclass(frozen=True)
class CallUrls:
    public_base_url: str

    def voice(self, attempt_id: int, turn: int | None = None) -> str:
        url = f"{self.public_base_url}{VOICE_PATH}?{ATTEMPT_PARAM}={attempt_id}"
        return url if turn is None else f"{url}&{TURN_PARAM}={turn}"

    def status(self, attempt_id: int) -> str:
        return f"{self.public_base_url}{EVENTS_PATH}?{ATTEMPT_PARAM}={attempt_id}"


def query_id(query: Mapping[str, str], name: str) -> int | None:
    """A non-negative id from the query string (None when absent); WebhookInvalid names it."""
    raw = query.get(name)
    if raw is None:
        return None
    # The URLs given to the provider always carry a number: an empty one was not ours.
    if not raw.isascii() or not raw.isdigit() or int(raw) > BIGINT_MAX:
        raise WebhookInvalid(f"{name}: not an id (a whole number from 0 to {BIGINT_MAX})")
    return int(raw)


def required_attempt(query: Mapping[str, str]) -> int:
    """The attempt id a voice webhook must carry."""
    attempt_id = query_id(query, ATTEMPT_PARAM)
    if attempt_id is None:
        raise WebhookInvalid(f"{ATTEMPT_PARAM}: query parameter required")
    return attempt_id
