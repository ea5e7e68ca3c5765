"""The mock provider: status callbacks in JSON or Twilio's form shape, and its call ledger."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from app.telephony.base import CallReport, CallRequest, InboundWebhook, StatusEvent, WebhookInvalid
from app.telephony.mock import MockProvider

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def webhook(
    body: bytes = b"", content_type: str = FORM, query: Mapping[str, str] | None = None
) -> InboundWebhook:
    query = dict(query or {})
    suffix = f"?{urlencode(query)}" if query else ""
    return InboundWebhook(
        url=f"http://127.0.0.1:8880/webhooks/telephony/events{suffix}",
        headers={"content-type": content_type},
        query=query,
        body=body,
        content_type=content_type,
    )


def json_body(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields).encode()


def form_body(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


def ledger_records(ledger: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in ledger.read_text().splitlines()]


def files_in(directory: Path) -> list[Path]:
    return sorted(directory.iterdir())


def request(attempt_id: int) -> CallRequest:
    return CallRequest(
        attempt_id=attempt_id,
        to="+390212345678",
        from_=None,
        voice_url="http://127.0.0.1:8880/voice",
        status_callback_url="http://127.0.0.1:8880/webhooks/telephony/events",
        ring_timeout_seconds=30,
        time_limit_seconds=900,
    )


# --- parse_status_event ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "query"),
    [
        (b"", FORM, {}),
        (b"", JSON, {}),
        (b"   \r\n", FORM, {}),
        (b"", FORM, {"attempt_id": "5"}),
        (b"", "", {}),
    ],
)
def test_an_empty_body_is_a_keep_alive(
    body: bytes, content_type: str, query: dict[str, str]
) -> None:
    assert MockProvider().parse_status_event(webhook(body, content_type, query)) is None


@pytest.mark.parametrize(
    ("fields", "query", "expected"),
    [
        (
            {"attempt_id": 7, "provider_call_id": "MK1", "status": "ringing"},
            {},
            {"attempt_id": 7, "provider_call_id": "MK1", "status": "ringing"},
        ),
        (
            {
                "attempt_id": "8",
                "provider_call_id": "MK2",
                "status": "completed",
                "sequence_number": 3,
                "answered_by": "human",
                "duration": 42,
                "error_code": None,
            },
            {},
            {
                "attempt_id": 8,
                "provider_call_id": "MK2",
                "status": "completed",
                "sequence_number": 3,
                "answered_by": "human",
                "duration_seconds": 42,
            },
        ),
        (
            {"provider_call_id": "MK3", "status": "failed", "error_code": 21211},
            {"attempt_id": "9"},
            {"attempt_id": 9, "provider_call_id": "MK3", "status": "failed", "error_code": "21211"},
        ),
        (
            {"status": "in-progress", "answered_by": ""},
            {},
            {"attempt_id": None, "provider_call_id": None, "status": "in-progress"},
        ),
    ],
)
def test_parse_json_body(
    fields: dict[str, Any], query: dict[str, str], expected: dict[str, Any]
) -> None:
    event = MockProvider().parse_status_event(webhook(json_body(fields), JSON, query))

    assert event == StatusEvent(**{**expected, "raw": {**query, **fields}})


def test_parse_json_with_charset_in_the_content_type() -> None:
    body = json_body({"attempt_id": 1, "status": "busy"})

    event = MockProvider().parse_status_event(webhook(body, "application/json; charset=utf-8"))

    assert event is not None
    assert (event.attempt_id, event.status) == (1, "busy")


def test_parse_twilio_form_body_with_attempt_id_from_the_query_string() -> None:
    body = form_body(
        {
            "AccountSid": "AC123",
            "CallSid": "CA0123456789abcdef",
            "CallStatus": "completed",
            "SequenceNumber": "4",
            "CallDuration": "37",
            "AnsweredBy": "machine_end_beep",
            "To": "+390212345678",
        }
    )

    event = MockProvider().parse_status_event(webhook(body, FORM, {"attempt_id": "42"}))

    assert event is not None
    assert event.attempt_id == 42
    assert event.provider_call_id == "CA0123456789abcdef"
    assert event.status == "completed"
    assert event.sequence_number == 4
    assert event.duration_seconds == 37
    assert event.answered_by == "machine_end_beep"
    assert event.error_code is None
    assert event.raw["AccountSid"] == "AC123"
    assert event.raw["attempt_id"] == "42"


@pytest.mark.parametrize(
    ("form", "query", "attribute", "expected"),
    [
        ({"CallStatus": "ringing"}, {"attempt_id": "1"}, "attempt_id", 1),
        ({"CallStatus": "ringing"}, {}, "attempt_id", None),
        ({"CallStatus": "ringing", "attempt_id": "3"}, {"attempt_id": "1"}, "attempt_id", 3),
        ({"CallStatus": "failed", "ErrorCode": "13224"}, {}, "error_code", "13224"),
        ({"CallStatus": "no-answer", "CallDuration": "0"}, {}, "duration_seconds", 0),
        ({"CallStatus": "ringing", "SequenceNumber": ""}, {}, "sequence_number", None),
        ({"CallStatus": "queued"}, {}, "status", "queued"),
        ({"CallStatus": "initiated"}, {}, "status", "initiated"),
        ({"CallStatus": "canceled"}, {}, "status", "canceled"),
    ],
)
def test_parse_form_fields(
    form: dict[str, str], query: dict[str, str], attribute: str, expected: object
) -> None:
    event = MockProvider().parse_status_event(webhook(form_body(form), FORM, query))

    assert event is not None
    assert getattr(event, attribute) == expected


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        (form_body({"CallStatus": "exploded"}), FORM, "status"),
        (form_body({"CallStatus": "in_progress"}), FORM, "status"),
        # Our own statuses are not something a provider may report.
        (form_body({"CallStatus": "stale"}), FORM, "status"),
        (form_body({"CallStatus": "dispatching"}), FORM, "status"),
        (form_body({"CallSid": "CA1"}), FORM, "status"),
        (json_body({"status": "sleeping"}), JSON, "status"),
        (json_body({"attempt_id": 1}), JSON, "status"),
        (form_body({"CallStatus": "ringing", "SequenceNumber": "abc"}), FORM, "sequence_number"),
        (json_body({"status": "ringing", "sequence_number": "2x"}), JSON, "sequence_number"),
        (json_body({"status": "ringing", "sequence_number": 2.5}), JSON, "sequence_number"),
        (form_body({"CallStatus": "completed", "CallDuration": "ten"}), FORM, "duration"),
        (form_body({"CallStatus": "ringing", "attempt_id": "x"}), FORM, "attempt_id"),
        (b"{not json", JSON, "body"),
        (b"[1, 2]", JSON, "body"),
    ],
)
def test_parse_rejects_a_malformed_field_by_name(
    body: bytes, content_type: str, field: str
) -> None:
    with pytest.raises(WebhookInvalid) as info:
        MockProvider().parse_status_event(webhook(body, content_type))

    assert str(info.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("form", "query", "names"),
    [
        ({"CallStatus": "ringing", "SequenceNumber": "one"}, {}, "sequence_number|SequenceNumber"),
        ({"CallStatus": "ringing"}, {"attempt_id": "abc"}, "attempt_id"),
    ],
)
def test_a_non_integer_in_twilio_form_or_query_names_the_field(
    form: dict[str, str], query: dict[str, str], names: str
) -> None:
    with pytest.raises(WebhookInvalid, match=rf"^({names}): not an integer$"):
        MockProvider().parse_status_event(webhook(form_body(form), FORM, query))


# --- the rest of the interface ---------------------------------------------------------------


async def test_initiate_call_writes_one_ledger_line_per_call(tmp_path: Path) -> None:
    ledger = tmp_path / "calls.jsonl"
    provider = MockProvider(ledger)

    placed = [await provider.initiate_call(request(n)) for n in (11, 12, 13)]

    records = ledger_records(ledger)
    assert [r["attempt_id"] for r in records] == [11, 12, 13]
    assert [r["call_id"] for r in records] == [p.provider_call_id for p in placed]
    assert {r["pid"] for r in records} == {os.getpid()}
    assert all(p.provider_call_id.startswith("MK") for p in placed)
    assert len({p.provider_call_id for p in placed}) == 3


async def test_initiate_call_appends_to_an_existing_ledger(tmp_path: Path) -> None:
    ledger = tmp_path / "calls.jsonl"
    ledger.write_text('{"attempt_id": 1, "call_id": "MKold", "pid": 1}\n')

    await MockProvider(ledger).initiate_call(request(2))
    await MockProvider(ledger).initiate_call(request(3))

    assert [r["attempt_id"] for r in ledger_records(ledger)] == [1, 2, 3]


async def test_initiate_call_without_a_ledger_writes_nothing(tmp_path: Path) -> None:
    provider = MockProvider()

    placed = await provider.initiate_call(request(1))

    assert placed.provider_call_id.startswith("MK")
    assert files_in(tmp_path) == []


async def test_hangup_and_fetch_call_know_nothing() -> None:
    provider = MockProvider()

    await provider.hangup("MK1")  # a no-op that must not raise
    assert await provider.fetch_call("MK1") == CallReport(status=None)
    assert await provider.fetch_call(None) == CallReport(status=None)
    assert provider.name == "mock"
