"""Imports saved piece by piece: what spans pieces is reported as if the file were one.

The pieces are made small here (a kilobyte, a few dozen rows) so that a short body has many.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.campaigns import imports
from tests.support.factories import create_campaign
from tests.support.seed import execute, fetch_all, seen_in_activity

Sessions = async_sessionmaker[AsyncSession]
PIECE = 1 << 10
CHUNK = 300  # what the network delivers at a time: pieces are made of several


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "PIECE_BYTES", PIECE)


@pytest.fixture
async def campaign_id(client: httpx.AsyncClient) -> int:
    return int((await create_campaign(client))["id"])


def number(n: int) -> str:
    return f"+39347{n:07d}"


def csv_of(phones: list[str]) -> bytes:
    return ("phone_number\n" + "".join(f"{p}\n" for p in phones)).encode()


async def chunks(body: bytes, pause: asyncio.Event | None = None) -> AsyncIterator[bytes]:
    """The body a few hundred bytes at a time; after half of it, wait for `pause` if given."""
    for start in range(0, len(body), CHUNK):
        if pause is not None and start >= len(body) // 2:
            await pause.wait()
            pause = None
        yield body[start : start + CHUNK]


async def upload(client: httpx.AsyncClient, campaign_id: int, body: AsyncIterator[bytes]) -> dict:
    response = await client.post(
        f"/api/campaigns/{campaign_id}/contacts",
        content=body,
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    report: dict = response.json()
    return report


async def numbers_in_order(sessions: Sessions, campaign_id: int) -> list[str]:
    rows = await fetch_all(
        sessions,
        "SELECT phone_number FROM contacts WHERE campaign_id = :id ORDER BY id",
        id=campaign_id,
    )
    return [row.phone_number for row in rows]


async def test_repeats_across_pieces_name_the_first_row_of_the_whole_file(
    client: httpx.AsyncClient, sessions: Sessions, campaign_id: int
) -> None:
    await execute(
        sessions,
        "INSERT INTO contacts (campaign_id, phone_number, timezone, next_attempt_at)"
        " VALUES (:id, :phone, 'Europe/Rome', now())",
        id=campaign_id,
        phone=number(999),
    )
    phones = [number(n) for n in range(300)]  # about 14 bytes a row: 4,200 bytes, 5 pieces
    phones[2] = number(999)  # row 3: already in the campaign
    phones[150] = number(999)  # a later piece: a duplicate of row 3, not "already"
    phones[200] = number(0)  # a duplicate of row 1, pieces later
    phones[298] = phones[299] = number(5)  # twice in the last piece, first in the first
    body = csv_of([*phones, "not a number"])

    report = await upload(client, campaign_id, chunks(body))

    assert report["rejected"] == [
        {"row": 3, "error": "already in campaign"},
        {"row": 151, "error": "duplicate of row 3"},
        {"row": 201, "error": "duplicate of row 1"},
        {"row": 299, "error": "duplicate of row 6"},
        {"row": 300, "error": "duplicate of row 6"},
        {"row": 301, "error": "phone_number 'not a number' is not a phone number"},
    ]
    assert report["rejected_total"] == 6
    assert report["imported"] == 300 - 5
    firsts = list(dict.fromkeys(p for p in phones if p != number(999)))
    assert await numbers_in_order(sessions, campaign_id) == [number(999), *firsts]


async def test_do_not_call_numbers_in_any_piece_are_imported_as_do_not_call(
    client: httpx.AsyncClient, sessions: Sessions, campaign_id: int
) -> None:
    listed = [number(n) for n in (0, 120, 299)]  # first, a middle and the last piece
    for phone in listed:
        await execute(
            sessions,
            "INSERT INTO do_not_call (phone_number, reason) VALUES (:phone, 'asked')",
            phone=phone,
        )

    report = await upload(client, campaign_id, chunks(csv_of([number(n) for n in range(300)])))

    assert (report["imported"], report["do_not_call"], report["rejected_total"]) == (300, 3, 0)
    rows = await fetch_all(
        sessions,
        "SELECT phone_number FROM contacts WHERE campaign_id = :id AND state = 'do_not_call'",
        id=campaign_id,
    )
    assert sorted(r.phone_number for r in rows) == listed


async def test_two_imports_into_one_campaign_take_turns(
    client: httpx.AsyncClient, sessions: Sessions, campaign_id: int
) -> None:
    """Each saves its pieces as they come; the second waits for the first to commit, then
    finds its numbers already there. In opposite orders and at once, they could deadlock."""
    shared = [number(n) for n in range(400)]
    extra = [number(n) for n in range(1000, 1050)]
    resume_first = asyncio.Event()
    first = asyncio.create_task(
        upload(client, campaign_id, chunks(csv_of(shared), pause=resume_first))
    )
    await seen_in_activity(sessions, "%INSERT INTO contacts%")
    second = asyncio.create_task(
        upload(client, campaign_id, chunks(csv_of([*reversed(shared), *extra])))
    )
    # The second has saved nothing: it waits for its turn while the first is mid-body.
    await seen_in_activity(sessions, "%pg_advisory_xact_lock%", waiting=True)
    resume_first.set()
    one, two = await first, await second

    assert (one["imported"], one["rejected_total"]) == (400, 0)
    assert (two["imported"], two["rejected_total"]) == (50, 400)
    assert {r["error"] for r in two["rejected"]} == {"already in campaign"}
    assert [r["row"] for r in two["rejected"]] == list(range(1, 401))
    assert await numbers_in_order(sessions, campaign_id) == [*shared, *extra]


async def test_a_number_listed_while_the_upload_is_read_is_imported_as_do_not_call(
    client: httpx.AsyncClient, sessions: Sessions, campaign_id: int
) -> None:
    """An opt-out committed after the piece holding the number was saved: the list's own step
    cannot see the upload's rows, so the import looks again before it commits."""
    phones = [number(n) for n in range(300)]
    resume = asyncio.Event()
    running = asyncio.create_task(upload(client, campaign_id, chunks(csv_of(phones), resume)))
    await seen_in_activity(sessions, "%INSERT INTO contacts%")
    for phone in (number(0), number(1)):  # both in the first piece, saved by now
        await execute(
            sessions,
            "INSERT INTO do_not_call (phone_number, reason, source)"
            " VALUES (:p, 'asked', 'opt_out')",
            p=phone,
        )
    resume.set()
    report = await running

    assert (report["imported"], report["do_not_call"]) == (300, 2)
    rows = await fetch_all(
        sessions,
        "SELECT phone_number FROM contacts WHERE campaign_id = :id AND state = 'do_not_call'",
        id=campaign_id,
    )
    assert sorted(r.phone_number for r in rows) == [number(0), number(1)]


async def test_an_import_waiting_for_its_turn_leaves_the_campaign_row_alone(
    client: httpx.AsyncClient, sessions: Sessions, campaign_id: int
) -> None:
    """A one-piece upload behind a slow one waits for its turn before it locks the campaign:
    the dispatcher and a pause or cancel are not held off for the slow upload's duration."""
    resume_first = asyncio.Event()
    first = asyncio.create_task(
        upload(client, campaign_id, chunks(csv_of([number(n) for n in range(300)]), resume_first))
    )
    await seen_in_activity(sessions, "%INSERT INTO contacts%")
    second = asyncio.create_task(upload(client, campaign_id, chunks(csv_of([number(500)]))))
    await seen_in_activity(sessions, "%pg_advisory_xact_lock%", waiting=True)

    # What the dispatcher and a status change need: the row, at once.
    locked = await fetch_all(
        sessions, "SELECT id FROM campaigns WHERE id = :id FOR NO KEY UPDATE NOWAIT", id=campaign_id
    )
    resume_first.set()
    one, two = await first, await second

    assert [row.id for row in locked] == [campaign_id]
    assert (one["imported"], two["imported"]) == (300, 1)


async def test_an_invalid_byte_after_pieces_were_saved_writes_nothing(
    client: httpx.AsyncClient, sessions: Sessions, campaign_id: int
) -> None:
    body = csv_of([number(n) for n in range(300)])
    body = body[:-100] + b"\xff" + body[-100:]

    response = await client.post(
        f"/api/campaigns/{campaign_id}/contacts",
        content=chunks(body),
        headers={"content-type": "text/csv"},
    )

    assert response.status_code == 422, response.text
    assert "not valid UTF-8" in response.text
    assert await numbers_in_order(sessions, campaign_id) == []
