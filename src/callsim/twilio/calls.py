"""One emulated call: its Twilio resource, its simulated clock, and the record of what happened.

Time is simulated: the call keeps an offset in seconds from its creation that each step advances
(ringing, speaking a prompt, waiting for an answer), so durations and timestamps look like a real
call's while the emulator plays it in a fraction of a second.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from callsim.twilio.respondent import Respondent
from callsim.twilio.webhooks import Delivery

FINAL = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
OUTBOUND = "outbound-api"  # Twilio's Direction of a call created through the REST API
INBOUND = "inbound"
API_VERSION = "2010-04-01"


def new_sid() -> str:
    return "CA" + uuid.uuid4().hex


def call_params(call: EmulatedCall) -> dict[str, str]:
    """The parameters Twilio sends with every request about a call."""
    params = {
        "AccountSid": call.account_sid,
        "ApiVersion": API_VERSION,
        "CallSid": call.sid,
        "CallStatus": call.status,
        "Called": call.to,
        "Caller": call.from_,
        "Direction": call.direction,
        "From": call.from_,
        "To": call.to,
    }
    if call.answered_by:
        params["AnsweredBy"] = call.answered_by
    return params


def rfc2822(moment: datetime | None) -> str | None:
    return format_datetime(moment) if moment is not None else None


@dataclass
class EmulatedCall:
    sid: str
    account_sid: str
    to: str
    from_: str
    request: dict[str, list[str]]  # the create request's form, every value of every name
    respondent: Respondent
    direction: str = OUTBOUND  # inbound: the respondent called the number (`from_` is theirs)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: str = "queued"
    answered_by: str | None = None
    offset: float = 0.0  # simulated seconds since creation
    answered_offset: float | None = None
    ended_offset: float | None = None
    heard: list[dict[str, Any]] = field(default_factory=list)
    gathers: list[dict[str, Any]] = field(default_factory=list)
    webhooks: list[Delivery] = field(default_factory=list)
    callbacks: list[Delivery] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fetches: int = 0  # REST fetches of this call (reconciliation asks)
    ended: asyncio.Event = field(default_factory=asyncio.Event)  # set at the final status
    finished: asyncio.Event = field(default_factory=asyncio.Event)  # set when playing is over

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.request.get(name)
        return values[-1] if values else default

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    @property
    def duration(self) -> int | None:
        if self.answered_offset is None or self.ended_offset is None:
            return 0 if self.is_final else None
        return max(1, math.ceil(self.ended_offset - self.answered_offset))

    def now(self) -> datetime:
        """The simulated wall clock of this call."""
        return self.created_at + timedelta(seconds=self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += max(0.0, seconds)

    def answer(self, answered_by: str | None) -> None:
        self.status = "in-progress"
        self.answered_by = answered_by
        self.answered_offset = self.offset

    def end(self, status: str) -> bool:
        """Move to a final status once; False if the call had already ended."""
        if self.is_final:
            return False
        self.status = status
        self.ended_offset = self.offset
        self.ended.set()
        return True

    def note(self, text: str) -> None:
        self.notes.append(text)

    def hang_up(self, requested: str) -> None:
        """End the call as Twilio does for `Status=completed|canceled` from the REST API."""
        # `canceled` only stops calls that are not yet answered; `completed` stops any live call.
        if self.status == "in-progress":
            if requested == "completed":
                self.end("completed")
                self.note("hung up through the REST API")
            return
        self.end("canceled")
        self.note(f"{requested} through the REST API before it was answered")

    def resource(self) -> dict[str, Any]:
        """The Call resource as Twilio's REST API returns it."""
        start = self._at(self.answered_offset)
        end = self._at(self.ended_offset)
        duration = self.duration
        return {
            "sid": self.sid,
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "to": self.to,
            "to_formatted": self.to,
            "from": self.from_,
            "from_formatted": self.from_,
            "status": "queued" if self.status == "initiated" else self.status,
            "direction": self.direction,
            "answered_by": self.answered_by,
            "date_created": rfc2822(self.created_at),
            "date_updated": rfc2822(self.now()),
            "start_time": rfc2822(start),
            "end_time": rfc2822(end),
            "duration": str(duration) if duration is not None else None,
            "price": None,
            "price_unit": "USD",
            "parent_call_sid": None,
            "phone_number_sid": None,
            "forwarded_from": None,
            "caller_name": None,
            "group_sid": None,
            "queue_time": "0",
            "trunk_sid": None,
            "annotation": None,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}.json",
            "subresource_uris": {},
        }

    def record(self) -> dict[str, Any]:
        """Everything the emulator saw and did for this call (the control API's view)."""
        return {
            "sid": self.sid,
            "direction": self.direction,
            "to": self.to,
            "from": self.from_,
            "status": self.status,
            "answered_by": self.answered_by,
            "duration": self.duration,
            "finished": self.finished.is_set(),
            "request": self.request,
            "behaviour": self.respondent.behaviour,
            "heard": [h["text"] for h in self.heard if h["verb"] == "Say"],
            "verbs": self.heard,
            "gathers": self.gathers,
            "webhooks": [d.as_json() for d in self.webhooks],
            "callbacks": [d.as_json() for d in self.callbacks],
            "notes": self.notes,
            "fetches": self.fetches,
        }

    def _at(self, offset: float | None) -> datetime | None:
        return None if offset is None else self.created_at + timedelta(seconds=offset)
