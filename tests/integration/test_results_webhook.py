"""Results out: each contact whose interview is over gets one outbox row in the transaction that
ends it, whatever ends it; the deliverer POSTs it, signed, to a real receiver on 127.0.0.1 until
that receiver answers 2xx; the campaign's deliveries show through the API and the metrics."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.deliveries.backoff import Backoff
from app.deliveries.deliverer import Deliverer, DeliveryPolicy
from app.main import create_app
from app.scheduler.tick import run_tick
from app.telephony.mock import MockProvider
from tests.integration.test_dispatch import make_ctx
from tests.support.factories import call_window, campaign_document, csv_body
from tests.support.receiver import FAIL, HANG, OK, Receiver
from tests.support.seed import fetch_all
from tests.support.voice import Conversation

Sessions = async_sessionmaker[AsyncSession]
SECRET = "results-secret-shared-with-the-team"
ALL_DAY = call_window(
    start="00:00", end="23:59:59", days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
)
# Short times, so that a failing and a hanging receiver are both met within a second or two.
FAST = DeliveryPolicy(
    secret=SECRET.encode(),
    timeout_seconds=0.5,
    idle_seconds=0.05,
    lease_margin_seconds=1.0,
    backoff=Backoff(first_seconds=0.2, cap_seconds=1.0),
    pending_every_seconds=0.1,
)


def number(n: int) -> str:
    return f"+3902123450{n:02d}"


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(results_webhook_secret=SECRET)


# --- driving campaigns and calls -----------------------------------------------------------------


async def new_campaign(client: httpx.AsyncClient, **document: Any) -> int:
    values: dict[str, Any] = {
        "call_window": ALL_DAY,
        "max_attempts": 1,
        "retry_after_minutes": [0],
        **document,
    }
    response = await client.post("/api/campaigns", json=campaign_document(**values))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def add_contacts(client: httpx.AsyncClient, campaign_id: int, *numbers: str) -> None:
    rows = [[n, f"CRM-{n[-2:]}"] for n in numbers]
    response = await client.post(
        f"/api/campaigns/{campaign_id}/contacts",
        content=csv_body(["phone_number", "external_id"], *rows).encode(),
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 200 and response.json()["rejected"] == [], response.text


async def start(client: httpx.AsyncClient, campaign_id: int) -> None:
    assert (await client.post(f"/api/campaigns/{campaign_id}/start")).status_code == 200


async def dispatch(sessions: Sessions) -> dict[str, int]:
    """One tick; the open attempt of each number called."""
    await run_tick(make_ctx(sessions, MockProvider()))
    rows = await fetch_all(
        sessions,
        "SELECT c.phone_number, a.id FROM call_attempts a JOIN contacts c ON c.id = a.contact_id "
        "WHERE a.ended_at IS NULL",
    )
    return {row.phone_number: row.id for row in rows}


async def end_call(client: httpx.AsyncClient, attempt_id: int, status: str = "completed") -> None:
    body: dict[str, Any] = {"status": status, "sequence_number": 9}
    if status == "completed":
        body["duration"] = 60
    response = await client.post(f"/webhooks/telephony/events?attempt_id={attempt_id}", json=body)
    assert response.status_code == 204


async def complete(client: httpx.AsyncClient, attempt_id: int) -> None:
    conv = Conversation(client, attempt_id)
    await conv.answer_call()
    await conv.say("sì, va bene")
    await conv.say("otto")
    await conv.press("#")  # skips "Ci consiglierebbe?"
    await conv.say("la seconda")
    assert (await conv.say("più personale nei negozi")).hangs_up
    await end_call(client, attempt_id)


async def refuse(client: httpx.AsyncClient, attempt_id: int) -> None:
    conv = Conversation(client, attempt_id)
    await conv.answer_call()
    assert (await conv.say("no")).hangs_up
    await end_call(client, attempt_id)


async def hang_up_after_one_answer(client: httpx.AsyncClient, attempt_id: int) -> None:
    conv = Conversation(client, attempt_id)
    await conv.answer_call()
    await conv.say("sì")
    await conv.say("sette")
    await end_call(client, attempt_id)


async def outbox(sessions: Sessions) -> dict[str, int]:
    """Phone number → its delivery rows (to see that each is written once)."""
    rows = await fetch_all(
        sessions,
        "SELECT c.phone_number, count(*) AS rows FROM result_deliveries d "
        "JOIN contacts c ON c.id = d.contact_id GROUP BY c.phone_number",
    )
    return {row.phone_number: row.rows for row in rows}


async def contact_ids(sessions: Sessions, campaign_id: int) -> dict[str, int]:
    rows = await fetch_all(
        sessions, "SELECT phone_number, id FROM contacts WHERE campaign_id = :c", c=campaign_id
    )
    return {row.phone_number: row.id for row in rows}


@contextlib.asynccontextmanager
async def delivering(sessions: Sessions, policy: DeliveryPolicy = FAST) -> AsyncIterator[None]:
    """The deliverer as the leader runs it: a task of its own, cancelled at the end."""
    task = asyncio.create_task(Deliverer(sessions, policy).run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 15) -> None:
    try:
        async with asyncio.timeout(seconds):
            while True:
                if await check():
                    return
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def summary(client: httpx.AsyncClient, campaign_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/campaigns/{campaign_id}/deliveries")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def delivered() -> float:
    return REGISTRY.get_sample_value("voicesurvey_results_delivered_total") or 0.0


# --- every way an interview ends writes its delivery ------------------------------------------


async def test_each_way_a_contact_ends_writes_one_delivery_in_its_transaction(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    with_url = await new_campaign(client, results_webhook_url="https://crm.example.com/hook")
    without = await new_campaign(client, name="no webhook")
    await add_contacts(client, with_url, number(1))
    await add_contacts(client, without, number(5))
    await start(client, with_url)
    await start(client, without)
    calls = await dispatch(sessions)  # number 1 here, number 5 in the other campaign
    listed = await client.post("/api/do-not-call", json={"numbers": [number(2)]})
    assert listed.status_code == 200
    await add_contacts(client, with_url, number(2), number(3), number(4), number(5), number(6))
    ids = await contact_ids(sessions, with_url)  # before the erasure takes a number away

    await end_call(client, calls[number(1)], "no-answer")  # closing an attempt
    # number 2 was imported listed; number 3 is listed by a do-not-call load
    assert (await client.post("/api/do-not-call", json={"numbers": [number(3)]})).status_code == 200
    assert (await client.delete(f"/api/contacts/by-phone/{number(4)}")).status_code == 200
    conv = Conversation(client, calls[number(5)])  # an opt-out in the other campaign
    await conv.answer_call()
    await conv.say("sì")
    await conv.say("non chiamatemi più")
    await end_call(client, calls[number(5)])

    states = await fetch_all(
        sessions, "SELECT id, state FROM contacts WHERE campaign_id = :c", c=with_url
    )
    assert {s.id: s.state for s in states} == {
        ids[number(1)]: "not_reached",
        ids[number(2)]: "do_not_call",
        ids[number(3)]: "do_not_call",
        ids[number(4)]: "do_not_call",
        ids[number(5)]: "do_not_call",
        ids[number(6)]: "pending",
    }
    rows = await fetch_all(sessions, "SELECT campaign_id, contact_id FROM result_deliveries")
    # One each, in the campaign with a URL only; the pending contact has none yet.
    assert sorted((r.campaign_id, r.contact_id) for r in rows) == sorted(
        (with_url, ids[number(n)]) for n in (1, 2, 3, 4, 5)
    )


async def test_a_final_state_rolled_back_leaves_no_delivery(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await new_campaign(client, results_webhook_url="https://crm.example.com/hook")
    await add_contacts(client, campaign_id, number(1))
    move = text("UPDATE contacts SET state = 'refused' WHERE phone_number = :n")

    async with sessions() as session:
        await session.execute(move, {"n": number(1)})
        inside = (await session.execute(text("SELECT count(*) FROM result_deliveries"))).scalar()
        await session.rollback()

    assert inside == 1  # written by the same statement, in the same transaction...
    assert await outbox(sessions) == {}  # ...and gone with it


async def test_the_last_date_over_delivers_the_contacts_it_closes(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await new_campaign(
        client,
        results_webhook_url="https://crm.example.com/hook",
        not_before="2020-01-01",
        not_after="2020-01-31",
    )
    await add_contacts(client, campaign_id, number(1), number(2))
    await start(client, campaign_id)

    await run_tick(make_ctx(sessions, MockProvider()))  # closes them, then completes the campaign

    status = await fetch_all(sessions, "SELECT status FROM campaigns")
    assert status[0].status == "completed"
    assert await outbox(sessions) == {number(1): 1, number(2): 1}


# --- delivery ----------------------------------------------------------------------------------


async def finish_four_interviews(client: httpx.AsyncClient, sessions: Sessions, url: str) -> int:
    campaign_id = await new_campaign(client, results_webhook_url=url)
    await add_contacts(client, campaign_id, *(number(n) for n in (1, 2, 3, 4)))
    await start(client, campaign_id)
    calls = await dispatch(sessions)
    await complete(client, calls[number(1)])
    await refuse(client, calls[number(2)])
    await hang_up_after_one_answer(client, calls[number(3)])  # no attempt left: partial
    await end_call(client, calls[number(4)], "no-answer")
    return campaign_id


async def test_every_interview_arrives_signed_past_a_failing_then_hanging_receiver(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    receiver = Receiver(mode=FAIL, hang_seconds=1.5)
    before = delivered()
    with receiver.running() as url:
        campaign_id = await finish_four_interviews(client, sessions, url)
        ids = await contact_ids(sessions, campaign_id)
        keys = {f"{campaign_id}-{ids[number(n)]}" for n in (1, 2, 3, 4)}
        async with delivering(sessions):

            async def failing(count: int, error: str) -> bool:
                now = await summary(client, campaign_id)
                return now["failing"] == count and (now["last_error"] or "").startswith(error)

            await until(lambda: failing(4, "HTTP 500"), "every delivery to fail once")
            down = await summary(client, campaign_id)
            receiver.mode = HANG
            await until(lambda: failing(4, "no answer within 0.5 s"), "sends to time out")
            receiver.mode = OK

            async def all_delivered() -> bool:
                return (await summary(client, campaign_id))["delivered"] == 4

            await until(all_delivered, "every interview to be delivered")
            final = await summary(client, campaign_id)
        export = (await client.get(f"/api/campaigns/{campaign_id}/responses")).json()

    assert (down["pending"], down["failing"], down["delivered"]) == (0, 4, 0)
    assert down["last_delivered_at"] is None and down["held"] is None
    assert (final["pending"], final["failing"], final["delivered"]) == (0, 0, 4)
    assert final["last_error"].startswith("no answer within") and final["last_delivered_at"]
    assert final["results_webhook_url"] == url
    assert delivered() - before == 4
    requests = receiver.requests
    assert receiver.keys(OK) == keys  # every interview arrived, acknowledged
    assert receiver.keys(FAIL) == keys and receiver.keys(HANG) <= keys  # after failures
    for request in requests:
        assert request.verifies(SECRET.encode()), request
        assert request.content_type == "application/json"
        assert json.loads(request.body)["delivery_id"] == request.key
    attempts = [int(r.attempt or 0) for r in requests if r.key == f"{campaign_id}-{ids[number(1)]}"]
    assert attempts == sorted(attempts) and attempts[0] == 1 and len(attempts) >= 3
    bodies = {r.key: json.loads(r.body) for r in requests if r.behaviour == OK}
    check_bodies(bodies, campaign_id, ids, export)


def check_bodies(
    bodies: dict[str | None, dict[str, Any]],
    campaign_id: int,
    ids: dict[str, int],
    export: dict[str, Any],
) -> None:
    by_number = {n: bodies[f"{campaign_id}-{ids[n]}"] for n in ids}
    assert {n: b["state"] for n, b in by_number.items()} == {
        number(1): "completed",
        number(2): "refused",
        number(3): "partial",
        number(4): "not_reached",
    }
    assert {n: b["disposition"] for n, b in by_number.items()} == {
        number(1): "1.1",  # complete
        number(2): "2.11",  # refusal
        number(3): "2.12",  # break-off: one question of four
        number(4): "3.13",  # no answer
    }
    done = by_number[number(1)]
    assert done["external_id"] == "CRM-01" and done["campaign_name"] == "Soddisfazione clienti Q4"
    assert (done["attempts"], done["language"], done["interview_completed"]) == (1, "it-IT", True)
    # The answers are the export's: each question's value and skip column.
    row = next(r for r in export["items"] if r["contact_id"] == ids[number(1)])
    assert done["response_id"] == row["response_id"]
    for column in export["questions"]:
        answer = done["answers"][column["id"]]
        assert answer == {"value": row[column["column"]], "skipped": row[column["skipped_column"]]}
    assert done["answers"]["satisfaction"]["value"] == 8
    assert done["answers"]["recommend"]["skipped"] == "skipped_by_respondent"
    assert by_number[number(3)]["answers"]["recommend"]["skipped"] == "not_asked"
    assert by_number[number(4)]["answers"] == {}
    assert all(b["completed_at"] and not b["erased"] for b in by_number.values())


async def test_a_person_erased_before_delivery_is_sent_without_their_data(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    receiver = Receiver()
    with receiver.running() as url:
        campaign_id = await new_campaign(client, results_webhook_url=url)
        await add_contacts(client, campaign_id, number(1))
        await start(client, campaign_id)
        await complete(client, (await dispatch(sessions))[number(1)])
        assert (await client.delete(f"/api/contacts/by-phone/{number(1)}")).status_code == 200
        async with delivering(sessions):
            await until(lambda: _received(receiver, 1), "the delivery")

    [request] = receiver.requests
    body = json.loads(request.body)
    assert body["erased"] is True and body["state"] == "completed" and body["disposition"] == "1.1"
    assert body["answers"] == {} and body["external_id"] is None and body["language"] is None
    for personal in (b"CRM-01", b"negozi", b"12345001", b"otto"):
        assert personal not in request.body


async def _received(receiver: Receiver, count: int) -> bool:
    return len(receiver.keys(OK)) >= count


async def test_a_cancel_delivers_the_called_contacts_it_leaves_once_their_calls_end(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    receiver = Receiver()
    with receiver.running() as url:
        campaign_id = await new_campaign(client, results_webhook_url=url, max_attempts=2)
        await add_contacts(client, campaign_id, number(1), number(2))
        await start(client, campaign_id)
        calls = await dispatch(sessions)
        await end_call(client, calls[number(1)], "busy")  # called, pending a retry
        conv = Conversation(client, calls[number(2)])
        await conv.answer_call()  # number 2 is in a call...
        await add_contacts(client, campaign_id, number(3))  # ...number 3 never called
        assert (await client.post(f"/api/campaigns/{campaign_id}/cancel")).status_code == 200
        ids = await contact_ids(sessions, campaign_id)

        async with delivering(sessions):
            await until(lambda: _received(receiver, 1), "the contact left pending")
            await asyncio.sleep(0.3)  # several steps of the deliverer
            assert receiver.keys() == {f"{campaign_id}-{ids[number(1)]}"}  # not the call
            await conv.say("sì")
            await conv.say("non chiamatemi più")
            await end_call(client, calls[number(2)])
            await until(lambda: _received(receiver, 2), "the contact whose call ended")
            final = await summary(client, campaign_id)

    bodies = {json.loads(r.body)["contact_id"]: json.loads(r.body) for r in receiver.requests}
    assert set(bodies) == {ids[number(1)], ids[number(2)]}
    left = bodies[ids[number(1)]]
    assert (left["state"], left["campaign_status"], left["last_outcome"]) == (
        "pending",
        "cancelled",
        "busy",
    )
    assert left["disposition"] == "3.12"  # always busy
    assert bodies[ids[number(2)]]["state"] == "do_not_call"
    assert (final["delivered"], final["pending"], final["failing"]) == (2, 0, 0)


async def test_without_a_secret_nothing_is_sent_and_the_api_says_why(
    make_settings: Callable[..., Settings],
    sessions: Sessions,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver = Receiver()
    application = create_app(make_settings())  # RESULTS_WEBHOOK_SECRET unset
    transport = httpx.ASGITransport(app=application)
    with receiver.running() as url:
        async with (
            application.router.lifespan_context(application),
            httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8880") as client,
        ):
            campaign_id = await new_campaign(client, results_webhook_url=url)
            await add_contacts(client, campaign_id, number(1))
            await start(client, campaign_id)
            await refuse(client, (await dispatch(sessions))[number(1)])
            unsigned = DeliveryPolicy(secret=None, pending_every_seconds=0.05)
            async with delivering(sessions, unsigned):
                await asyncio.sleep(0.5)
            held = await summary(client, campaign_id)

    assert receiver.requests == []
    assert (held["pending"], held["delivered"]) == (1, 0)
    assert "RESULTS_WEBHOOK_SECRET is not set" in held["held"]
    waiting = [r for r in caplog.records if "results waiting, none sent" in r.getMessage()]
    assert len(waiting) == 1  # said once, not at every count


async def test_an_unknown_campaign_has_no_deliveries(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/campaigns/999/deliveries")

    assert response.status_code == 404
    assert response.json() == {"detail": "campaign 999 not found"}


async def test_a_campaign_without_a_webhook_reports_nothing_to_send(
    client: httpx.AsyncClient,
) -> None:
    campaign_id = await new_campaign(client)

    body = await summary(client, campaign_id)

    assert body["results_webhook_url"] is None and body["held"] is None
    assert (body["pending"], body["failing"], body["delivered"]) == (0, 0, 0)
    campaign = (await client.get(f"/api/campaigns/{campaign_id}")).json()
    assert campaign["results_webhook_url"] is None


async def test_the_campaign_shows_its_webhook(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await new_campaign(client, results_webhook_url="https://crm.example.com/h?q=1")

    campaign = (await client.get(f"/api/campaigns/{campaign_id}")).json()
    stored = await fetch_all(sessions, "SELECT results_webhook_url FROM campaigns")

    assert campaign["results_webhook_url"] == "https://crm.example.com/h?q=1"
    assert campaign["definition"]["results_webhook_url"] == "https://crm.example.com/h?q=1"
    assert stored[0].results_webhook_url == "https://crm.example.com/h?q=1"
