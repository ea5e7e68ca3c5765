"""The mock provider: its JSON dialect (status callbacks, voice turns, replies), its call ledger."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from app.telephony.base import (
    Answerer,
    CallReport,
    CallRequest,
    CallState,
    InboundWebhook,
    Listening,
    Reply,
    StatusEvent,
    VoiceTurn,
    WebhookInvalid,
    WebhookRejected,
)
from app.telephony.mock import MockProvider

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def webhook(
    body: bytes = b"",
    content_type: str = FORM,
    query: Mapping[str, str] | None = None,
    local: bool = True,
) -> InboundWebhook:
    query = dict(query or {})
    suffix = f"?{urlencode(query)}" if query else ""
    return InboundWebhook(
        url=f"http://127.0.0.1:8880/webhooks/telephony/events{suffix}",
        headers={"content-type": content_type},
        query=query,
        body=body,
        content_type=content_type,
        local=local,
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
            {"provider_call_id": "MK1", "status": "ringing"},
            {"attempt_id": "7"},
            {"attempt_id": 7, "provider_call_id": "MK1", "status": CallState.RINGING},
        ),
        (
            {
                "provider_call_id": "MK2",
                "status": "completed",
                "sequence_number": 3,
                "answered_by": "human",
                "duration": 42,
                "error": None,
            },
            {"attempt_id": "8"},
            {
                "attempt_id": 8,
                "provider_call_id": "MK2",
                "status": CallState.COMPLETED,
                "sequence_number": 3,
                "answered_by": Answerer.HUMAN,
                "duration_seconds": 42,
            },
        ),
        (
            {"provider_call_id": "MK3", "status": "failed", "invalid_number": True, "error": "no"},
            {"attempt_id": "9"},
            {
                "attempt_id": 9,
                "provider_call_id": "MK3",
                "status": CallState.FAILED,
                "invalid_number": True,
                "error": "no",
            },
        ),
        (
            {"status": "in-progress", "answered_by": "machine"},
            {},
            {
                "attempt_id": None,
                "provider_call_id": None,
                "status": CallState.IN_PROGRESS,
                "answered_by": Answerer.MACHINE,
            },
        ),
    ],
)
def test_parse_json_body(
    fields: dict[str, Any], query: dict[str, str], expected: dict[str, Any]
) -> None:
    event = MockProvider().parse_status_event(webhook(json_body(fields), JSON, query))

    assert event == StatusEvent(**{**expected, "raw": fields})


def test_parse_json_with_charset_in_the_content_type() -> None:
    body = json_body({"status": "busy"})

    event = MockProvider().parse_status_event(
        webhook(body, "application/json; charset=utf-8", {"attempt_id": "1"})
    )

    assert event is not None
    assert (event.attempt_id, event.status) == (1, CallState.BUSY)


@pytest.mark.parametrize(
    ("body", "content_type", "query", "field"),
    [
        (json_body({"status": "exploded"}), JSON, {}, "status"),
        (json_body({"status": "in_progress"}), JSON, {}, "status"),
        # The service's own statuses are not something a provider may report.
        (json_body({"status": "stale"}), JSON, {}, "status"),
        (json_body({"status": "dispatching"}), JSON, {}, "status"),
        (json_body({"provider_call_id": "MK1"}), JSON, {}, "status"),
        (json_body({"status": "ringing", "sequence_number": "2x"}), JSON, {}, "sequence_number"),
        (json_body({"status": "ringing", "sequence_number": 2.5}), JSON, {}, "sequence_number"),
        (json_body({"status": "ringing", "sequence_number": -1}), JSON, {}, "sequence_number"),
        (json_body({"status": "completed", "duration": "ten"}), JSON, {}, "duration"),
        (json_body({"status": "completed", "answered_by": "robot"}), JSON, {}, "answered_by"),
        (json_body({"status": "ringing", "CallStatus": "ringing"}), JSON, {}, "CallStatus"),
        (json_body({"status": "ringing"}), JSON, {"attempt_id": "x"}, "attempt_id"),
        (json_body({"status": "ringing"}), JSON, {"attempt_id": "9" * 20}, "attempt_id"),
        (json_body({"status": "ringing"}), JSON, {"attempt_id": "-1"}, "attempt_id"),
        (b"{not json", JSON, {}, "body"),
        (b"[1, 2]", JSON, {}, "body"),
        # The mock speaks only its JSON dialect, not a provider's form.
        (form_body({"CallStatus": "ringing"}), FORM, {}, "body"),
    ],
)
def test_parse_rejects_a_malformed_field_by_name(
    body: bytes, content_type: str, query: dict[str, str], field: str
) -> None:
    with pytest.raises(WebhookInvalid) as info:
        MockProvider().parse_status_event(webhook(body, content_type, query))

    assert str(info.value).startswith(f"{field}: ")


def test_webhooks_not_from_this_machine_are_rejected_even_empty() -> None:
    provider = MockProvider()
    remote = webhook(json_body({"status": "ringing"}), JSON, {"attempt_id": "1"}, local=False)

    with pytest.raises(WebhookRejected):
        provider.parse_status_event(remote)
    with pytest.raises(WebhookRejected):
        provider.parse_status_event(webhook(b"", JSON, local=False))
    with pytest.raises(WebhookRejected):
        provider.parse_voice_turn(webhook(b"{}", JSON, {"attempt_id": "1"}, local=False))


# --- voice turns and replies -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "query", "expected"),
    [
        ({}, {"attempt_id": "3"}, VoiceTurn(3, None)),
        ({"answered_by": "fax"}, {"attempt_id": "3"}, VoiceTurn(3, None, Answerer.FAX)),
        (
            {"speech": " sì ", "confidence": 0.5},
            {"attempt_id": "3", "turn": "2"},
            VoiceTurn(3, 2, speech="sì", confidence=0.5),
        ),
        ({"digits": "#"}, {"attempt_id": "3", "turn": "4"}, VoiceTurn(3, 4, digits="#")),
        ({"speech": "  "}, {"attempt_id": "3", "turn": "1"}, VoiceTurn(3, 1)),
        (None, {"attempt_id": "3", "turn": "1"}, VoiceTurn(3, 1)),
    ],
)
def test_parse_voice_turn(
    fields: dict[str, Any] | None, query: dict[str, str], expected: VoiceTurn
) -> None:
    body = b"" if fields is None else json_body(fields)

    assert MockProvider().parse_voice_turn(webhook(body, JSON, query)) == expected


@pytest.mark.parametrize(
    ("fields", "query", "field"),
    [
        ({}, {}, "attempt_id"),
        ({}, {"attempt_id": "1", "turn": "x"}, "turn"),
        ({"confidence": 2}, {"attempt_id": "1", "turn": "1"}, "confidence"),
        ({"digits": "12a"}, {"attempt_id": "1", "turn": "1"}, "digits"),
        ({"SpeechResult": "sì"}, {"attempt_id": "1", "turn": "1"}, "SpeechResult"),
        ({"speech": "x" * 2001}, {"attempt_id": "1", "turn": "1"}, "speech"),
    ],
)
def test_parse_voice_turn_rejects_a_malformed_field_by_name(
    fields: dict[str, Any], query: dict[str, str], field: str
) -> None:
    with pytest.raises(WebhookInvalid) as info:
        MockProvider().parse_voice_turn(webhook(json_body(fields), JSON, query))

    assert str(info.value).startswith(f"{field}: ")


def test_a_reply_that_listens_says_where_the_answer_goes() -> None:
    reply = Reply("it-IT", ("Buongiorno.", "Ha due minuti?"), Listening(("sì", "no"), 5, 1))

    document = MockProvider().render_reply(reply, "http://x/voice?attempt_id=1&turn=1")

    assert document.media_type == JSON
    assert json.loads(document.body) == {
        "language": "it-IT",
        "say": ["Buongiorno.", "Ha due minuti?"],
        "listen": {
            "hints": ["sì", "no"],
            "timeout_seconds": 5,
            "num_digits": 1,
            "next": "http://x/voice?attempt_id=1&turn=1",
        },
    }


def test_a_reply_that_does_not_listen_hangs_up() -> None:
    document = MockProvider().render_reply(Reply("en-US", ("Goodbye.",)), "http://x/voice")

    assert json.loads(document.body) == {"language": "en-US", "say": ["Goodbye."], "listen": None}


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
    assert provider.name == "mock"
