"""The console over HTTP: who gets in, forms that must carry their CSRF token, and hostile or
careless input answered with a page that says what is wrong, never a 5xx, nothing half-done."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from pydantic import SecretStr

from app.config import Settings
from app.console import access
from app.main import create_app
from tests.support.factories import campaign_document, create_campaign, csv_body, import_csv

TOKEN = "console-admin-token-0123456789"
BASE = "http://127.0.0.1:8880"


async def _client(app: FastAPI, peer: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url=BASE)


@pytest.fixture
async def token_app(make_settings: Callable[..., Settings]) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(admin_api_token=TOKEN))
    async with application.router.lifespan_context(application):
        yield application


def csrf_of(client: httpx.AsyncClient) -> str:
    token = client.cookies.get(access.CSRF_COOKIE)
    assert token, "the console sets its CSRF cookie with the first page"
    return token


@contextlib.asynccontextmanager
async def signed_in(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(app) as client:
        await client.get("/console/sign-in")
        answer = await client.post(
            "/console/sign-in", data={"token": TOKEN, "csrf_token": csrf_of(client)}
        )
        assert answer.status_code == 303, answer.text
        yield client


async def status_of(client: httpx.AsyncClient, campaign_id: int) -> str:
    status: str = (await client.get(f"/api/campaigns/{campaign_id}")).json()["status"]
    return status


# Access --------------------------------------------------------------------------------------


async def test_without_a_token_the_console_answers_this_machine_only(app: FastAPI) -> None:
    async with await _client(app) as local:
        page = await local.get("/console")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        proxied = await local.get("/console", headers={"x-forwarded-for": "127.0.0.1"})
        assert proxied.status_code == 403
        assert "ADMIN_API_TOKEN" in proxied.text
    async with await _client(app, peer="203.0.113.7") as remote:
        assert (await remote.get("/console")).status_code == 403
        assert (await remote.get("/console/campaigns/1/live")).status_code == 403


async def test_the_root_leads_to_the_console_and_the_assets_are_packaged(app: FastAPI) -> None:
    async with await _client(app) as client:
        root = await client.get("/")
        assert root.status_code == 307 and root.headers["location"] == "/console"
        script = await client.get("/console/static/htmx.min.js")
        assert script.status_code == 200 and b"htmx" in script.content[:200]
        assert (await client.get("/console/static/console.css")).status_code == 200


async def test_with_a_token_only_a_signed_in_browser_gets_in(token_app: FastAPI) -> None:
    async with await _client(token_app) as client:
        first = await client.get("/console")
        assert first.status_code == 303
        assert first.headers["location"] == "/console/sign-in"
        poll = await client.get("/console/campaigns/1/live", headers={"hx-request": "true"})
        assert poll.status_code == 401 and poll.headers["hx-redirect"] == "/console/sign-in"

        form = await client.get("/console/sign-in")
        assert form.status_code == 200 and 'type="password"' in form.text
        no_csrf = await client.post("/console/sign-in", data={"token": TOKEN})
        assert no_csrf.status_code == 403
        wrong = await client.post(
            "/console/sign-in", data={"token": "guess", "csrf_token": csrf_of(client)}
        )
        assert wrong.status_code == 401 and "not the admin token" in wrong.text
        right = await client.post(
            "/console/sign-in", data={"token": TOKEN, "csrf_token": csrf_of(client)}
        )
        assert right.status_code == 303
        cookie = right.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
        assert (await client.get("/console")).status_code == 200

        out = await client.post("/console/sign-out", data={"csrf_token": csrf_of(client)})
        assert out.status_code == 303
        assert (await client.get("/console")).status_code == 303


def _last_char_changed(session: str) -> str:
    """The session with its signature's last digit replaced by a different one, always."""
    return session[:-1] + ("1" if session.endswith("0") else "0")


@pytest.mark.parametrize(
    "session",
    [
        pytest.param(
            lambda: _last_char_changed(access.new_session(SecretStr(TOKEN), time.time())),
            id="forged",
        ),
        pytest.param(
            lambda: access.new_session(SecretStr(TOKEN), time.time() - 13 * 3600), id="expired"
        ),
        pytest.param(
            lambda: access.new_session(SecretStr("another-token-0123456789"), time.time()),
            id="other-token",
        ),
        pytest.param(lambda: "9" * 40 + "." + "a" * 64, id="garbage"),
    ],
)
async def test_a_session_cookie_not_signed_now_with_this_token_is_refused(
    token_app: FastAPI, session: Callable[[], str]
) -> None:
    async with await _client(token_app) as client:
        client.cookies.set(access.SESSION_COOKIE, session(), path="/console")
        assert (await client.get("/console")).status_code == 303
    async with await _client(token_app) as client:
        client.cookies.set(access.SESSION_COOKIE, access.new_session(SecretStr(TOKEN), time.time()))
        assert (await client.get("/console")).status_code == 200


# CSRF ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "headers"),
    [
        pytest.param({}, {}, id="missing"),
        pytest.param({"csrf_token": "x" * 43}, {}, id="wrong"),
        pytest.param(None, {"sec-fetch-site": "cross-site"}, id="cross-site"),
    ],
)
async def test_a_form_without_its_csrf_token_changes_nothing(
    token_app: FastAPI, form: dict[str, str] | None, headers: dict[str, str]
) -> None:
    async with signed_in(token_app) as client:
        client.headers["authorization"] = f"Bearer {TOKEN}"
        campaign = await create_campaign(client)
        await import_csv(client, campaign["id"], csv_body(["phone_number"], ["+390212345699"]))
        data = {"csrf_token": csrf_of(client)} if form is None else form
        answer = await client.post(
            f"/console/campaigns/{campaign['id']}/start", data=data, headers=headers
        )
        assert answer.status_code == 403
        assert "nothing was done" in answer.text
        assert await status_of(client, campaign["id"]) == "draft"

        done = await client.post(
            f"/console/campaigns/{campaign['id']}/start", data={"csrf_token": csrf_of(client)}
        )
        assert done.status_code == 303
        assert await status_of(client, campaign["id"]) == "running"


# Campaign documents --------------------------------------------------------------------------


async def new_campaign(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    await client.get("/console/campaigns/new")
    files = fields.pop("files", None)
    return await client.post(
        "/console/campaigns/new",
        data={"csrf_token": csrf_of(client), **fields},
        files=files,
    )


async def campaigns_count(client: httpx.AsyncClient) -> int:
    return len((await client.get("/api/campaigns")).json())


@pytest.mark.parametrize(
    ("document", "path"),
    [
        pytest.param(yaml.safe_dump(campaign_document(max_attempts=0)), "max_attempts", id="range"),
        pytest.param(
            yaml.safe_dump(
                campaign_document(questions=[{"id": "q", "type": "scale", "text": "?", "min": 0}])
            ),
            "questions.0",
            id="nested",
        ),
        pytest.param('{"name": NaN}', "document", id="nan"),
        pytest.param("name: [unclosed", "document", id="broken-yaml"),
        pytest.param("name: a\x00b", "document", id="nul"),
        pytest.param("[" * 5000 + "]" * 5000, "document", id="deep"),
        pytest.param("{2024-01-01: x}", "document", id="date-key"),
        pytest.param("max_attempts: 1.0e+999", "document", id="overflow"),
        pytest.param("max_attempts: .nan", "document", id="yaml-nan"),
        pytest.param("", "document", id="empty"),
    ],
)
async def test_a_bad_document_is_shown_again_with_the_field_at_fault(
    app: FastAPI, document: str, path: str
) -> None:
    async with await _client(app) as client:
        answer = await new_campaign(client, document=document)
        assert answer.status_code == 422
        assert re.search(rf'<code class="path">{re.escape(path)}[^<]*</code>', answer.text), (
            answer.text
        )
        assert await campaigns_count(client) == 0


async def test_an_uploaded_document_creates_a_draft(app: FastAPI) -> None:
    async with await _client(app) as client:
        body = yaml.safe_dump(campaign_document(name="Uploaded"), allow_unicode=True).encode()
        answer = await new_campaign(client, files={"file": ("c.yaml", body, "application/yaml")})
        assert answer.status_code == 303
        page = await client.get(answer.headers["location"])
        assert page.status_code == 200 and "Uploaded" in page.text
        binary = await new_campaign(client, files={"file": ("c.yaml", b"\xff\xfe", "text/yaml")})
        assert binary.status_code == 422 and "not UTF-8" in binary.text
        assert await campaigns_count(client) == 1


async def test_an_oversized_form_is_refused_before_it_is_read(app: FastAPI) -> None:
    async with await _client(app) as client:
        await client.get("/console/campaigns/new")
        huge = "x" * (3 << 20)
        answer = await client.post(
            "/console/campaigns/new", data={"csrf_token": csrf_of(client), "document": huge}
        )
        assert answer.status_code == 413
        small_route = await client.post(
            "/console/campaigns/1/start", data={"csrf_token": csrf_of(client), "pad": huge}
        )
        assert small_route.status_code == 413
        assert await campaigns_count(client) == 0


# Contacts, do-not-call, live updates ---------------------------------------------------------


async def test_an_import_lists_each_bad_row_and_a_closed_campaign_takes_none(
    app: FastAPI,
) -> None:
    async with await _client(app) as client:
        campaign = await create_campaign(client)
        await client.get(f"/console/campaigns/{campaign['id']}")
        rows = csv_body(["phone_number"], ["+390212345601"], ["nope"], ["+390212345602"])
        answer = await client.post(
            f"/console/campaigns/{campaign['id']}/contacts",
            data={"csrf_token": csrf_of(client)},
            files={"file": ("contacts.csv", rows.encode(), "text/csv")},
        )
        assert answer.status_code == 200
        assert "Imported <strong>2</strong> contacts" in answer.text
        assert re.search(r'<td class="num">2</td><td>[^<]+</td>', answer.text)

        await client.post(f"/api/campaigns/{campaign['id']}/cancel")
        refused = await client.post(
            f"/console/campaigns/{campaign['id']}/contacts",
            data={"csrf_token": csrf_of(client)},
            files={"file": ("contacts.csv", rows.encode(), "text/csv")},
        )
        assert refused.status_code == 422 and "cancelled" in refused.text
        detail = (await client.get(f"/api/campaigns/{campaign['id']}")).json()
        assert detail["contacts_total"] == 2

        missing = await client.post(
            "/console/campaigns/999999/contacts",
            data={"csrf_token": csrf_of(client)},
            files={"file": ("contacts.csv", rows.encode(), "text/csv")},
        )
        assert missing.status_code in {404, 422}


async def test_the_do_not_call_list_is_searched_added_to_and_removed_from(app: FastAPI) -> None:
    async with await _client(app) as client:
        campaign = await create_campaign(client)
        url = f"/console/campaigns/{campaign['id']}"
        await client.get(url)
        bad = await client.post(
            f"{url}/do-not-call", data={"csrf_token": csrf_of(client), "number": "12"}
        )
        assert bad.status_code == 422 and 'id="dnc-add-error"' in bad.text
        added = await client.post(
            f"{url}/do-not-call", data={"csrf_token": csrf_of(client), "number": "+39 02 1234 5678"}
        )
        assert added.status_code == 303
        found = await client.get(url, params={"dnc_search": "+390212"})
        assert "+390212345678" in found.text and "console" in found.text
        nonsense = await client.get(url, params={"dnc_search": "abc"})
        assert nonsense.status_code == 200 and "international format" in nonsense.text
        removed = await client.post(
            f"{url}/do-not-call/remove",
            data={"csrf_token": csrf_of(client), "number": "+390212345678"},
        )
        assert removed.status_code == 303
        listed = (await client.get("/api/do-not-call")).json()["entries"]
        assert listed == []
        again = await client.post(
            f"{url}/do-not-call/remove",
            data={"csrf_token": csrf_of(client), "number": "+390212345678"},
        )
        assert again.status_code == 409 and "not on the do-not-call list" in again.text


async def test_live_updates_stop_when_the_campaign_is_over(app: FastAPI) -> None:
    async with await _client(app) as client:
        campaign = await create_campaign(client)
        live = f"/console/campaigns/{campaign['id']}/live"
        running = await client.get(live, headers={"hx-request": "true"})
        assert running.status_code == 200 and 'hx-trigger="every 3s"' in running.text
        await client.post(f"/api/campaigns/{campaign['id']}/cancel")
        over = await client.get(live, headers={"hx-request": "true"})
        assert over.status_code == 286  # htmx stops polling
        assert "hx-trigger" not in over.text


@pytest.mark.parametrize(
    "path",
    [
        "/console/campaigns/99999999999999999999999",
        "/console/campaigns/-1/live",
        "/console/campaigns/abc",
        "/console/campaigns/424242",
        "/console/campaigns/424242/responses.csv",
        "/console?offset=99999999999999999999",
    ],
)
async def test_odd_paths_get_a_4xx(app: FastAPI, path: str) -> None:
    async with await _client(app) as client:
        answer = await client.get(path)
        assert 400 <= answer.status_code < 500, (path, answer.status_code)


async def test_a_campaign_with_a_results_webhook_shows_its_deliveries(
    app: FastAPI, make_settings: Callable[..., Settings]
) -> None:
    async with await _client(app) as client:
        plain = await create_campaign(client)
        hooked = await create_campaign(client, results_webhook_url="https://results.example/in")
        without = (await client.get(f"/console/campaigns/{plain['id']}/live")).text
        assert 'id="deliveries"' not in without
        held = (await client.get(f"/console/campaigns/{hooked['id']}/live")).text
        assert 'id="deliveries"' in held and "Delivered <strong>0</strong>" in held
        assert "Nothing is sent" in held and "RESULTS_WEBHOOK_SECRET" in held

    signing = create_app(make_settings(results_webhook_secret="s" * 32))
    async with signing.router.lifespan_context(signing), await _client(signing) as client:
        page = (await client.get(f"/console/campaigns/{hooked['id']}/live")).text
        assert 'id="deliveries"' in page and "Nothing is sent" not in page
