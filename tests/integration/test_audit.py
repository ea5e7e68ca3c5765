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

from tests.integration.test_followups import campaign_with, dial, hang_up
from tests.support.cli import Invoke
from tests.support.seed import fetch_all

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
