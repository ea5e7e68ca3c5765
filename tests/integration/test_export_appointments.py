"""The responses export shows a contact who booked an appointment before any interview ("not
now, call me tomorrow at six" at the consent prompt): a row with the time asked for and no
answer, in JSON and CSV, until an interview takes its place."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.integration.test_followups import campaign_with, dial, hang_up
from tests.support.seed import execute, fetch_all

Sessions = async_sessionmaker[AsyncSession]
BOOKER = "+390212345678"
RESPONDENT = "+390212345679"
QUESTIONS = ("satisfaction", "recommend", "channel", "comment")


async def one_appointment_one_interview(client: httpx.AsyncClient, sessions: Sessions) -> int:
    """The booker asks to be called tomorrow at 18 at the consent prompt; the other one takes
    the whole survey."""
    campaign = await campaign_with(client, [BOOKER, RESPONDENT])
    calls = await dial(client, sessions)
    by_number = await numbers_of(sessions, [c.attempt_id for c in calls])
    for call in calls:
        await call.answer_call()
        if by_number[call.attempt_id] == BOOKER:
            goodbye = await call.say("adesso non posso, mi richiami domani alle 18")
            assert goodbye.hangs_up
        else:
            for said in ("sì", "nove", "sì", "email", "niente da aggiungere"):
                await call.say(said)
        await hang_up(client, call, duration=10)
    return int(campaign["id"])


async def numbers_of(sessions: Sessions, attempt_ids: list[int]) -> dict[int, str]:
    rows = await fetch_all(
        sessions,
        "SELECT a.id, c.phone_number FROM call_attempts a JOIN contacts c ON c.id = a.contact_id"
        " WHERE a.id = ANY(:ids)",
        ids=attempt_ids,
    )
    return {r.id: r.phone_number for r in rows}


async def booked(sessions: Sessions) -> Any:
    [row] = await fetch_all(
        sessions,
        "SELECT c.id AS contact_id, a.callback_at FROM call_attempts a"
        " JOIN contacts c ON c.id = a.contact_id WHERE c.phone_number = :n",
        n=BOOKER,
    )
    return row


def csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


async def test_an_appointment_at_the_consent_prompt_is_a_row_in_json_and_csv(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await one_appointment_one_interview(client, sessions)
    appointment = await booked(sessions)
    assert appointment.callback_at is not None
    assert not await fetch_all(
        sessions, "SELECT 1 FROM survey_responses WHERE contact_id = :id", id=appointment.contact_id
    )  # no consent: no response

    body = (await client.get(f"/api/campaigns/{campaign_id}/responses")).json()
    rows = csv_rows(await client.get(f"/api/campaigns/{campaign_id}/responses?format=csv"))

    assert body["total"] == 2 and len(body["items"]) == 2
    interview, row = body["items"]  # the interviews first, then the appointments
    assert (interview["row_type"], interview["satisfaction"]) == ("interview", 9)
    assert interview["response_id"] is not None and interview["callback_at"] is None
    assert row["row_type"] == "appointment" and row["contact_id"] == appointment.contact_id
    assert datetime.fromisoformat(row["callback_at"]) == appointment.callback_at
    assert (row["response_id"], row["completed"], row["attempt_number"]) == (None, False, 1)
    assert row["disposition"] == "2.21"  # never available: not an interview broken off
    assert row["phone_number_masked"] == "*********678"
    assert all((row[q], row[f"{q}_skipped"]) == (None, "not_asked") for q in QUESTIONS)

    assert [r["row_type"] for r in rows] == ["interview", "appointment"]
    cells = rows[1]
    assert cells["contact_id"] == str(appointment.contact_id)
    assert datetime.fromisoformat(cells["callback_at"]) == appointment.callback_at
    assert (cells["response_id"], cells["completed"], cells["satisfaction"]) == ("", "false", "")
    assert cells["satisfaction_skipped"] == "not_asked"


async def test_the_interview_that_keeps_the_appointment_takes_its_row(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await one_appointment_one_interview(client, sessions)
    appointment = await booked(sessions)
    await execute(
        sessions,
        "UPDATE contacts SET next_attempt_at = now() - interval '1 minute' WHERE id = :id",
        id=appointment.contact_id,
    )
    (kept,) = await dial(client, sessions)
    await kept.answer_call()
    await kept.say("sì")
    await kept.say("sette")
    await hang_up(client, kept, duration=30)

    body = (await client.get(f"/api/campaigns/{campaign_id}/responses")).json()
    rows = csv_rows(await client.get(f"/api/campaigns/{campaign_id}/responses?format=csv"))

    assert body["total"] == 2  # one row per contact: the interview, no appointment row left
    mine = [i for i in body["items"] if i["contact_id"] == appointment.contact_id]
    assert [(i["row_type"], i["satisfaction"], i["attempt_number"]) for i in mine] == [
        ("interview", 7, 2)
    ]
    assert [r["row_type"] for r in rows] == ["interview", "interview"]


async def test_an_appointment_the_campaign_ended_before_keeping_stays_in_the_export(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = await one_appointment_one_interview(client, sessions)
    appointment = await booked(sessions)
    # As the campaign's last date closes a pending contact (scheduler/ending.py).
    await execute(
        sessions,
        "UPDATE contacts SET state = 'not_reached', last_outcome = 'campaign_ended',"
        " appointment_at = NULL, dial_rank = 1 WHERE id = :id",
        id=appointment.contact_id,
    )

    body = (await client.get(f"/api/campaigns/{campaign_id}/responses?offset=1")).json()

    assert body["total"] == 2
    [row] = body["items"]
    assert (row["row_type"], row["contact_id"]) == ("appointment", appointment.contact_id)
    assert datetime.fromisoformat(row["callback_at"]) == appointment.callback_at
