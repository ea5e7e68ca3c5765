"""Contact import: CSV and JSON, normalisation, row-by-row rejections, one set-based transaction."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.campaigns import imports
from tests.support.factories import create_campaign, csv_body, import_csv
from tests.support.seed import execute, fetch_all

Sessions = async_sessionmaker[AsyncSession]

CONTACT_COLUMNS = "phone_number, name, external_id, timezone, attributes, state, attempts_count"


async def contacts_of(sessions: Sessions, campaign_id: int) -> dict[str, Any]:
    rows = await fetch_all(
        sessions,
        f"SELECT {CONTACT_COLUMNS}, next_attempt_at <= now() AS due"
        " FROM contacts WHERE campaign_id = :id",
        id=campaign_id,
    )
    return {row.phone_number: row for row in rows}


async def post_json(client: httpx.AsyncClient, campaign_id: int, items: Any) -> httpx.Response:
    return await client.post(f"/api/campaigns/{campaign_id}/contacts", json=items)


@pytest.fixture
async def campaign_id(client: httpx.AsyncClient) -> int:
    campaign = await create_campaign(client)
    return int(campaign["id"])


async def test_csv_with_mixed_rows_reports_each_rejection(
    client: httpx.AsyncClient, sessions: Sessions, campaign_id: int
) -> None:
    body = csv_body(
        ["phone_number", "name", "external_id", "timezone", "segment", "city"],
        ["02 1234 5678", "Anna", "A1", "", "gold", "Milano"],
        ["12345", "Bad", "A2", "", "", ""],
        ["+39 02 1234 5678", "Dup", "A3", "", "", ""],
        ["333 123 4567", "Carla", "A4", "America/New_York", "", ""],
        ["06 1234 5678", "Dario", "A5", "Mars/Olympus", "", ""],
        ["+1 212 555 0100", "Eve", "A6", "", "", ""],
        [],
        ["", "Nobody", "A8", "", "", ""],
        ["not a phone", "", "", "", "", ""],
    )

    response = await import_csv(client, campaign_id, body)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "imported": 3,
        "do_not_call": 0,
        "rejected": [
            {"row": 2, "error": "phone_number '12345' is not a valid phone number"},
            {"row": 3, "error": "duplicate of row 1"},
            {"row": 5, "error": "timezone 'Mars/Olympus' is not a known IANA time zone"},
            {"row": 8, "error": "phone_number is missing"},
            {"row": 9, "error": "phone_number 'not a phone' is not a phone number"},
        ],
        "rejected_total": 5,
    }
    stored = await contacts_of(sessions, campaign_id)
    assert set(stored) == {"+390212345678", "+393331234567", "+12125550100"}
    anna = stored["+390212345678"]
    assert (anna.name, anna.external_id, anna.timezone) == ("Anna", "A1", "Europe/Rome")
    assert anna.attributes == {"segment": "gold", "city": "Milano"}
    assert (anna.state, anna.attempts_count, anna.due) == ("pending", 0, True)
    assert stored["+393331234567"].timezone == "America/New_York"  # the column wins
    assert stored["+12125550100"].timezone == "America/New_York"  # from the number


async def test_header_matching_is_case_insensitive_and_bom_tolerant(
    client: httpx.AsyncClient, sessions: Sessions, campaign_id: int
) -> None:
    body = "\ufeffPhone_Number ,Name,Customer Tier\n0212345678,Anna,gold\n"

    response = await import_csv(client, campaign_id, body)

    assert response.json()["imported"] == 1
    [anna] = (await contacts_of(sessions, campaign_id)).values()
    assert (anna.name, anna.attributes) == ("Anna", {"Customer Tier": "gold"})


async def test_row_numbers_count_records_not_lines(
    client: httpx.AsyncClient, campaign_id: int
) -> None:
    body = 'phone_number,note\n0212345678,"two\nlines"\nbad,x\n'

    response = await import_csv(client, campaign_id, body)

    assert response.json()["rejected"] == [
        {"row": 2, "error": "phone_number 'bad' is not a phone number"}
    ]


async def test_row_with_more_fields_than_header_is_rejected(
    client: httpx.AsyncClient, campaign_id: int
) -> None:
    body = "phone_number,name\n0212345678,Anna,surplus\n0212345679,Bea\n"

    response = await import_csv(client, campaign_id, body)

    assert response.json()["imported"] == 1
    assert response.json()["rejected"] == [{"row": 1, "error": "has 3 fields but the header has 2"}]


async def test_json_list_import(
    client: httpx.AsyncClient, sessions: Sessions, campaign_id: int
) -> None:
    items = [
        {"phone_number": "+39 02 1234 5678", "external_id": 17, "crm": {"tier": 2}},
        "not an object",
        {"name": "No number"},
        {"phone_number": "0212345679", "timezone": "Europe/Vatican", "name": "Bea"},
        {"phone_number": ["+390212345670"]},
    ]

    response = await post_json(client, campaign_id, items)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "imported": 2,
        "do_not_call": 0,
        "rejected": [
            {"row": 2, "error": "must be an object"},
            {"row": 3, "error": "phone_number is missing"},
            {"row": 5, "error": "phone_number must be a string"},
        ],
        "rejected_total": 3,
    }
    stored = await contacts_of(sessions, campaign_id)
    first = stored["+390212345678"]
    assert (first.external_id, first.attributes) == ("17", {"crm": {"tier": 2}})
    assert stored["+390212345679"].timezone == "Europe/Vatican"


async def test_yaml_list_import(
    client: httpx.AsyncClient, sessions: Sessions, campaign_id: int
) -> None:
    body = "- phone_number: '02 1234 5678'\n  name: Anna\n"

    response = await client.post(
        f"/api/campaigns/{campaign_id}/contacts",
        content=body.encode(),
        headers={"content-type": "application/yaml"},
    )

    assert response.json()["imported"] == 1
    assert set(await contacts_of(sessions, campaign_id)) == {"+390212345678"}


async def test_second_import_reports_numbers_already_in_campaign(
    client: httpx.AsyncClient, sessions: Sessions, campaign_id: int
) -> None:
    await import_csv(client, campaign_id, csv_body(["phone_number"], ["0212345678"]))

    response = await import_csv(
        client, campaign_id, csv_body(["phone_number"], ["0212345679"], ["+39 02 1234 5678"])
    )

    assert response.json() == {
        "imported": 1,
        "do_not_call": 0,
        "rejected": [{"row": 2, "error": "already in campaign"}],
        "rejected_total": 1,
    }
    assert len(await contacts_of(sessions, campaign_id)) == 2


async def test_same_number_may_join_another_campaign(
    client: httpx.AsyncClient, campaign_id: int
) -> None:
    other = await create_campaign(client, name="other")
    body = csv_body(["phone_number"], ["0212345678"])

    first = await import_csv(client, campaign_id, body)
    second = await import_csv(client, other["id"], body)

    assert (first.json()["imported"], second.json()["imported"]) == (1, 1)


async def test_do_not_call_numbers_are_imported_as_do_not_call(
    client: httpx.AsyncClient, sessions: Sessions, campaign_id: int
) -> None:
    await execute(
        sessions,
        "INSERT INTO do_not_call (phone_number, reason) VALUES ('+390212345678', 'asked')",
    )

    response = await import_csv(
        client, campaign_id, csv_body(["phone_number"], ["02 1234 5678"], ["02 1234 5679"])
    )

    assert response.json() == {
        "imported": 2,
        "do_not_call": 1,
        "rejected": [],
        "rejected_total": 0,
    }
    stored = await contacts_of(sessions, campaign_id)
    assert stored["+390212345678"].state == "do_not_call"
    assert stored["+390212345679"].state == "pending"


async def test_region_comes_from_the_caller_id_then_the_language(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    us_caller = await create_campaign(client, caller_id="+1 212 555 0100")
    english = await create_campaign(client, language="en-US", caller_id=None, timezone="UTC")
    body = csv_body(["phone_number"], ["(212) 555-0199"])

    await import_csv(client, us_caller["id"], body)
    await import_csv(client, english["id"], body)

    assert set(await contacts_of(sessions, us_caller["id"])) == {"+12125550199"}
    assert set(await contacts_of(sessions, english["id"])) == {"+12125550199"}


@pytest.mark.parametrize(
    ("campaign_zone", "expected"),
    [
        ("America/Chicago", "America/Chicago"),  # one of the number's zones: the campaign's
        ("Europe/Rome", "America/Adak"),  # not among them: the first candidate
    ],
)
async def test_ambiguous_number_zone(
    client: httpx.AsyncClient, sessions: Sessions, campaign_zone: str, expected: str
) -> None:
    campaign = await create_campaign(client, timezone=campaign_zone)

    await import_csv(client, campaign["id"], csv_body(["phone_number"], ["+1 800 555 0100"]))

    [contact] = (await contacts_of(sessions, campaign["id"])).values()
    assert contact.timezone == expected


async def test_a_multi_zone_number_keeps_every_candidate_zone(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign = await create_campaign(client, timezone="America/Chicago")
    body = csv_body(
        ["phone_number", "timezone"],
        ["+1 800 555 0100", ""],  # toll-free: anywhere in the NANP
        ["+1 800 555 0101", "America/Denver"],  # the operator knows better
        ["+1 212 555 0100", ""],  # New York only
    )

    await import_csv(client, campaign["id"], body)

    rows = await fetch_all(
        sessions, "SELECT phone_number, time_zone_candidates AS zones FROM contacts ORDER BY id"
    )
    zones = {r.phone_number: r.zones for r in rows}
    assert {"America/Los_Angeles", "America/New_York", "Pacific/Honolulu"} <= set(
        zones["+18005550100"]
    )
    assert zones["+18005550101"] == [] and zones["+12125550100"] == []


async def test_import_into_running_and_paused_campaigns(
    client: httpx.AsyncClient, sessions: Sessions, campaign_id: int
) -> None:
    await import_csv(client, campaign_id, csv_body(["phone_number"], ["0212345678"]))
    await client.post(f"/api/campaigns/{campaign_id}/start")
    running = await import_csv(client, campaign_id, csv_body(["phone_number"], ["0212345679"]))
    await client.post(f"/api/campaigns/{campaign_id}/pause")
    paused = await import_csv(client, campaign_id, csv_body(["phone_number"], ["0212345670"]))

    assert (running.json()["imported"], paused.json()["imported"]) == (1, 1)


@pytest.mark.parametrize("status", ["completed", "cancelled"])
async def test_import_into_a_finished_campaign_is_409(
    client: httpx.AsyncClient, sessions: Sessions, campaign_id: int, status: str
) -> None:
    await execute(
        sessions, "UPDATE campaigns SET status = :s WHERE id = :id", s=status, id=campaign_id
    )

    response = await import_csv(client, campaign_id, csv_body(["phone_number"], ["0212345678"]))

    assert response.status_code == 409
    assert f"its status is {status}" in response.json()["detail"]
    assert await contacts_of(sessions, campaign_id) == {}


async def test_import_into_missing_campaign_is_404(client: httpx.AsyncClient) -> None:
    response = await import_csv(client, 777, csv_body(["phone_number"], ["0212345678"]))

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("content", "content_type", "loc", "message"),
    [
        (b"name,city\nAnna,Milano\n", "text/csv", ["body", "phone_number"], "no phone_number"),
        ("phone_number\n02 1234 5678 \xe9\n".encode("latin-1"), "text/csv", ["body"], "UTF-8"),
        (b"", "text/csv", ["body"], "empty"),
        (b"  \n", "text/csv", ["body"], "empty"),
        (b"phone_number,phone_number\n1,2\n", "text/csv", ["body", "phone_number"], "twice"),
        (b'{"phone_number": "+390212345678"}', "application/json", ["body"], "JSON list"),
        (b"[{", "application/json", ["body"], "not valid JSON"),
        (b'[{"phone_number": "0212345678", "score": NaN}]', "application/json", ["body"], "NaN"),
    ],
)
async def test_unreadable_upload_is_422(
    client: httpx.AsyncClient,
    sessions: Sessions,
    campaign_id: int,
    content: bytes,
    content_type: str,
    loc: list[str],
    message: str,
) -> None:
    response = await client.post(
        f"/api/campaigns/{campaign_id}/contacts",
        content=content,
        headers={"content-type": content_type},
    )

    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == loc
    assert message in error["msg"]
    assert await contacts_of(sessions, campaign_id) == {}


async def test_unsupported_content_type_is_415(client: httpx.AsyncClient, campaign_id: int) -> None:
    response = await client.post(
        f"/api/campaigns/{campaign_id}/contacts",
        content=b"phone_number\n0212345678\n",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 415
    assert "text/csv" in response.json()["detail"]


async def test_header_only_imports_nothing(client: httpx.AsyncClient, campaign_id: int) -> None:
    response = await import_csv(client, campaign_id, "phone_number,name\n")

    assert response.json() == {
        "imported": 0,
        "do_not_call": 0,
        "rejected": [],
        "rejected_total": 0,
    }


async def test_nul_characters_reject_the_row_not_the_request(
    client: httpx.AsyncClient, campaign_id: int
) -> None:
    items = [
        {"phone_number": "0212345678", "name": "A\u0000"},
        {"phone_number": "0212345679", "note": "x\u0000"},
        {"phone_number": "0212345670"},
    ]

    response = await post_json(client, campaign_id, items)

    assert response.json()["imported"] == 1
    assert [r["row"] for r in response.json()["rejected"]] == [1, 2]


async def test_a_failure_after_the_insert_writes_nothing(
    client: httpx.AsyncClient,
    sessions: Sessions,
    campaign_id: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inserted: list[int] = []

    def explode(counts: Any, rejected: Any) -> Any:
        inserted.append(counts.imported)
        raise RuntimeError("failure after the INSERT statement")

    monkeypatch.setattr(imports, "build_report", explode)
    body = csv_body(["phone_number"], ["0212345678"], ["0212345679"], ["0212345670"])

    with pytest.raises(RuntimeError, match="after the INSERT"):
        await import_csv(client, campaign_id, body)

    assert inserted == [3]  # the statement ran and returned its rows...
    assert await contacts_of(sessions, campaign_id) == {}  # ...and none of them stayed


async def test_large_import_takes_a_few_statements_a_piece(
    client: httpx.AsyncClient, app: FastAPI, sessions: Sessions, campaign_id: int
) -> None:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sync_engine = app.state.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", record)
    rows = [[f"+39021{i:07d}", f"ext-{i}", f"seg-{i % 7}"] for i in range(20_000)]
    rows.append(["+390210000000", "again", ""])  # a duplicate of the first row
    body = csv_body(["phone_number", "external_id", "segment"], *rows)
    try:
        response = await import_csv(client, campaign_id, body)
    finally:
        event.remove(sync_engine, "before_cursor_execute", record)

    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 20_000
    assert response.json()["rejected"] == [{"row": 20_001, "error": "duplicate of row 1"}]
    # However the body arrives: one INSERT a piece, and a few statements around it.
    pieces = len(body) // imports.PIECE_BYTES + 1
    assert 1 <= sum("INSERT INTO contacts" in s for s in statements) <= pieces
    assert len(statements) < 10 + 4 * pieces
    [(count,)] = await fetch_all(
        sessions, "SELECT count(*) FROM contacts WHERE campaign_id = :id", id=campaign_id
    )
    assert count == 20_000


async def test_stats_count_imported_contacts(client: httpx.AsyncClient, campaign_id: int) -> None:
    await import_csv(
        client, campaign_id, csv_body(["phone_number"], ["0212345678"], ["0212345679"])
    )

    stats = (await client.get(f"/api/campaigns/{campaign_id}/stats")).json()

    assert stats["contacts"]["pending"] == 2
    assert stats["attempts"]["total"] == 0
