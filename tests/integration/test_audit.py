"""The audit trail: why each call was allowed and what the person said yes or no to, per contact,
through the API (JSON and CSV) and the CLI."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.reports.audit import INBOUND_RULE
from tests.integration.test_followups import campaign_with, dial, hang_up
from tests.integration.test_inbound import CONTACT, call_in
from tests.integration.test_inbound import campaign_with as inbound_campaign
from tests.support.cli import Invoke
from tests.support.seed import execute, fetch_all

Sessions = async_sessionmaker[AsyncSession]


async def a_consent_then_an_appointment(client: httpx.AsyncClient, sessions: Sessions) -> int:
    campaign = await campaign_with(client, ["+39 02 1234 5678", "+39 02 1234 5679"])
    first, second = await dial(client, sessions)
    await first.answer_call()
    await first.say("sì, va bene", confidence=0.83)
    await first.say('=HYPERLINK("http://x") mi richiami tra un\'ora')
    await hang_up(client, first, duration=15)
    await second.answer_call()
    await second.say("non chiamatemi più")
    await hang_up(client, second, duration=5)
    return int(campaign["id"])


async def test_the_trail_shows_each_dial_consent_appointment_and_opt_out(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await a_consent_then_an_appointment(client, sessions)
    [contact] = await fetch_all(
        sessions, "SELECT id FROM contacts WHERE phone_number = '+390212345678'"
    )

    response = await client.get(
        f"/api/campaigns/{campaign_id}/audit", params={"contact_id": contact.id}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["truncated"] is False
    events = [row["event"] for row in body["items"]]
    assert events == ["dial", "consent", "appointment"]
    dial_row, consent, appointment = body["items"]
    started = datetime.fromisoformat(dial_row["at"])
    local = started.astimezone(ZoneInfo("Europe/Rome")).strftime("%Y-%m-%d %H:%M")
    assert dial_row["detail"]["local_times"] == {"Europe/Rome": local}
    assert dial_row["detail"]["window_rule"].endswith("local time")
    assert dial_row["detail"]["do_not_call_checked"] is True
    checked = datetime.fromisoformat(dial_row["detail"]["do_not_call_checked_at"])
    assert abs((checked - started).total_seconds()) < 60  # recorded by the claim itself
    assert dial_row["detail"]["outcome"] == "callback_requested"
    assert consent["detail"] == {"said": "sì, va bene", "confidence": 0.83}
    assert consent["attempt_number"] == 1
    assert "richiami" in appointment["detail"]["said"]
    assert appointment["detail"]["zone"] == "Europe/Rome"

    everyone = (await client.get(f"/api/campaigns/{campaign_id}/audit")).json()["items"]
    assert {row["event"] for row in everyone} == {"dial", "consent", "appointment", "opt_out"}


async def test_the_csv_trail_is_defused_and_complete(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await a_consent_then_an_appointment(client, sessions)

    response = await client.get(f"/api/campaigns/{campaign_id}/audit", params={"format": "csv"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["event"] for r in rows].count("dial") == 2
    assert len(rows) == 5  # two dials, a consent, an appointment, an opt-out
    said = next(r for r in rows if r["event"] == "appointment")["detail"]
    assert said.startswith("{") and "HYPERLINK" in said  # JSON text, never a formula


async def test_an_unknown_campaign_is_a_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/campaigns/999/audit")).status_code == 404
    assert (await client.get("/api/campaigns/1/audit?contact_id=0")).status_code == 422


async def test_the_cli_writes_the_same_trail(
    client: httpx.AsyncClient, sessions: Sessions, voicesurvey: Invoke
) -> None:
    campaign_id = await a_consent_then_an_appointment(client, sessions)

    # The CLI runs its own event loop: give it a thread of its own.
    result = await asyncio.to_thread(voicesurvey, "audit", str(campaign_id))

    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    api = (await client.get(f"/api/campaigns/{campaign_id}/audit")).json()["items"]
    assert [(r["contact_id"], r["event"]) for r in rows] == [
        (str(a["contact_id"]), a["event"]) for a in api
    ]
    missing = await asyncio.to_thread(voicesurvey, "audit", "999")
    assert missing.exit_code == 1 and "not found" in missing.stderr
    assert "Traceback" not in missing.stderr


async def test_an_attempt_no_claim_recorded_a_check_for_says_false(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    """An attempt written another way than by a claim (as every attempt made before the check
    was recorded) proves nothing: the trail says the list was not checked."""
    campaign = await campaign_with(client, ["+39 02 1234 5678", "+39 02 1234 5679"])
    await dial(client, sessions)
    await execute(
        sessions,
        "UPDATE call_attempts SET ended_at = now(), status = 'completed', outcome = 'no_answer'",
    )
    await execute(
        sessions,
        """
        INSERT INTO call_attempts (contact_id, campaign_id, attempt_number, status, outcome,
                                   started_at, ended_at, last_event_at)
        SELECT contact_id, campaign_id, 2, 'completed', 'no_answer', now(), now(), now()
        FROM call_attempts
        """,
    )

    items = (await client.get(f"/api/campaigns/{campaign['id']}/audit")).json()["items"]

    checks = sorted(
        (
            row["attempt_number"],
            row["detail"]["do_not_call_checked"],
            row["detail"]["do_not_call_checked_at"] is None,
        )
        for row in items
        if row["event"] == "dial"
    )
    assert checks == [(1, True, False), (1, True, False), (2, False, True), (2, False, True)]


async def test_an_inbound_call_says_it_was_inbound_and_that_the_list_was_checked(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await inbound_campaign(client, [CONTACT])
    reply = await call_in(client, CONTACT)
    assert reply["listen"] is not None  # the contact takes the interview in this call

    [row] = (await client.get(f"/api/campaigns/{campaign_id}/audit")).json()["items"]

    assert row["event"] == "inbound_call"
    assert row["detail"]["window_rule"] == INBOUND_RULE
    assert "no call window applies" in row["detail"]["window_rule"]
    assert row["detail"]["local_times"] == {}  # no window was read: the respondent called
    assert row["detail"]["do_not_call_checked"] is True
    assert row["detail"]["do_not_call_checked_at"] is not None
