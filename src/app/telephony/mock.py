"""The mock provider: places no call, answers like a provider, and keeps a ledger of its calls.

It speaks its own small JSON dialect, the project's typed events written out:

- status callback (`POST .../events?attempt_id=N`): `{"provider_call_id": "MK…", "status":
  "ringing", "sequence_number": 1, "answered_by": "human", "duration": 20, "invalid_number":
  false, "error": "…"}`, all but `status` optional; an empty body is a keep-alive;
- voice webhook (`POST .../voice?attempt_id=N[&turn=T]`): `{"answered_by": "machine",
  "greeting_ended": true}` when the call is answered (`greeting_ended`: detection waited for the
  end of the machine's greeting), then `{"speech": "sì", "confidence": 0.9}`, `{"digits": "1"}`
  or `{}` (no input) for each turn;
- inbound call (`POST .../inbound`, the campaign number's Voice URL): `{"call_id": "MK…",
  "from": "+39…", "to": "+39…"}`, `from` and `to` optional (a withheld caller id: left out, or
  any word); the answer to the "press 9" prompt comes to `.../inbound?prompt=nine` with the same
  body plus `"digits": "9"` (left out: nothing was pressed);
- reply: `{"language": "it-IT", "say": ["…"], "listen": {"hints": […], "timeout_seconds": 5,
  "num_digits": null, "next": "<url for the answer>"}}`, `listen` null to hang up; a listen
  that takes keys only (the "press 9" prompt) also says `"keys_only": true`.

Its webhooks are unsigned, so they are taken only from this machine (a loopback peer, no proxy
headers); anything else gets 403.

The ledger (MOCK_CALL_LOG, one JSON line per call placed: attempt id, call id, pid, time) lets
tests and benchmarks count how many calls would have rung a phone: O_APPEND writes of one short
line are atomic across processes. With MOCK_SIMULATION=on each call is played by a simulated
respondent that drives the service's own webhooks in this dialect (`callsim.people`), loaded
only then.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.config import Settings, SettingsError
from app.telephony.base import (
    PROMPT_PARAM,
    Answerer,
    CallReport,
    CallRequest,
    CallState,
    InboundCall,
    InboundWebhook,
    Listening,
    PlacedCall,
    ProviderDocument,
    Reply,
    StatusEvent,
    VoiceTurn,
    WebhookInvalid,
    WebhookRejected,
)
from app.telephony.callbacks import ATTEMPT_PARAM, TURN_PARAM, query_id, required_attempt

if TYPE_CHECKING:
    from callsim.people.player import Simulation

log = logging.getLogger(__name__)

JSON = "application/json"
Payload = TypeVar("Payload", bound=BaseModel)


class StatusPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider_call_id: str | None = Field(default=None, min_length=1, max_length=64)
    status: CallState
    sequence_number: int | None = Field(default=None, ge=0, le=10**9)
    answered_by: Answerer | None = None
    duration: int | None = Field(default=None, ge=0, le=10**7)
    invalid_number: bool = False
    error: str | None = Field(default=None, max_length=500)


class VoicePayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answered_by: Answerer | None = None
    greeting_ended: bool = False
    speech: str | None = Field(default=None, max_length=2000)
    confidence: float | None = Field(default=None, ge=0, le=1)
    digits: str | None = Field(default=None, pattern=r"^[0-9*#]{1,32}$")


# Storable text: PostgreSQL's text has no NUL character.
_TEXT = r"^[^\x00]*$"


class InboundPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call_id: str = Field(min_length=1, max_length=64, pattern=_TEXT)
    from_: str | None = Field(default=None, alias="from", max_length=64, pattern=_TEXT)
    to: str | None = Field(default=None, max_length=64, pattern=_TEXT)
    digits: str | None = Field(default=None, pattern=r"^[0-9*#]{1,32}$")


class MockProvider:
    name = "mock"

    def __init__(self, ledger: Path | None = None, simulation: Simulation | None = None) -> None:
        self._ledger = ledger
        self._simulation = simulation

    @classmethod
    def from_settings(cls, settings: Settings) -> MockProvider:
        """The mock with MOCK_CALL_LOG, simulating respondents when MOCK_SIMULATION is on."""
        if not settings.mock_simulation:
            return cls(ledger=settings.mock_call_log)
        # A tool for tests and the demo, not part of the product: loaded only when asked for.
        from callsim.people.player import Simulation

        try:
            simulation = Simulation.from_mix(
                settings.mock_simulation_mix,
                seed=settings.mock_simulation_seed,
                step_delay=settings.mock_step_delay_seconds,
            )
        except ValueError as exc:
            raise SettingsError(f"invalid setting MOCK_SIMULATION_MIX: {exc}") from None
        log.info(
            "Mock provider simulates respondents: mix %s, seed %s, callbacks to %s",
            simulation.mix_text,
            settings.mock_simulation_seed,
            settings.public_base_url,
        )
        return cls(ledger=settings.mock_call_log, simulation=simulation)

    @property
    def simulation(self) -> Simulation | None:
        """The respondents' simulation, when MOCK_SIMULATION is on."""
        return self._simulation

    async def initiate_call(self, request: CallRequest) -> PlacedCall:
        call_id = "MK" + uuid.uuid4().hex
        if self._ledger is not None:
            # `at`: when the call was placed (wall clock), for tests that order it among events.
            record = {"attempt_id": request.attempt_id, "call_id": call_id, "pid": os.getpid()}
            self._append({**record, "at": time.time()})
        if self._simulation is not None:
            await self._simulation.place(call_id, request)
        return PlacedCall(provider_call_id=call_id)

    async def hangup(self, provider_call_id: str) -> None:
        if self._simulation is not None:
            self._simulation.hang_up(provider_call_id)

    async def fetch_call(self, provider_call_id: str) -> CallReport:
        if self._simulation is None:
            # Without simulation the mock keeps no call state, so it cannot vouch for any call.
            return CallReport(status=None)
        return self._simulation.report(provider_call_id)

    async def aclose(self) -> None:
        """Stop simulated calls still playing; call once at shutdown (harmless otherwise)."""
        if self._simulation is not None:
            await self._simulation.aclose()

    def parse_status_event(self, webhook: InboundWebhook) -> StatusEvent | None:
        raw = _decode(_local(webhook))
        attempt_id = query_id(webhook.query, ATTEMPT_PARAM)  # malformed even on a keep-alive
        if raw is None:
            return None
        payload = _validate(StatusPayload, raw)
        return StatusEvent(
            attempt_id=attempt_id,
            provider_call_id=payload.provider_call_id,
            status=payload.status,
            sequence_number=payload.sequence_number,
            answered_by=payload.answered_by,
            duration_seconds=payload.duration,
            invalid_number=payload.invalid_number,
            error=payload.error,
            raw=raw,
        )

    def parse_voice_turn(self, webhook: InboundWebhook) -> VoiceTurn:
        attempt_id = required_attempt(_local(webhook).query)
        payload = _validate(VoicePayload, _decode(webhook) or {})
        return VoiceTurn(
            attempt_id,
            query_id(webhook.query, TURN_PARAM),
            answered_by=payload.answered_by,
            greeting_ended=payload.greeting_ended,
            speech=(payload.speech or "").strip() or None,
            confidence=payload.confidence,
            digits=payload.digits,
        )

    def parse_inbound(self, webhook: InboundWebhook) -> InboundCall:
        payload = _validate(InboundPayload, _decode(_local(webhook)) or {})
        answers_prompt = PROMPT_PARAM in webhook.query
        return InboundCall(
            provider_call_id=payload.call_id,
            from_number=(payload.from_ or "").strip() or None,
            to_number=(payload.to or "").strip() or None,
            digits=payload.digits if answers_prompt else None,
            answers_prompt=answers_prompt,
        )

    def render_reply(self, reply: Reply, next_url: str) -> ProviderDocument:
        listen = reply.listen
        document = {
            "language": reply.language,
            "say": list(reply.says),
            "listen": None if listen is None else _listen(listen, next_url),
        }
        return ProviderDocument(json.dumps(document, ensure_ascii=False), JSON)

    def _append(self, record: dict[str, Any]) -> None:
        assert self._ledger is not None
        line = (json.dumps(record) + "\n").encode()
        fd = os.open(self._ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


def _listen(listen: Listening, next_url: str) -> dict[str, Any]:
    document: dict[str, Any] = {
        "hints": list(listen.hints),
        "timeout_seconds": listen.timeout_seconds,
        "num_digits": listen.num_digits,
        "next": next_url,
    }
    if listen.keys_only:
        document["keys_only"] = True  # only then, so older listeners read the same documents
    return document


def _local(webhook: InboundWebhook) -> InboundWebhook:
    # The mock signs nothing and never faces a real provider: only this machine may play one.
    if not webhook.local:
        raise WebhookRejected("the mock provider takes webhooks from this machine only")
    return webhook


def _decode(webhook: InboundWebhook) -> dict[str, Any] | None:
    """The JSON object of the body; None for an empty body."""
    if not webhook.body.strip():
        return None
    if "json" not in webhook.content_type.lower():
        raise WebhookInvalid("body: the mock provider takes a JSON object (application/json)")
    try:
        data = json.loads(webhook.body)
    except ValueError as exc:
        raise WebhookInvalid(f"body: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise WebhookInvalid("body: expected a JSON object")
    return data


def _validate(model: type[Payload], raw: dict[str, Any]) -> Payload:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        raise WebhookInvalid(f"{where}: {error['msg']}") from None
