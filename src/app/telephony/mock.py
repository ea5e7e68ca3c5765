"""The mock provider: places no call, answers like a provider, and keeps a ledger of its calls.

The ledger (MOCK_CALL_LOG, one JSON line per call placed) lets tests and benchmarks count how
many calls would have rung a phone: O_APPEND writes of one short line are atomic across
processes.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from app.telephony.base import (
    CallReport,
    CallRequest,
    InboundWebhook,
    PlacedCall,
    StatusEvent,
    WebhookInvalid,
)
from app.telephony.statuses import PROVIDER_STATUSES


class MockProvider:
    name = "mock"

    def __init__(self, ledger: Path | None = None) -> None:
        self._ledger = ledger

    async def initiate_call(self, request: CallRequest) -> PlacedCall:
        call_id = "MK" + uuid.uuid4().hex
        if self._ledger is not None:
            self._append({"attempt_id": request.attempt_id, "call_id": call_id, "pid": os.getpid()})
        return PlacedCall(provider_call_id=call_id)

    async def hangup(self, provider_call_id: str) -> None:
        return None

    async def fetch_call(self, provider_call_id: str | None) -> CallReport:
        # The mock keeps no call state, so it cannot vouch for any call.
        return CallReport(status=None)

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
