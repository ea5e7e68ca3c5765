"""Large do-not-call loads build the list anew and swap it in: the same result as merging in place.

A load that brings at least as many new numbers as the list holds (and at least
`SWAP_MIN_ROWS`) is written with the old entries into a new table that replaces the old one.
These tests load through the command line and the API, and check that the result is the one the
merge in place gives, that the schema is exactly the migrated one afterwards, and that readers
(the dispatcher's claims) see the old list or the whole new one, never less.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.campaigns import imports
from app.db.engine import make_engine, make_sessionmaker
from app.db.models import Base
from app.scheduler.dispatch import claim
from app.suppression import swapping
from app.suppression.numbers import listed_hash
from tests.support.cli import Invoke
from tests.support.factories import create_campaign
from tests.support.seed import execute, fetch_all, seed_campaign, seen_in_activity

Sessions = async_sessionmaker[AsyncSession]
T = TypeVar("T")

LARGE = swapping.SWAP_MIN_ROWS + 20_000

# Everything about the table a swap could get wrong, with the names that must not change. The
# internal triggers of foreign keys are named after their own OIDs: they are compared by what
# they do, on both sides of each key.
_SCHEMA = """
SELECT 'column', a.attnum::text, a.attname::text, format_type(a.atttypid, a.atttypmod),
       a.attnotnull::text, coalesce(pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = 'do_not_call'::regclass AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint', conname::text, contype::text, pg_get_constraintdef(oid),
       convalidated::text, condeferrable::text
FROM pg_constraint WHERE conrelid = 'do_not_call'::regclass
UNION ALL
SELECT 'index', c.relname::text, pg_get_indexdef(i.indexrelid), i.indisprimary::text,
       i.indisvalid::text, ''
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'do_not_call'::regclass
UNION ALL
SELECT 'trigger', t.tgrelid::regclass::text,
       CASE WHEN t.tgisinternal THEN '(internal)' ELSE t.tgname::text END,
       t.tgfoid::regproc::text, t.tgtype::text, t.tgenabled::text
FROM pg_trigger t
WHERE t.tgrelid = 'do_not_call'::regclass
   OR (t.tgrelid = 'campaigns'::regclass AND t.tgconstrrelid = 'do_not_call'::regclass)
UNION ALL
SELECT 'table', c.relname::text, c.relkind::text, c.relpersistence::text,
       coalesce(c.relacl::text, ''), coalesce(array_to_string(c.reloptions, ','), '')
FROM pg_class c WHERE c.oid = 'do_not_call'::regclass
ORDER BY 1, 2, 3, 4, 5, 6
"""


async def schema(sessions: Sessions) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await fetch_all(sessions, _SCHEMA)]


async def table_oid(sessions: Sessions) -> int:
    rows = await fetch_all(sessions, "SELECT CAST('do_not_call'::regclass AS oid)::bigint")
    return int(rows[0][0])


def _drift(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def drift(engine: AsyncEngine) -> list[object]:
    async with engine.connect() as conn:
        return await conn.run_sync(_drift)


async def entries(sessions: Sessions) -> dict[str, tuple[Any, ...]]:
    rows = await fetch_all(
        sessions,
        "SELECT phone_number, source, reason, campaign_id, created_at::text FROM do_not_call",
    )
    return {row.phone_number: tuple(row[1:]) for row in rows}


async def list_before(sessions: Sessions, campaign_id: int) -> None:
    """An opt-out of a campaign, long ago, and a forgotten person's number, by its hash."""
    await execute(
        sessions,
        "INSERT INTO do_not_call (phone_number, reason, source, campaign_id, created_at) VALUES"
        " ('+393331234567', 'asked during a call', 'opt_out', :cid, '2020-01-02 03:04:05+00'),"
        " (:hashed, 'asked to be forgotten', 'erasure', NULL, '2021-05-06 07:08:09+00')",
        cid=campaign_id,
        hashed=listed_hash("+393339999999"),
    )


def numbers(count: int, first: int = 0) -> list[str]:
    return [f"+3935{i:08d}" for i in range(first, first + count)]


async def post_list(client: httpx.AsyncClient, body: str, **params: str) -> httpx.Response:
    return await client.post(
        "/api/do-not-call",
        params=params,
        content=body.encode(),
        headers={"content-type": "text/plain"},
    )


@pytest.mark.parametrize("swapped", [True, False], ids=["swapped", "in place"])
async def test_both_ways_give_the_same_report_and_the_same_list(
    client: httpx.AsyncClient, sessions: Sessions, monkeypatch: pytest.MonkeyPatch, swapped: bool
) -> None:
    monkeypatch.setattr(swapping, "SWAP_MIN_ROWS", 1 if swapped else 10**9)
    campaign_id = await seed_campaign(sessions, contacts=0)
    await list_before(sessions, campaign_id)
    before = await entries(sessions)
    oid = await table_oid(sessions)
    body = (
        "+393331234567\n"  # listed already: a duplicate, the entry stays as it was
        "+393331234568\n"
        "+39 02 1234 5678\n"
        "12345\n"
        "\n"
        "+393331234568\n"  # repeated: a duplicate
        "not a phone\n"
        "0212345679\n"
        "+393331234569\n"
    )

    response = await post_list(client, body, region="IT", source="registro", reason="RPO")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "added": 4,
        "duplicates": 2,
        "contacts_suppressed": 0,
        "rejected": [
            {"row": 4, "error": "'12345' is not a valid phone number"},
            {"row": 7, "error": "'not a phone' is not a phone number"},
        ],
        "rejected_total": 2,
    }
    after = await entries(sessions)
    assert {n: after[n] for n in before} == before
    added = {n: e for n, e in after.items() if n not in before}
    assert sorted(added) == ["+390212345678", "+390212345679", "+393331234568", "+393331234569"]
    assert {e[:3] for e in added.values()} == {("registro", "RPO", None)}
    assert (await table_oid(sessions) != oid) is swapped


def on_database(database_url: str, work: Callable[[Sessions, AsyncEngine], Awaitable[T]]) -> T:
    """Run `work` against the test's database, from a test that is not itself a coroutine."""

    async def run() -> T:
        engine = make_engine(database_url, pool_size=2)
        try:
            return await work(make_sessionmaker(engine), engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


async def opted_out_long_ago(sessions: Sessions, engine: AsyncEngine) -> Snapshot:
    await list_before(sessions, await seed_campaign(sessions, contacts=0))
    return await snapshot(sessions, engine)


@dataclass(frozen=True)
class Snapshot:
    entries: dict[str, tuple[Any, ...]]
    schema: list[tuple[Any, ...]]
    oid: int
    drift: list[object]


async def snapshot(sessions: Sessions, engine: AsyncEngine) -> Snapshot:
    return Snapshot(
        await entries(sessions),
        await schema(sessions),
        await table_oid(sessions),
        await drift(engine),
    )


def test_a_large_load_is_swapped_in_and_the_schema_stays_the_migrated_one(
    voicesurvey: Invoke, database_url: str, tmp_path: Path
) -> None:
    before = on_database(database_url, opted_out_long_ago)
    loaded = numbers(LARGE)
    upload = tmp_path / "registro.txt"
    upload.write_text("\n".join([*loaded, "+393331234567", loaded[7], "nonsense"]) + "\n")

    imported = voicesurvey("dnc", "import", str(upload), "--source", "rpo")

    assert imported.exit_code == 0, imported.stderr
    assert f"added {LARGE:,} numbers" in imported.stdout
    assert "(2 already listed or repeated), rejected 1" in imported.stdout
    assert f"row {LARGE + 3}: 'nonsense' has no country code" in imported.stdout
    after = on_database(database_url, snapshot)
    assert after.oid != before.oid
    assert after.schema == before.schema
    assert before.drift == after.drift == []
    assert len(after.entries) == LARGE + 2
    assert {n: after.entries[n] for n in before.entries} == before.entries
    assert after.entries[loaded[-1]][:3] == ("rpo", "do-not-call list", None)


def test_the_swapped_in_table_keeps_its_keys_working(
    voicesurvey: Invoke, database_url: str, tmp_path: Path
) -> None:
    before = on_database(database_url, opted_out_long_ago)
    upload = tmp_path / "registro.txt"
    upload.write_text("\n".join(numbers(LARGE)) + "\n")
    assert voicesurvey("dnc", "import", str(upload)).exit_code == 0
    small = tmp_path / "more.txt"
    small.write_text("+393331234567\n+393331230000\n")

    again = voicesurvey("dnc", "import", str(small))
    removed = voicesurvey("dnc", "remove", "+393331230000")

    async def delete_the_campaign(sessions: Sessions, engine: AsyncEngine) -> Snapshot:
        await execute(sessions, "DELETE FROM campaigns")
        return await snapshot(sessions, engine)

    after = on_database(database_url, delete_the_campaign)
    assert after.oid != before.oid
    assert "added 1 numbers" in again.stdout and "(1 already listed" in again.stdout
    assert removed.exit_code == 0 and "+393331230000" not in after.entries
    # The foreign key is there, with its ON DELETE SET NULL.
    assert after.entries["+393331234567"][:3] == ("opt_out", "asked during a call", None)


async def test_claims_during_a_swap_never_take_a_listed_number(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await seed_campaign(sessions, contacts=400, max_concurrent_calls=10_000)
    contacts = [f"+39{3_000_000_000 + i}" for i in range(1, 401)]
    # Listed before: the first 100 numbers, and the next 50 by their hash (forgotten people).
    await execute(
        sessions,
        "INSERT INTO do_not_call (phone_number, reason) SELECT unnest(CAST(:n AS text[])), 'x'",
        n=contacts[:100] + [listed_hash(n) for n in contacts[100:150]],
    )
    listed_before = set(contacts[:150])
    listed_by_load = set(contacts[150:250])
    body = "\n".join([*numbers(LARGE), *sorted(listed_by_load)]) + "\n"
    done: list[datetime] = []
    claims: list[set[str]] = []
    sizes: set[int] = set()

    async def claim_all_the_time() -> None:
        while not done:
            async with sessions() as session:
                taken, _ = await claim(
                    session, campaign_id, now=datetime.now(UTC), limit=1000, ring_timeout_seconds=30
                )
                await session.rollback()
            claims.append({c.phone_number for c in taken})
            await asyncio.sleep(0)

    async def count_all_the_time() -> None:
        while not done:
            rows = await fetch_all(sessions, "SELECT count(*) FROM do_not_call")
            sizes.add(int(rows[0][0]))
            await asyncio.sleep(0)

    async def load() -> httpx.Response:
        try:
            return await post_list(client, body)
        finally:
            done.append(datetime.now(UTC))

    response, *_ = await asyncio.gather(load(), claim_all_the_time(), count_all_the_time())
    async with sessions() as session:
        taken, _ = await claim(
            session, campaign_id, now=datetime.now(UTC), limit=1000, ring_timeout_seconds=30
        )
        await session.rollback()

    assert response.status_code == 200, response.text
    assert response.json()["added"] == LARGE + 100
    # Pending contacts listed by number, before and by this load (as merging in place does).
    assert response.json()["contacts_suppressed"] == 200
    assert len(claims) >= 3
    # Before the commit the claims take the numbers the load lists; never one listed before.
    for claimed in claims:
        assert claimed and not claimed & listed_before
    assert {c.phone_number for c in taken} == set(contacts[250:])
    assert sizes <= {150, 150 + LARGE + 100}


async def test_two_large_loads_at_once_wait_for_each_other(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    first, second = numbers(LARGE), numbers(LARGE, first=LARGE - 1000)

    responses = await asyncio.gather(
        post_list(client, "\n".join(first) + "\n"), post_list(client, "\n".join(second) + "\n")
    )

    reports = [r.json() for r in responses]
    assert [r.status_code for r in responses] == [200, 200]
    assert sum(r["added"] for r in reports) == 2 * LARGE - 1000
    assert sum(r["duplicates"] for r in reports) == 1000
    assert len(await entries(sessions)) == 2 * LARGE - 1000


def test_a_large_load_of_numbers_already_listed_is_merged_in_place(
    voicesurvey: Invoke, database_url: str, tmp_path: Path
) -> None:
    upload = tmp_path / "registro.txt"
    upload.write_text("\n".join(numbers(LARGE)) + "\n")
    assert voicesurvey("dnc", "import", str(upload)).exit_code == 0
    first = on_database(database_url, snapshot)

    again = voicesurvey("dnc", "import", str(upload))

    # Nothing new to add: rewriting the list would only cost time.
    assert again.exit_code == 0 and "added 0 numbers" in again.stdout
    assert f"({LARGE:,} already listed or repeated)" in again.stdout
    assert on_database(database_url, snapshot) == first


async def test_a_swap_that_cannot_lock_the_list_gives_way_and_merges_in_place(
    client: httpx.AsyncClient,
    sessions: Sessions,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A transaction reading the list until its commit (a slow contact upload does) never makes
    the swap queue every claim behind it: after its tries the swap is rolled back as a whole."""
    monkeypatch.setattr(swapping, "LOCK_TRIES", 2)
    monkeypatch.setattr(swapping, "LOCK_PAUSE_SECONDS", 0.01)
    await list_before(sessions, await seed_campaign(sessions, contacts=0))
    before = await table_oid(sessions)
    loaded = numbers(LARGE)

    async with sessions() as reader:
        await reader.execute(text("SELECT count(*) FROM do_not_call"))  # held to its commit
        response = await post_list(client, "\n".join(loaded) + "\n")
        await reader.rollback()

    assert response.status_code == 200, response.text
    assert response.json()["added"] == LARGE
    assert await table_oid(sessions) == before
    assert len(await entries(sessions)) == LARGE + 2
    assert "merged in place instead" in caplog.text
    assert "(merged in place)" in caplog.text
    leftovers = await fetch_all(
        sessions,
        "SELECT relname FROM pg_class WHERE relname LIKE 'do_not_call_%' AND relkind = 'r'",
    )
    assert leftovers == []


async def test_a_forgotten_number_leaves_the_old_list_a_swap_could_not_drop_yet(
    client: httpx.AsyncClient, sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table a swap sets aside holds plain numbers until it is dropped: erasure deletes the
    person's number there too, and the next load drops it."""

    async def busy(session: AsyncSession) -> int:  # campaigns stayed busy: nothing dropped
        return 0

    opted_out = "+393331234567"
    await list_before(sessions, await seed_campaign(sessions, contacts=0))
    with monkeypatch.context() as patch:
        patch.setattr(swapping, "drop_replaced", busy)
        assert (await post_list(client, "\n".join(numbers(LARGE)) + "\n")).status_code == 200
    [replaced] = await replaced_tables(sessions)
    assert await fetch_all(sessions, f"SELECT 1 FROM {replaced} WHERE phone_number = '{opted_out}'")

    forgotten = await client.delete(f"/api/contacts/by-phone/{opted_out}")

    assert forgotten.status_code == 200, forgotten.text
    assert (
        await fetch_all(sessions, f"SELECT 1 FROM {replaced} WHERE phone_number = '{opted_out}'")
        == []
    )
    assert listed_hash(opted_out) in await entries(sessions)
    assert (await post_list(client, "+393330000001\n")).status_code == 200
    assert await replaced_tables(sessions) == []


async def replaced_tables(sessions: Sessions) -> list[str]:
    rows = await fetch_all(
        sessions,
        "SELECT relname FROM pg_class WHERE starts_with(relname, :prefix) AND relkind = 'r'",
        prefix=swapping.REPLACED,
    )
    return [row.relname for row in rows]


async def test_contacts_of_an_upload_that_commits_while_the_swap_waits_end_do_not_call(
    client: httpx.AsyncClient, sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upload was checked against the old list and had to commit for the swap to take its
    lock: its contacts of numbers this load lists are found after the swap's commit."""
    monkeypatch.setattr(imports, "PIECE_BYTES", 1 << 10)
    campaign_id = int((await create_campaign(client))["id"])
    loaded = numbers(LARGE)
    contacts = [loaded[5], loaded[70], *(f"+39347{n:07d}" for n in range(10, 400))]
    resume = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        data = ("phone_number\n" + "".join(f"{p}\n" for p in contacts)).encode()
        for start in range(0, 3000, 300):  # pieces saved: the upload reads the list to its commit
            yield data[start : start + 300]
        await resume.wait()
        yield data[3000:]

    upload = asyncio.create_task(
        client.post(
            f"/api/campaigns/{campaign_id}/contacts",
            content=body(),
            headers={"content-type": "text/csv"},
        )
    )
    await seen_in_activity(sessions, "%INSERT INTO contacts%")
    load = asyncio.create_task(post_list(client, "\n".join(loaded) + "\n"))
    await seen_in_activity(sessions, "LOCK TABLE do_not_call IN ACCESS EXCLUSIVE MODE%")
    resume.set()
    uploaded, listed = await upload, await load

    assert uploaded.status_code == 200, uploaded.text
    assert listed.status_code == 200, listed.text
    assert uploaded.json()["do_not_call"] == 0  # checked against the old list
    assert listed.json()["contacts_suppressed"] == 2
    rows = await fetch_all(
        sessions,
        "SELECT phone_number FROM contacts WHERE campaign_id = :id AND state = 'do_not_call'",
        id=campaign_id,
    )
    assert sorted(r.phone_number for r in rows) == sorted([loaded[5], loaded[70]])
