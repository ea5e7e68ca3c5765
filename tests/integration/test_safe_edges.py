"""Hostile and careless input through the public HTTP interface: a 4xx that names the field or
the limit, nothing written, no worker stalled; access that no header can fake."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.web.limits import DEFAULT_MAX_BYTES
from tests.support.apps import app_client
from tests.support.factories import campaign_document, create_campaign, question
from tests.support.seed import execute, fetch_all

Sessions = async_sessionmaker[AsyncSession]
BIG = 2**63  # one past PostgreSQL's bigint


def locs(response: httpx.Response) -> list[list[Any]]:
    return [error["loc"] for error in response.json()["detail"]]


async def campaigns_stored(sessions: Sessions) -> int:
    return int((await fetch_all(sessions, "SELECT count(*) FROM campaigns"))[0][0])


# --- ranges a document may declare ------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"type": "scale", "min": 0, "max": 101}, "max"),
        ({"type": "scale", "min": 0, "max": 10**20}, "max"),
        ({"type": "scale", "min": -(10**20), "max": 5}, "min"),
        ({"type": "number", "min": 0, "max": 10**10}, "max"),
        ({"type": "choice", "choices": [f"c{n}" for n in range(51)]}, "choices"),
        ({"type": "choice", "choices": ["x" * 201]}, "choices"),
        ({"text": "x" * 1001}, "text"),
    ],
)
async def test_a_range_or_list_beyond_its_bound_is_refused(
    client: httpx.AsyncClient, sessions: Sessions, overrides: dict[str, Any], field: str
) -> None:
    document = campaign_document(questions=[question(id="q", **overrides)])

    response = await client.post("/api/campaigns", json=document)

    assert response.status_code == 422, response.text
    assert any(loc[:4] == ["body", "questions", 0, field] for loc in locs(response))
    assert await campaigns_stored(sessions) == 0


async def test_the_largest_scale_allowed_has_101_points(client: httpx.AsyncClient) -> None:
    document = campaign_document(questions=[question(id="q", type="scale", min=0, max=100)])

    assert (await client.post("/api/campaigns", json=document)).status_code == 201


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"questions": [question(id=f"q{n}") for n in range(101)]}, ["body", "questions"]),
        ({"retry_after_minutes": [1] * 21}, ["body", "retry_after_minutes"]),
        ({"timezone": "X" * 65}, ["body", "timezone"]),
    ],
)
async def test_lists_and_names_are_bounded_too(
    client: httpx.AsyncClient, overrides: dict[str, Any], loc: list[Any]
) -> None:
    response = await client.post("/api/campaigns", json=campaign_document(**overrides))

    assert response.status_code == 422 and loc in locs(response)


async def test_stats_of_a_campaign_stored_with_a_huge_scale_answer_at_once(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign = await create_campaign(client)
    # As stored before scales were bounded: the range must never be walked point by point.
    await execute(
        sessions,
        "UPDATE campaigns SET definition = jsonb_set(definition, '{questions,0,max}', "
        "to_jsonb(CAST(:high AS bigint)))",
        high=10**18,
    )

    started = time.perf_counter()
    response = await client.get(f"/api/campaigns/{campaign['id']}/stats")

    assert response.status_code == 200
    assert response.json()["questions"]["satisfaction"]["histogram"] == {}
    assert time.perf_counter() - started < 5  # a walk of 10**18 points would never end


# --- text the database cannot store, numbers JSON cannot carry, documents too deep -----------


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        ('"name": "ACME\\u0000Q4"', ["body", "name"]),
        ('"name": "ACME \\ud800 Q4"', ["body", "name"]),
        ('"script": {"intro": "Ciao\\u0000", "consent": "a", "refused": "b", "closing": "c"}',
         ["body", "script"]),
        ('"max_attempts": NaN', ["body", "max_attempts"]),
        ('"max_attempts": Infinity', ["body", "max_attempts"]),
        ('"max_attempts": 1e400', ["body", "max_attempts"]),
        ('"max_concurrent_calls": 99999999999999999999999', ["body", "max_concurrent_calls"]),
    ],
)  # fmt: skip
async def test_json_the_database_or_json_cannot_hold_is_a_422_naming_the_field(
    client: httpx.AsyncClient, sessions: Sessions, raw: str, loc: list[Any]
) -> None:
    document = json.dumps(campaign_document())
    body = document[:-1] + ", " + raw + "}"  # the later key wins

    response = await client.post(
        "/api/campaigns", content=body.encode(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 422, response.text
    assert loc in [error[: len(loc)] for error in locs(response)]
    assert await campaigns_stored(sessions) == 0


YAML_DOCUMENT = """
name: ACME
language: it-IT
timezone: Europe/Rome
call_window: {start: "09:00", end: "20:00", days: [mon]}
script: {intro: a, consent: b, refused: c, closing: d}
questions: [{id: q, type: yes_no, text: "Ok?"}]
"""


@pytest.mark.parametrize(
    ("extra", "loc"),
    [
        ("2026-12-02: a date as a key\n", ["body"]),
        ("labels: {2026-12-02: x}\n", ["body", "labels"]),
        ("max_attempts: .nan\n", ["body", "max_attempts"]),
        ("max_attempts: .inf\n", ["body", "max_attempts"]),
        ("nested: " + "[" * 5000 + "]" * 5000 + "\n", ["body"]),
    ],
)
async def test_yaml_json_cannot_carry_is_a_422_naming_where(
    client: httpx.AsyncClient, sessions: Sessions, extra: str, loc: list[Any]
) -> None:
    response = await client.post(
        "/api/campaigns",
        content=(YAML_DOCUMENT + extra).encode(),
        headers={"content-type": "application/yaml"},
    )

    assert response.status_code == 422, response.text
    assert loc in [error[: len(loc)] for error in locs(response)]
    assert await campaigns_stored(sessions) == 0


async def test_json_nested_past_any_parsers_depth_is_a_4xx(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    body = '{"name": ' + "[" * 100_000 + "]" * 100_000 + "}"

    response = await client.post(
        "/api/campaigns", content=body.encode(), headers={"content-type": "application/json"}
    )

    assert 400 <= response.status_code < 500, response.text
    assert "body" in response.text
    assert await campaigns_stored(sessions) == 0


@pytest.mark.parametrize(
    ("url", "name"),
    [
        (f"/api/campaigns/{BIG}", "campaign_id"),
        (f"/api/campaigns/{BIG}/stats", "campaign_id"),
        (f"/api/campaigns/{BIG}/start", "campaign_id"),
        (f"/api/campaigns/{BIG}/responses", "campaign_id"),
        ("/api/campaigns/0", "campaign_id"),
        (f"/api/campaigns?offset={BIG}", "offset"),
        (f"/api/campaigns/1/responses?offset={BIG * 4}", "offset"),
    ],
)
async def test_ids_and_offsets_beyond_64_bits_are_a_422_naming_them(
    client: httpx.AsyncClient, url: str, name: str
) -> None:
    method = "POST" if url.endswith("/start") else "GET"

    response = await client.request(method, url)

    assert response.status_code == 422, response.text
    assert name in [loc[-1] for loc in locs(response)]


@pytest.mark.parametrize("path", ["voice", "events"])
@pytest.mark.parametrize(
    "query", [f"attempt_id={BIG}", "attempt_id=-1", "attempt_id=", "attempt_id=1&turn=1e9"]
)
async def test_webhook_ids_that_are_not_ids_are_a_422(
    client: httpx.AsyncClient, path: str, query: str
) -> None:
    response = await client.post(f"/webhooks/telephony/{path}?{query}", json={})

    assert response.status_code == 422, response.text


# --- bodies are capped while they stream in ---------------------------------------------------


async def test_a_declared_oversized_body_is_refused_before_it_is_read(
    client: httpx.AsyncClient,
) -> None:
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):
            sent += 1
            yield b"x" * 1024

    headers = {"content-length": str(400 << 20), "content-type": "application/json"}
    response = await client.post("/webhooks/telephony/events", content=body(), headers=headers)

    assert response.status_code == 413
    assert f"at most {DEFAULT_MAX_BYTES} bytes" in response.json()["detail"]


@pytest.mark.parametrize(
    ("url", "content_type"),
    [
        ("/webhooks/telephony/events", "application/json"),
        ("/webhooks/telephony/voice?attempt_id=1", "application/x-www-form-urlencoded"),
        ("/api/campaigns", "application/json"),
    ],
)
async def test_a_streamed_body_is_cut_off_at_its_limit(
    client: httpx.AsyncClient, sessions: Sessions, url: str, content_type: str
) -> None:
    chunks = 0

    async def body() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        nonlocal chunks
        for _ in range(64 << 10):
            chunks += 1
            yield b"a" * 1024

    response = await client.post(url, content=body(), headers={"content-type": content_type})

    assert response.status_code == 413, response.text
    assert "request body too large" in response.json()["detail"]
    assert chunks < 2048  # 1 MiB + a little: the 64 MiB on offer were never read
    assert await campaigns_stored(sessions) == 0


async def test_a_twilio_webhook_is_capped_before_its_signature_is_checked(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        telephony_provider="twilio",
        twilio_account_sid="AC" + "1" * 32,
        twilio_auth_token="token",
        twilio_from_number="+390200000001",
    )
    form = b"SpeechResult=" + b"a" * DEFAULT_MAX_BYTES
    async with app_client(settings, "203.0.113.9") as client:
        big = await client.post(
            "/webhooks/telephony/voice?attempt_id=1",
            content=form,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        small = await client.post(
            "/webhooks/telephony/voice?attempt_id=1",
            content=b"SpeechResult=a",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )

    assert big.status_code == 413
    assert small.status_code == 403  # unsigned: read, then refused


async def test_a_content_length_that_is_not_a_number_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/webhooks/telephony/events", content=b"{}", headers={"content-length": "12abc"}
    )

    assert response.status_code == 400 and "Content-Length" in response.json()["detail"]


# --- who may do what ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"x-forwarded-for": "127.0.0.1"},
        {"x-forwarded-for": "127.0.0.1, 203.0.113.9"},
        {"forwarded": "for=127.0.0.1"},
        {"x-real-ip": "127.0.0.1"},
    ],
)
async def test_forwarding_headers_never_make_a_request_local(
    make_settings: Callable[..., Settings], headers: dict[str, str]
) -> None:
    async with app_client(make_settings(), "127.0.0.1") as client:
        api = await client.get("/api/campaigns", headers=headers)
        webhook = await client.post("/webhooks/telephony/events", json={}, headers=headers)
        plain = await client.get("/api/campaigns")

    assert api.status_code == 403 and "proxy" in api.json()["detail"]
    assert webhook.status_code == 403
    assert plain.status_code == 200


@pytest.mark.parametrize("host", ["testclient", "localhost", "10.0.0.5", "203.0.113.9"])
async def test_only_a_loopback_address_counts_as_local(
    make_settings: Callable[..., Settings], host: str
) -> None:
    async with app_client(make_settings(), host) as client:
        api = await client.get("/api/campaigns")
        docs = await client.get("/openapi.json")
        metrics = await client.get("/metrics")
        events = await client.post("/webhooks/telephony/events")

    assert (api.status_code, docs.status_code, metrics.status_code) == (403, 403, 403)
    assert events.status_code == 403  # the mock takes webhooks from this machine only


async def test_with_a_token_docs_and_metrics_need_it_and_health_does_not(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(admin_api_token="s3cret", metrics_token="m3trics")
    admin = {"authorization": "Bearer s3cret"}
    scraper = {"authorization": "Bearer m3trics"}
    async with app_client(settings, "127.0.0.1") as client:
        closed = [await client.get(path) for path in ("/docs", "/openapi.json", "/metrics")]
        docs = await client.get("/docs", headers=admin)
        schema = await client.get("/openapi.json", headers=admin)
        by_admin = await client.get("/metrics", headers=admin)
        by_scraper = await client.get("/metrics", headers=scraper)
        scraper_on_api = await client.get("/api/campaigns", headers=scraper)
        health = [await client.get(path) for path in ("/healthz", "/readyz")]

    assert [r.status_code for r in closed] == [401, 401, 401]
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert schema.status_code == 200 and "/api/campaigns" in schema.json()["paths"]
    assert by_admin.status_code == by_scraper.status_code == 200
    assert scraper_on_api.status_code == 401
    assert [r.status_code for r in health] == [200, 200]
    assert health[0].json() == {"status": "ok"}
    assert set(health[1].json()) == {"status", "migrations"}


async def test_an_empty_token_is_no_token(make_settings: Callable[..., Settings]) -> None:
    async with app_client(make_settings(admin_api_token=" "), "203.0.113.9") as client:
        response = await client.get("/api/campaigns", headers={"authorization": "Bearer "})

    assert response.status_code == 403


async def test_yaml_is_capped_below_the_import_limit(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign = await create_campaign(client)
    rows = "".join(f"- {{phone_number: '+3933312{n:05d}'}}\n" for n in range(200_000))

    response = await client.post(
        f"/api/campaigns/{campaign['id']}/contacts",
        content=rows.encode(),
        headers={"content-type": "application/yaml"},
    )

    assert response.status_code == 413 and "of YAML" in response.json()["detail"]
    assert (await fetch_all(sessions, "SELECT count(*) FROM contacts"))[0][0] == 0
