"""The do-not-call list: imports (plain list, CSV, JSON), paging and search, removal, limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.suppression.numbers import listed_hash
from app.suppression.reading import MAX_LINE_BYTES
from app.suppression.router import IMPORT_MAX_BYTES, JSON_MAX_BYTES
from tests.support.apps import app_client
from tests.support.cli import Invoke
from tests.support.factories import create_campaign, csv_body, import_csv
from tests.support.seed import execute, fetch_all

Sessions = async_sessionmaker[AsyncSession]


async def post_list(client: httpx.AsyncClient, body: str | bytes, **params: str) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return await client.post(
        "/api/do-not-call", params=params, content=content, headers={"content-type": "text/csv"}
    )


async def listed(sessions: Sessions) -> dict[str, Any]:
    rows = await fetch_all(
        sessions,
        "SELECT phone_number, source, reason, campaign_id,"
        " created_at > now() - interval '1 minute' AS recent FROM do_not_call",
    )
    return {row.phone_number: row for row in rows}


async def list_numbers(sessions: Sessions, *numbers: str, source: str = "opt_out") -> None:
    await execute(
        sessions,
        "INSERT INTO do_not_call (phone_number, reason, source)"
        " SELECT unnest(CAST(:numbers AS text[])), 'listed before', :source",
        numbers=list(numbers),
        source=source,
    )


async def test_a_plain_list_is_normalised_counted_and_each_bad_row_reported(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    body = "+393331234567\n+39 02 1234 5678\n0212345679\n12345\n\n+393331234567\nnot a phone\n"

    response = await post_list(
        client, body, region="IT", source="registro", reason="Registro delle opposizioni"
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "added": 3,
        "duplicates": 1,
        "contacts_suppressed": 0,
        "rejected": [
            {"row": 4, "error": "'12345' is not a valid phone number"},
            {"row": 7, "error": "'not a phone' is not a phone number"},
        ],
        "rejected_total": 2,
    }
    stored = await listed(sessions)
    assert set(stored) == {"+393331234567", "+390212345678", "+390212345679"}
    entry = stored["+390212345678"]
    assert (entry.source, entry.reason, entry.campaign_id, entry.recent) == (
        "registro",
        "Registro delle opposizioni",
        None,
        True,
    )


async def test_numbers_already_listed_are_duplicates_and_keep_their_entry(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await list_numbers(sessions, "+393331234567")

    response = await post_list(client, "+393331234567\n+393331234568\n")

    assert (response.json()["added"], response.json()["duplicates"]) == (1, 1)
    stored = await listed(sessions)
    assert stored["+393331234567"].source == "opt_out"
    assert (stored["+393331234568"].source, stored["+393331234568"].reason) == (
        "api",
        "do-not-call list",
    )


async def test_a_number_listed_meanwhile_by_another_transaction_is_a_duplicate(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    async with sessions() as other, other.begin():
        await other.execute(
            text("INSERT INTO do_not_call (phone_number, reason) VALUES ('+393331234567', 'x')")
        )
        upload = asyncio.create_task(post_list(client, "+393331234567\n+393331234568\n"))
        await waiting_for_a_lock(sessions)
    response = await upload

    assert response.status_code == 200, response.text
    assert (response.json()["added"], response.json()["duplicates"]) == (1, 1)
    assert set(await listed(sessions)) == {"+393331234567", "+393331234568"}


async def waiting_for_a_lock(sessions: Sessions) -> None:
    """Until a statement of this database waits on a lock another transaction holds."""
    async with asyncio.timeout(10):
        while not await fetch_all(  # noqa: ASYNC110  # polls state that has no event to wait on
            sessions,
            "SELECT 1 FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'",
        ):
            await asyncio.sleep(0.02)


async def test_a_csv_names_its_phone_number_column(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    body = csv_body(["name", "phone_number"], ["Anna", "+39 333 123 4567"], ["Bea", ""])

    response = await post_list(client, body)

    assert response.json()["added"] == 1
    assert response.json()["rejected"] == [{"row": 2, "error": "the phone number is missing"}]
    assert set(await listed(sessions)) == {"+393331234567"}


async def test_a_json_upload_carries_its_source_and_region(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    upload = {"numbers": ["+393331234567", "0212345678", 5.5, "x"], "source": "crm", "region": "IT"}

    response = await client.post("/api/do-not-call", json=upload)

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["added"] == 2
    assert [r["row"] for r in report["rejected"]] == [3, 4]
    assert {e.source for e in (await listed(sessions)).values()} == {"crm"}


@pytest.mark.parametrize(
    "body",
    [
        {"numbers": "+393331234567"},
        {"numbers": ["+393331234567"], "colour": "red"},
        {"numbers": ["+393331234567"], "source": ""},
        {"numbers": ["+393331234567"], "reason": "a\u0000b"},
        ["+393331234567"],
    ],
)
async def test_json_that_is_not_an_upload_is_refused_whole(
    client: httpx.AsyncClient, sessions: Sessions, body: Any
) -> None:
    response = await client.post("/api/do-not-call", json=body)

    assert response.status_code == 422, response.text
    assert await listed(sessions) == {}


async def test_hostile_rows_are_refused_alone(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    body = b"+39333\x001234567\n" + b"3" * 5000 + b"\n\xff\xfe\n\x00\n+393331234567\n"

    response = await post_list(client, body)

    assert response.status_code == 200, response.text
    assert [r["row"] for r in response.json()["rejected"]] == [1, 2, 3, 4]
    assert all(len(r["error"]) < 100 for r in response.json()["rejected"])
    assert set(await listed(sessions)) == {"+393331234567"}


async def test_a_failure_half_way_writes_nothing(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    body = b"+393331234567\n" * 1000 + b"9" * (MAX_LINE_BYTES + 10)

    response = await post_list(client, body)

    assert response.status_code == 422
    assert "is longer than" in response.json()["detail"][0]["msg"]
    assert await listed(sessions) == {}


@pytest.mark.parametrize(
    ("params", "field"),
    [({"region": "XX"}, "region"), ({"source": " "}, "source"), ({"region": "ITA"}, "region")],
)
async def test_bad_options_are_refused_before_anything_is_written(
    client: httpx.AsyncClient, sessions: Sessions, params: dict[str, str], field: str
) -> None:
    response = await post_list(client, "+393331234567\n", **params)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field
    assert await listed(sessions) == {}


async def test_bodies_are_bounded(client: httpx.AsyncClient, sessions: Sessions) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):
            sent += 1
            yield b"+393331234567\n" * 1000

    declared = {"content-length": str(IMPORT_MAX_BYTES + 1), "content-type": "text/csv"}
    too_long = await client.post("/api/do-not-call", content=endless(), headers=declared)
    big_json = json.dumps({"numbers": ["+393331234567"] * (JSON_MAX_BYTES // 16)})
    too_much_json = await client.post(
        "/api/do-not-call", content=big_json, headers={"content-type": "application/json"}
    )
    wrong_type = await client.post(
        "/api/do-not-call", content=b"x", headers={"content-type": "image/png"}
    )

    assert (too_long.status_code, sent) == (413, 0)
    assert too_much_json.status_code == 413 and "text/csv" in too_much_json.json()["detail"]
    assert wrong_type.status_code == 415
    assert await listed(sessions) == {}


async def test_pending_contacts_of_a_listed_number_are_never_called(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign = await create_campaign(client)
    contacts = csv_body(["phone_number"], ["+393331234567"], ["+393331234568"])
    assert (await import_csv(client, campaign["id"], contacts)).status_code == 200

    response = await post_list(client, "+393331234567\n")

    assert response.json()["contacts_suppressed"] == 1
    states = await fetch_all(sessions, "SELECT phone_number, state FROM contacts ORDER BY 1")
    assert [tuple(s) for s in states] == [
        ("+393331234567", "do_not_call"),
        ("+393331234568", "pending"),
    ]


async def test_the_list_is_paged_in_number_order(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    numbers = [f"+39333123456{i}" for i in range(5)]
    await list_numbers(sessions, *reversed(numbers))

    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"after": after} if after else {})
        page = (await client.get("/api/do-not-call", params=params)).json()
        seen += [entry["phone_number"] for entry in page["entries"]]
        pages += 1
        if (after := page["next"]) is None:
            break

    assert seen == numbers and pages == 3
    entry = page["entries"][0]
    assert (entry["source"], entry["reason"], entry["campaign_id"]) == (
        "opt_out",
        "listed before",
        None,
    )


async def test_search_finds_a_prefix_or_a_number_and_its_hash(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await list_numbers(sessions, "+390212345678", "+390212345679", "+393331234567")
    await list_numbers(sessions, listed_hash("+393339999999"), source="erasure")

    async def search(text: str) -> list[str]:
        response = await client.get("/api/do-not-call", params={"search": text})
        assert response.status_code == 200, response.text
        return [entry["phone_number"] for entry in response.json()["entries"]]

    assert await search("+3902") == ["+390212345678", "+390212345679"]
    assert await search("39 02 1234 5679") == ["+390212345679"]
    assert await search("+39 333 999 9999") == [listed_hash("+393339999999")]
    assert await search("+44") == []
    for bad in ("abc", "+39\u0000"):
        response = await client.get("/api/do-not-call", params={"search": bad})
        assert response.status_code == 422
    cursor = await client.get("/api/do-not-call", params={"after": "+39\u0000"})
    assert cursor.status_code == 422


async def test_a_number_is_removed_but_a_forgotten_one_stays(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await list_numbers(sessions, "+393331234567")
    await list_numbers(sessions, listed_hash("+393339999999"), source="erasure")

    removed = await client.delete("/api/do-not-call/+39 333 123 4567")
    again = await client.delete("/api/do-not-call/+393331234567")
    forgotten = await client.delete("/api/do-not-call/+393339999999")
    nonsense = await client.delete("/api/do-not-call/hello")

    assert removed.status_code == 204
    assert again.status_code == 404
    assert forgotten.status_code == 409 and "forgotten" in forgotten.json()["detail"]
    assert nonsense.status_code == 422
    assert set(await listed(sessions)) == {listed_hash("+393339999999")}


async def test_the_api_needs_the_admin_token(make_settings: Callable[..., Settings]) -> None:
    async with app_client(make_settings(admin_api_token="s3cret"), "10.1.2.3") as client:
        anonymous = await client.get("/api/do-not-call")
        admin = await client.get("/api/do-not-call", headers={"authorization": "Bearer s3cret"})

    assert (anonymous.status_code, admin.status_code) == (401, 200)


def test_the_command_line_imports_lists_and_removes(voicesurvey: Invoke, tmp_path: Path) -> None:
    numbers = tmp_path / "registro.txt"
    numbers.write_text("+393331234567\n02 1234 5678\nnot a phone\n+393331234567\n")

    imported = voicesurvey("dnc", "import", str(numbers), "--region", "IT", "--source", "rpo")
    shown = voicesurvey("dnc", "list", "--search", "+39333")
    removed = voicesurvey("dnc", "remove", "+393331234567")
    again = voicesurvey("dnc", "remove", "+393331234567")

    assert imported.exit_code == 0, imported.stderr
    assert (
        "added 2 numbers" in imported.stdout and "(1 already listed or repeated)" in imported.stdout
    )
    assert "row 3: 'not a phone' is not a phone number" in imported.stdout
    assert shown.exit_code == 0 and "+393331234567" in shown.stdout and "rpo" in shown.stdout
    assert "0212345678" not in shown.stdout
    assert removed.exit_code == 0 and "removed" in removed.stdout
    assert again.exit_code == 1 and again.stderr.startswith("error: this number is not on")


def test_the_command_line_reads_json_too(voicesurvey: Invoke, tmp_path: Path) -> None:
    upload = tmp_path / "numbers.json"
    upload.write_text(json.dumps({"numbers": ["+393331234567"], "reason": "asked by email"}))

    imported = voicesurvey("dnc", "import", str(upload))
    shown = voicesurvey("dnc", "list")

    assert imported.exit_code == 0 and "added 1 numbers" in imported.stdout
    assert "asked by email" in shown.stdout


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (("import", "missing.txt"), "No such file"),
        (("import", "numbers.txt", "--region", "XX"), "region"),
        (("import", "numbers.txt", "--source", ""), "--source"),
        (("list", "--search", "abc"), "search"),
        (("remove", "nonsense"), "number"),
    ],
)
def test_command_line_errors_are_one_line(
    voicesurvey: Invoke,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    arguments: tuple[str, ...],
    fragment: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "numbers.txt").write_text("+393331234567\n")

    result = voicesurvey("dnc", *arguments)

    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and fragment in lines[0]
