"""Campaign API: create (JSON, YAML), validation, list/read, status changes, stats, admin auth."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from tests.support.apps import app_client
from tests.support.factories import (
    OMIT,
    call_window,
    campaign_document,
    create_campaign,
    csv_body,
    import_csv,
    question,
    script,
)
from tests.support.seed import execute, fetch_all

Sessions = async_sessionmaker[AsyncSession]


def locs(response: httpx.Response) -> list[list[Any]]:
    return [error["loc"] for error in response.json()["detail"]]


async def add_contacts(client: httpx.AsyncClient, campaign_id: int, *numbers: str) -> None:
    response = await import_csv(
        client, campaign_id, csv_body(["phone_number"], *[[n] for n in numbers])
    )
    assert response.status_code == 200, response.text


# --- create -------------------------------------------------------------------------------------


async def test_create_from_json_stores_columns_and_document(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    response = await client.post("/api/campaigns", json=campaign_document())

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "draft"
    assert body["name"] == "Soddisfazione clienti Q4"
    assert body["language"] == "it-IT"
    assert body["contacts_total"] == 0
    [row] = await fetch_all(
        sessions,
        "SELECT name, status, language, caller_id, timezone, call_window, max_attempts,"
        " retry_after_minutes, max_concurrent_calls, definition FROM campaigns WHERE id = :id",
        id=body["id"],
    )
    assert row.status == "draft"
    assert row.caller_id == "+390212345678"
    assert row.call_window == {"start": "09:00", "end": "20:00", "days": call_window()["days"]}
    assert (row.max_attempts, row.retry_after_minutes, row.max_concurrent_calls) == (
        3,
        [60, 240],
        10,
    )
    assert [q["id"] for q in row.definition["questions"]] == [
        "satisfaction",
        "recommend",
        "channel",
        "comment",
    ]
    assert row.definition["questions"][3]["required"] is False
    assert row.definition["script"] == script()


@pytest.mark.parametrize(
    "content_type", ["application/yaml", "text/yaml", "application/x-yaml; charset=utf-8"]
)
async def test_create_from_yaml(client: httpx.AsyncClient, content_type: str) -> None:
    document = yaml.safe_dump(campaign_document(name="Da YAML"), allow_unicode=True)

    response = await client.post(
        "/api/campaigns", content=document.encode(), headers={"content-type": content_type}
    )

    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Da YAML"
    assert response.json()["status"] == "draft"


async def test_defaults_fill_optional_fields(client: httpx.AsyncClient) -> None:
    document = campaign_document(
        caller_id=OMIT, max_attempts=OMIT, retry_after_minutes=OMIT, max_concurrent_calls=OMIT
    )

    body = (await client.post("/api/campaigns", json=document)).json()

    assert body["caller_id"] is None
    assert (body["max_attempts"], body["retry_after_minutes"], body["max_concurrent_calls"]) == (
        3,
        [60, 240],
        10,
    )
    assert body["max_call_minutes"] == 15


async def test_max_call_minutes_is_stored(client: httpx.AsyncClient, sessions: Sessions) -> None:
    body = await create_campaign(client, max_call_minutes=240)

    [row] = await fetch_all(
        sessions, "SELECT max_call_minutes FROM campaigns WHERE id = :id", id=body["id"]
    )
    assert body["max_call_minutes"] == row.max_call_minutes == 240


async def test_retry_after_zero_minutes_is_accepted(client: httpx.AsyncClient) -> None:
    body = await create_campaign(client, retry_after_minutes=[0])

    assert body["retry_after_minutes"] == [0]


async def test_caller_id_is_normalised_to_e164(client: httpx.AsyncClient) -> None:
    body = await create_campaign(client, caller_id="+39 02 1234 5678")

    assert body["caller_id"] == "+390212345678"


async def test_malformed_yaml_is_rejected(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/campaigns",
        content=b"name: [unclosed\nlanguage: it-IT\n",
        headers={"content-type": "application/yaml"},
    )

    assert response.status_code == 422
    assert "not valid YAML" in response.text


async def test_yaml_aliases_are_rejected(client: httpx.AsyncClient) -> None:
    bomb = b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"

    response = await client.post(
        "/api/campaigns", content=bomb, headers={"content-type": "application/yaml"}
    )

    assert response.status_code == 422
    assert "aliases are not allowed" in response.text


BAD_DOCUMENTS: list[tuple[str, dict[str, Any], list[Any]]] = [
    ("name missing", {"name": OMIT}, ["body", "name"]),
    ("name empty", {"name": "   "}, ["body", "name"]),
    ("language unknown", {"language": "pt-BR"}, ["body", "language"]),
    ("caller_id not a number", {"caller_id": "ACME"}, ["body", "caller_id"]),
    ("caller_id not valid", {"caller_id": "+39 000"}, ["body", "caller_id"]),
    ("caller_id without country", {"caller_id": "02 1234 5678"}, ["body", "caller_id"]),
    ("timezone unknown", {"timezone": "Mars/Olympus"}, ["body", "timezone"]),
    ("window ends first", {"call_window": call_window(start="20:00", end="09:00")},
     ["body", "call_window", "end"]),
    ("window empty", {"call_window": call_window(start="09:00", end="09:00")},
     ["body", "call_window", "end"]),
    ("window bad time", {"call_window": call_window(start="9am")},
     ["body", "call_window", "start"]),
    ("window no days", {"call_window": call_window(days=[])}, ["body", "call_window", "days"]),
    ("window bad day", {"call_window": call_window(days=["mon", "funday"])},
     ["body", "call_window", "days", 1]),
    ("max_attempts zero", {"max_attempts": 0}, ["body", "max_attempts"]),
    ("max_attempts too many", {"max_attempts": 21}, ["body", "max_attempts"]),
    ("retry negative", {"retry_after_minutes": [60, -1]}, ["body", "retry_after_minutes", 1]),
    ("retry not ints", {"retry_after_minutes": ["soon"]}, ["body", "retry_after_minutes", 0]),
    ("concurrency zero", {"max_concurrent_calls": 0}, ["body", "max_concurrent_calls"]),
    ("concurrency too high", {"max_concurrent_calls": 1001}, ["body", "max_concurrent_calls"]),
    ("call minutes zero", {"max_call_minutes": 0}, ["body", "max_call_minutes"]),
    ("call minutes over 4 h", {"max_call_minutes": 241}, ["body", "max_call_minutes"]),
    ("script intro empty", {"script": script(intro="")}, ["body", "script", "intro"]),
    ("script closing missing", {"script": script(closing=OMIT)}, ["body", "script", "closing"]),
    ("no questions", {"questions": []}, ["body", "questions"]),
    ("question type unknown", {"questions": [question(), question(id="q2", type="essay")]},
     ["body", "questions", 1, "type"]),
    ("question text empty", {"questions": [question(text=" ")]}, ["body", "questions", 0, "text"]),
    ("scale min = max", {"questions": [question(type="scale", min=5, max=5)]},
     ["body", "questions", 0, "max"]),
    ("scale without max", {"questions": [question(type="scale", min=1)]},
     ["body", "questions", 0, "max"]),
    ("choice without choices", {"questions": [question(type="choice")]},
     ["body", "questions", 0, "choices"]),
    ("choice empty choices", {"questions": [question(type="choice", choices=[])]},
     ["body", "questions", 0, "choices"]),
    ("choice repeated", {"questions": [question(type="choice", choices=["a", "A"])]},
     ["body", "questions", 0, "choices"]),
    ("choices on yes_no", {"questions": [question(choices=["a"])]},
     ["body", "questions", 0, "choices"]),
    ("misspelt key", {"max_attempt": 3}, ["body", "max_attempt"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "loc"), [case[1:] for case in BAD_DOCUMENTS], ids=[c[0] for c in BAD_DOCUMENTS]
)
async def test_invalid_document_gets_422_naming_the_field(
    client: httpx.AsyncClient, sessions: Sessions, overrides: dict[str, Any], loc: list[Any]
) -> None:
    response = await client.post("/api/campaigns", json=campaign_document(**overrides))

    assert response.status_code == 422, response.text
    assert loc in locs(response)
    assert await fetch_all(sessions, "SELECT id FROM campaigns") == []


async def test_duplicate_question_ids_are_named(client: httpx.AsyncClient) -> None:
    questions = [question(id="q1"), question(id="q2"), question(id="q1")]

    response = await client.post("/api/campaigns", json=campaign_document(questions=questions))

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "questions"]
    assert "'q1' is used twice (questions.0 and questions.2)" in error["msg"]


async def test_yaml_validation_errors_name_the_field(client: httpx.AsyncClient) -> None:
    document = yaml.safe_dump(campaign_document(language="pt-BR"))

    response = await client.post(
        "/api/campaigns", content=document.encode(), headers={"content-type": "text/yaml"}
    )

    assert response.status_code == 422
    assert ["body", "language"] in locs(response)


# --- read ---------------------------------------------------------------------------------------


async def test_list_is_newest_first_with_contact_counts(client: httpx.AsyncClient) -> None:
    first = await create_campaign(client, name="first")
    second = await create_campaign(client, name="second")
    await add_contacts(client, first["id"], "+390212345678", "+390212345679")

    listed = (await client.get("/api/campaigns")).json()

    assert [(c["name"], c["contacts_total"]) for c in listed] == [("second", 0), ("first", 2)]
    assert "definition" not in listed[0]
    drafts = (await client.get("/api/campaigns", params={"status": "running"})).json()
    assert drafts == []
    assert second["id"] > first["id"]


async def test_get_returns_the_campaign_with_its_document(client: httpx.AsyncClient) -> None:
    created = await create_campaign(client)

    response = await client.get(f"/api/campaigns/{created['id']}")

    assert response.status_code == 200
    assert response.json()["id"] == created["id"]
    assert response.json()["definition"]["timezone"] == "Europe/Rome"


async def test_get_missing_campaign_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/campaigns/424242")

    assert response.status_code == 404
    assert response.json() == {"detail": "campaign 424242 not found"}


# --- status changes -----------------------------------------------------------------------------


async def test_start_without_contacts_is_409(client: httpx.AsyncClient) -> None:
    campaign = await create_campaign(client)

    response = await client.post(f"/api/campaigns/{campaign['id']}/start")

    assert response.status_code == 409
    assert "campaign has no contacts" in response.json()["detail"]


async def test_full_lifecycle_and_refusals(client: httpx.AsyncClient) -> None:
    campaign = await create_campaign(client)
    cid = campaign["id"]
    await add_contacts(client, cid, "+390212345678")

    async def act(action: str) -> httpx.Response:
        return await client.post(f"/api/campaigns/{cid}/{action}")

    started = await act("start")
    assert started.status_code == 200
    assert started.json()["status"] == "running"
    assert started.json()["started_at"] is not None
    assert (await act("start")).json() == {
        "detail": f"cannot start campaign {cid}: its status is running"
    }
    assert (await act("resume")).status_code == 409
    assert (await act("pause")).json()["status"] == "paused"
    assert (await act("pause")).status_code == 409
    assert (await act("start")).status_code == 409
    assert (await act("resume")).json()["status"] == "running"
    cancelled = await act("cancel")
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["finished_at"] is not None
    for action in ("start", "pause", "resume", "cancel"):
        refused = await act(action)
        assert refused.status_code == 409
        assert "its status is cancelled" in refused.json()["detail"]


async def test_cancel_a_draft(client: httpx.AsyncClient) -> None:
    campaign = await create_campaign(client)

    response = await client.post(f"/api/campaigns/{campaign['id']}/cancel")

    assert response.json()["status"] == "cancelled"


async def test_completed_campaign_cannot_change(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign = await create_campaign(client)
    await execute(
        sessions, "UPDATE campaigns SET status = 'completed' WHERE id = :id", id=campaign["id"]
    )

    for action in ("start", "pause", "resume", "cancel"):
        response = await client.post(f"/api/campaigns/{campaign['id']}/{action}")
        assert response.status_code == 409
        assert "completed" in response.json()["detail"]


async def test_status_change_on_missing_campaign_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/campaigns/999/pause")

    assert response.status_code == 404


async def test_concurrent_cancels_succeed_exactly_once(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign = await create_campaign(client)

    responses = await asyncio.gather(
        *(client.post(f"/api/campaigns/{campaign['id']}/cancel") for _ in range(5))
    )

    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409, 409]


# --- stats --------------------------------------------------------------------------------------


async def test_stats_match_the_database(client: httpx.AsyncClient, sessions: Sessions) -> None:
    campaign = await create_campaign(client)
    cid = campaign["id"]
    await add_contacts(client, cid, *(f"+3902123456{i:02d}" for i in range(6)))
    await execute(
        sessions,
        "UPDATE contacts SET state = 'completed', attempts_count = 1 WHERE campaign_id = :id"
        " AND phone_number IN ('+390212345600', '+390212345601')",
        id=cid,
    )
    await execute(
        sessions,
        "UPDATE contacts SET state = 'in_progress', attempts_count = 1 WHERE campaign_id = :id"
        " AND phone_number = '+390212345602'",
        id=cid,
    )
    await execute(
        sessions,
        """
        INSERT INTO call_attempts (contact_id, campaign_id, attempt_number, status, outcome,
                                   started_at, last_event_at, ended_at)
        SELECT id, campaign_id, 1,
               CASE WHEN state = 'completed' THEN 'completed' ELSE 'ringing' END,
               CASE WHEN state = 'completed' THEN 'completed' END,
               now(), now(), CASE WHEN state = 'completed' THEN now() END
        FROM contacts WHERE campaign_id = :id AND state IN ('completed', 'in_progress')
        """,
        id=cid,
    )

    response = await client.get(f"/api/campaigns/{cid}/stats")

    assert response.status_code == 200
    stats = response.json()
    assert stats["campaign_id"] == cid
    assert stats["status"] == "draft"
    assert stats["contacts"] == {
        "pending": 3,
        "in_progress": 1,
        "completed": 2,
        "refused": 0,
        "partial": 0,
        "not_reached": 0,
        "failed": 0,
        "do_not_call": 0,
        "screened_out": 0,
    }
    attempts = stats["attempts"]
    assert (attempts["total"], attempts["open"]) == (3, 1)
    assert attempts["by_outcome"]["completed"] == 2
    assert sum(attempts["by_outcome"].values()) == 2
    assert attempts["by_status"]["completed"] == 2
    assert attempts["by_status"]["ringing"] == 1
    db_states = dict(
        await fetch_all(
            sessions,
            "SELECT state, count(*) FROM contacts WHERE campaign_id = :id GROUP BY state",
            id=cid,
        )
    )
    assert {k: v for k, v in stats["contacts"].items() if v} == db_states


async def test_stats_of_missing_campaign_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/campaigns/5/stats")).status_code == 404


# --- admin auth and schema ----------------------------------------------------------------------


async def test_bearer_token_is_required_when_configured(
    make_settings: Callable[..., Settings],
) -> None:
    async with app_client(make_settings(admin_api_token="s3cret"), "10.1.2.3") as client:
        missing = await client.get("/api/campaigns")
        wrong = await client.get("/api/campaigns", headers={"authorization": "Bearer nope"})
        right = await client.get("/api/campaigns", headers={"authorization": "Bearer s3cret"})
        create = await client.post("/api/campaigns", json=campaign_document())

    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert create.status_code == 401


async def test_without_token_only_loopback_clients_are_served(
    make_settings: Callable[..., Settings],
) -> None:
    async with app_client(make_settings(), "10.1.2.3") as client:
        remote = await client.get("/api/campaigns")
    async with app_client(make_settings(), "127.0.0.1") as client:
        local = await client.get("/api/campaigns")

    assert remote.status_code == 403
    assert "ADMIN_API_TOKEN" in remote.json()["detail"]
    assert local.status_code == 200


async def test_openapi_documents_both_body_formats(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()

    content = schema["paths"]["/api/campaigns"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/yaml"} <= set(content)
    ref = content["application/yaml"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "questions" in schema["components"]["schemas"][ref]["properties"]
    contacts = schema["paths"]["/api/campaigns/{campaign_id}/contacts"]["post"]["requestBody"]
    assert {"text/csv", "application/json"} <= set(contacts["content"])


async def test_oversized_document_is_413(client: httpx.AsyncClient) -> None:
    document = campaign_document(name="x" * (2 << 20))

    response = await client.post("/api/campaigns", json=document)

    assert response.status_code == 413
