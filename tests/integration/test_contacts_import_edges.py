"""Contact import at its edges: text PostgreSQL cannot store, numbers JSON cannot carry, bodies
cut off half way, more rejections than the answer lists. Each is a per-row rejection or a 4xx
naming the field, never a 500, and nothing is half-written.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import Message

from app.campaigns.imports import PIECE_BYTES
from app.campaigns.schemas import REJECTIONS_LISTED
from tests.support.factories import create_campaign, csv_body, import_csv
from tests.support.seed import fetch_all, seen_in_activity

Sessions = async_sessionmaker[AsyncSession]
NUMBERS = [f"+39021234{n:04d}" for n in range(10)]


@pytest.fixture
async def campaign_id(client: httpx.AsyncClient) -> int:
    return int((await create_campaign(client))["id"])


async def stored(sessions: Sessions, campaign_id: int) -> set[str]:
    rows = await fetch_all(
        sessions, "SELECT phone_number FROM contacts WHERE campaign_id = :id", id=campaign_id
    )
    return {r.phone_number for r in rows}


async def post_raw(
    client: httpx.AsyncClient, campaign_id: int, body: bytes, kind: str
) -> httpx.Response:
    return await client.post(
        f"/api/campaigns/{campaign_id}/contacts", content=body, headers={"content-type": kind}
    )


@pytest.mark.parametrize(
    ("item", "error"),
    [
        ({"name": "A\u0000"}, "name contains a NUL character"),
        ({"external_id": "\ud800"}, "external_id contains invalid Unicode (a lone surrogate)"),
        ({"note": "x\udfff"}, "note contains invalid Unicode (a lone surrogate)"),
        ({"note\u0000": "x"}, "an attribute name contains a NUL character"),
        ({"n\ud800": "x"}, "an attribute name contains invalid Unicode (a lone surrogate)"),
        ({"crm": {"tier": "\ud800"}}, "crm has tier contains invalid Unicode (a lone surrogate)"),
        ({"tags": ["ok", "x\u0000"]}, "tags contains a NUL character"),
        ({"score": 1e400}, "score is not a finite number (inf)"),
        ({"score": -1e400}, "score is not a finite number (-inf)"),
        ({"scores": [1, 1e999]}, "scores is not a finite number (inf)"),
        ({"timezone": "Europe/Rome\u0000"}, "timezone contains a NUL character"),
    ],
)
async def test_text_and_numbers_jsonb_refuses_reject_the_row_only(
    client: httpx.AsyncClient,
    sessions: Sessions,
    campaign_id: int,
    item: dict[str, Any],
    error: str,
) -> None:
    # Written by hand: json.dumps would refuse the lone surrogates and the infinities itself.
    items = [{"phone_number": NUMBERS[0], **item}, {"phone_number": NUMBERS[1]}]
    body = "[" + ",".join(_json(i) for i in items) + "]"

    response = await post_raw(client, campaign_id, body.encode(), "application/json")

    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == [{"row": 1, "error": error}]
    assert await stored(sessions, campaign_id) == {NUMBERS[1]}


def _json(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{_json(k)}: {_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json(v) for v in value) + "]"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "1e400" if value > 0 else "-1e400"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True)  # a lone surrogate becomes a \\ud800 escape
    return json.dumps(value)


async def test_nul_and_lone_surrogate_in_the_phone_number_reject_the_row(
    client: httpx.AsyncClient, campaign_id: int
) -> None:
    body = b'[{"phone_number": "0212345678\\u0000"}, {"phone_number": "\\ud83d"}]'

    response = await post_raw(client, campaign_id, body, "application/json")

    assert response.json()["rejected"] == [
        {"row": 1, "error": "phone_number contains a NUL character"},
        {"row": 2, "error": "phone_number contains invalid Unicode (a lone surrogate)"},
    ]


async def test_nul_in_a_csv_field_rejects_the_row(
    client: httpx.AsyncClient, sessions: Sessions, campaign_id: int
) -> None:
    body = csv_body(
        ["phone_number", "name", "note"],
        [NUMBERS[0], "A\x00", ""],
        [NUMBERS[1], "B", "x\x00"],
        [NUMBERS[2], "C", ""],
    )

    response = await import_csv(client, campaign_id, body)

    assert response.json()["rejected"] == [
        {"row": 1, "error": "name contains a NUL character"},
        {"row": 2, "error": "note contains a NUL character"},
    ]
    assert await stored(sessions, campaign_id) == {NUMBERS[2]}


@pytest.mark.parametrize(
    ("body", "kind", "message"),
    [
        (b"phone_number,no\x00te\n0212345678,x\n", "text/csv", "NUL"),
        (b'[{"phone_number": "0212345678", "score": Infinity}]', "application/json", "Infinity"),
        (b"[" * 50_000, "application/json", "nested too deeply"),
        (b"- phone_number: '0212345678'\n  2024-01-31: x\n", "application/yaml", "keys must"),
    ],
)
async def test_a_body_that_cannot_be_read_is_a_4xx_naming_it(
    client: httpx.AsyncClient,
    sessions: Sessions,
    campaign_id: int,
    body: bytes,
    kind: str,
    message: str,
) -> None:
    response = await post_raw(client, campaign_id, body, kind)

    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"][0] == "body"
    assert message in error["msg"]
    assert await stored(sessions, campaign_id) == set()


def many_rows(count: int, *, bad_at: int | None = None) -> bytes:
    lines = [f"+39347{n:07d},Contact {n}\n" for n in range(count)]
    body = ("phone_number,name\n" + "".join(lines)).encode()
    if bad_at is None:
        return body
    return body[:bad_at] + b"\xff" + body[bad_at:]


async def test_invalid_utf8_far_into_the_body_is_422_and_writes_nothing(
    client: httpx.AsyncClient, sessions: Sessions, campaign_id: int
) -> None:
    # About 1.2 MB: several pieces are checked and staged before the bad byte is met.
    body = many_rows(60_000, bad_at=1_000_000)

    response = await post_raw(client, campaign_id, body, "text/csv")

    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body"]
    assert "not valid UTF-8 near byte 1,000,000" in error["msg"]
    assert await stored(sessions, campaign_id) == set()


async def test_more_rejections_than_listed_are_counted(
    client: httpx.AsyncClient, campaign_id: int
) -> None:
    bad = REJECTIONS_LISTED + 250
    rows = [["not a number"]] * bad + [[NUMBERS[0]]]

    response = await import_csv(client, campaign_id, csv_body(["phone_number"], *rows))

    report = response.json()
    assert report["imported"] == 1
    assert report["rejected_total"] == bad
    assert [r["row"] for r in report["rejected"]] == list(range(1, REJECTIONS_LISTED + 1))


async def test_an_upload_cut_off_mid_body_writes_nothing(
    app: FastAPI, sessions: Sessions, campaign_id: int
) -> None:
    body = many_rows(100_000)
    sent: list[Message] = []
    # Three pieces of the import of 2.8 MB, the first two saved.
    pieces = [body[i : i + (64 << 10)] for i in range(0, 3 * PIECE_BYTES, 64 << 10)]

    async def receive() -> Message:
        if pieces:
            return {"type": "http.request", "body": pieces.pop(0), "more_body": True}
        # Rows were already staged in the import's transaction when the client goes away.
        await seen_in_activity(sessions, "%INSERT INTO contacts%")
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(upload_scope(campaign_id, len(body)), receive, send)

    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 400
    assert await stored(sessions, campaign_id) == set()
    assert await open_transactions(sessions) == 0


def upload_scope(campaign_id: int, length: int) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/api/campaigns/{campaign_id}/contacts",
        "raw_path": f"/api/campaigns/{campaign_id}/contacts".encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"text/csv"), (b"content-length", str(length).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8880),
    }


async def open_transactions(sessions: Sessions) -> int:
    rows = await fetch_all(
        sessions,
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
        " AND state LIKE 'idle in transaction%'",
    )
    return int(rows[0].n)


async def test_a_body_found_too_large_mid_stream_writes_nothing(
    app: FastAPI, sessions: Sessions, campaign_id: int
) -> None:
    body = many_rows(100_000)
    sent: list[Message] = []
    pieces = [body[i : i + (64 << 10)] for i in range(0, 3 * PIECE_BYTES, 64 << 10)]

    async def receive() -> Message:
        if pieces:
            return {"type": "http.request", "body": pieces.pop(0), "more_body": True}
        await seen_in_activity(sessions, "%INSERT INTO contacts%")
        # What a body limit does once the bytes received pass it (Starlette's and the app's).
        raise HTTPException(413, "request body too large")

    async def send(message: Message) -> None:
        sent.append(message)

    await app(upload_scope(campaign_id, len(body)), receive, send)

    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    assert await stored(sessions, campaign_id) == set()
    assert await open_transactions(sessions) == 0
