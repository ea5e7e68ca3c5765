"""The mock provider: places no call, answers like a provider, and keeps a ledger of its calls.

The ledger (MOCK_CALL_LOG, one JSON line per call placed) lets tests and benchmarks count how
many calls would have rung a phone: O_APPEND writes of one short line are atomic across
processes.

With MOCK_SIMULATION=on it still rings no phone, but each call is played by a simulated
respondent that drives the service's own voice and status webhooks as Twilio would (see
`callsim.people`). That loads the emulator, so it is imported only then.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.config import Settings, SettingsError
from app.telephony.base import (
    CallReport,
    CallRequest,
    InboundWebhook,
    PlacedCall,
    StatusEvent,
    WebhookInvalid,
)
from app.telephony.statuses import PROVIDER_STATUSES

if TYPE_CHECKING:
    from callsim.people.player import Simulation

log = logging.getLogger(__name__)


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
            self._append({"attempt_id": request.attempt_id, "call_id": call_id, "pid": os.getpid()})
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

    def validate_webhook(self, webhook: InboundWebhook) -> dict[str, str]:
        # The mock trusts its callers: it is never exposed to a real provider.
        return {k: str(v) for k, v in _decode(webhook).items()}

    def parse_status_event(self, webhook: InboundWebhook) -> StatusEvent | None:
        payload = _decode(webhook)
        if not payload:
            return None
        return event_from_fields({**webhook.query, **payload})

    def _append(self, record: dict[str, Any]) -> None:
        assert self._ledger is not None
        line = (json.dumps(record) + "\n").encode()
        fd = os.open(self._ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


def _decode(webhook: InboundWebhook) -> dict[str, Any]:
    if not webhook.body.strip():
        return {}
    if "json" in webhook.content_type:
        try:
            data = json.loads(webhook.body)
        except ValueError as exc:
            raise WebhookInvalid(f"body: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise WebhookInvalid("body: expected a JSON object")
        return data
    from urllib.parse import parse_qsl

    return dict(parse_qsl(webhook.body.decode("utf-8", "replace")))


def event_from_fields(fields: dict[str, Any]) -> StatusEvent:
    """Build a StatusEvent from the mock's JSON names or Twilio's form names."""
    status = _pick(fields, "status", "CallStatus")
    if status is None:
        raise WebhookInvalid("status: field required")
    if status not in PROVIDER_STATUSES:
        raise WebhookInvalid(f"status: unknown call status {status!r}")
    return StatusEvent(
        attempt_id=_int(fields, "attempt_id", "attempt_id"),
        provider_call_id=_pick(fields, "provider_call_id", "CallSid"),
        status=status,
        sequence_number=_int(fields, "sequence_number", "SequenceNumber"),
        answered_by=_pick(fields, "answered_by", "AnsweredBy"),
        duration_seconds=_int(fields, "duration", "CallDuration"),
        error_code=_pick(fields, "error_code", "ErrorCode"),
        raw=fields,
    )


def _pick(fields: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = fields.get(name)
        if value not in (None, ""):
            return str(value)
    return None


def _int(fields: dict[str, Any], *names: str) -> int | None:
    value = _pick(fields, *names)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise WebhookInvalid(f"{names[0]}: not an integer") from None
