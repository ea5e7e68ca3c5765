"""Erasure on request: a person leaves no trace, the figures stay, the number is never called."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.scheduler.dispatch import claim
from app.suppression.erasure import _SCRUB_UNLINKED_EVENTS, PROVIDER_NUMBER_KEYS
from app.suppression.numbers import listed_hash
from tests.integration.test_inbound import (
    CALLER_ID,
    EVENTS,
    INBOUND,
    PUBLIC,
    post_form,
    signature,
    twilio_client,  # noqa: F401 (a fixture)
)
from tests.support.cli import Invoke
from tests.support.factories import create_campaign, csv_body, import_csv
from tests.support.seed import execute, fetch_all, seed_campaign

Sessions = async_sessionmaker[AsyncSession]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ANNA = "+393331234567"
BRUNO = "+393339876543"
NOBODY = "+393330000000"
# What must not survive anywhere: her number (as digits), name, id, attributes, her own words.
TRACES = ("3331234567", "Anna", "Rossi", "ANNA-1", "Milano", "chiamatemi")


def answer(value: Any, raw: str) -> dict[str, Any]:
    return {"value": value, "raw": raw, "confidence": 0.9, "skipped": None}


async def seed_person(sessions: Sessions, campaign_id: int, ext: str, number: str) -> None:
    """One completed call with everything a call leaves behind, written straight in."""
    params = {"cid": campaign_id, "ext": ext}
    name = "Anna Rossi" if number == ANNA else "Bruno Bianchi"
    words = f"chiamatemi {name} al {number[3:]}" if number == ANNA else "più personale"
    state = {"engine": {"answers": [{"question_id": "comment", "raw": words}]}, "says": [name]}
    await execute(
        sessions,
        """
        INSERT INTO call_attempts (contact_id, campaign_id, attempt_number, status, outcome,
            started_at, answered_at, ended_at, last_event_at, provider_call_id, dialogue_state,
            error)
        SELECT id, campaign_id, 1, 'completed', 'completed', now() - interval '1 hour',
               now() - interval '59 minutes', now() - interval '50 minutes',
               now() - interval '50 minutes', 'CA' || id, CAST(:state AS jsonb), :error
        FROM contacts WHERE campaign_id = :cid AND external_id = :ext
        """,
        state=json.dumps(state),
        error=f"Twilio 21211: the number {number} could not be reached once",
        **params,
    )
    answers = {
        "satisfaction": answer(8, "otto"),
        "recommend": answer(True, f"sì sono io {name}"),
        "channel": answer("email", "per email"),
        "comment": answer(words, words),
    }
    await execute(
        sessions,
        """
        INSERT INTO survey_responses (call_attempt_id, contact_id, campaign_id, answers, completed)
        SELECT a.id, a.contact_id, a.campaign_id, CAST(:answers AS jsonb), true
        FROM call_attempts a JOIN contacts c ON c.id = a.contact_id
        WHERE c.campaign_id = :cid AND c.external_id = :ext
        """,
        answers=json.dumps(answers),
        **params,
    )
    await execute(
        sessions,
        """
        INSERT INTO telephony_events (call_attempt_id, provider, provider_call_id, kind, status,
                                      dedupe_key, payload)
        SELECT a.id, 'twilio', a.provider_call_id, 'status', 'completed', 'k' || a.id,
               CAST(:payload AS jsonb)
        FROM call_attempts a JOIN contacts c ON c.id = a.contact_id
        WHERE c.campaign_id = :cid AND c.external_id = :ext
        """,
        payload=json.dumps({"To": number, "SpeechResult": words}),
        **params,
    )
    await execute(
        sessions,
        """
        INSERT INTO contact_events (contact_id, campaign_id, call_attempt_id, kind, detail)
        SELECT a.contact_id, a.campaign_id, a.id, kind, CAST(detail AS jsonb)
        FROM call_attempts a JOIN contacts c ON c.id = a.contact_id,
             (VALUES ('consent', :consent), ('note', :note)) AS e(kind, detail)
        WHERE c.campaign_id = :cid AND c.external_id = :ext
        """,
        consent=json.dumps({"said": f"sì sono io {name}", "confidence": 0.92}),
        note=json.dumps({"remark": f"asked to be called on {number[3:]}", "window": "09-20"}),
        **params,
    )
    await execute(
        sessions,
        "UPDATE contacts SET state = 'completed', attempts_count = 1"
        " WHERE campaign_id = :cid AND external_id = :ext",
        **params,
    )


async def two_campaigns(client: httpx.AsyncClient, sessions: Sessions) -> list[int]:
    """Anna and Bruno answered the survey of two campaigns."""
    ids = []
    for _ in range(2):
        campaign_id = (await create_campaign(client))["id"]
        rows = [[ANNA, "Anna Rossi", "ANNA-1", "Milano"], [BRUNO, "Bruno Bianchi", "B-2", "Roma"]]
        contacts = csv_body(["phone_number", "name", "external_id", "city"], *rows)
        assert (await import_csv(client, campaign_id, contacts)).json()["imported"] == 2
        await seed_person(sessions, campaign_id, "ANNA-1", ANNA)
        await seed_person(sessions, campaign_id, "B-2", BRUNO)
        ids.append(campaign_id)
    return ids


async def traces_left(sessions: Sessions) -> list[str]:
    """Every text, jsonb and array column of every table that still holds one of TRACES."""
    columns = await fetch_all(
        sessions,
        """
        SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = 'public'
          AND data_type IN ('text', 'jsonb', 'json', 'ARRAY', 'character varying')
        """,
    )
    patterns = [f"%{trace}%" for trace in TRACES]
    found = []
    async with sessions() as session:
        for table, column in columns:
            hits = await session.scalar(
                text(
                    f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS text) ILIKE ANY(:p)'
                ),
                {"p": patterns},
            )
            if hits:
                found.append(f"{table}.{column}")
    return found


async def stats(client: httpx.AsyncClient, campaign_id: int) -> Any:
    response = await client.get(f"/api/campaigns/{campaign_id}/stats")
    assert response.status_code == 200
    return response.json()


async def test_forgetting_leaves_no_trace_and_keeps_the_figures(
    client: httpx.AsyncClient, sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    campaigns = await two_campaigns(client, sessions)
    before = [await stats(client, cid) for cid in campaigns]
    assert await traces_left(sessions)  # the check finds what is there

    with caplog.at_level(logging.INFO, logger="app.suppression"):
        response = await client.delete(f"/api/contacts/by-phone/{ANNA}")

    assert response.status_code == 200, response.text
    assert response.json() == {"contacts_erased": 2, "campaigns": 2, "already_forgotten": False}
    assert await traces_left(sessions) == []
    assert [await stats(client, cid) for cid in campaigns] == before
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "+39*******567" in logged and "3331234567" not in logged


async def test_closed_answers_stay_and_bruno_is_untouched(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await two_campaigns(client, sessions)

    await client.delete(f"/api/contacts/by-phone/{ANNA}")

    rows = await fetch_all(
        sessions,
        "SELECT c.phone_number, c.name, c.erased_at IS NOT NULL AS erased, c.state, r.answers"
        " FROM contacts c JOIN survey_responses r ON r.contact_id = c.id ORDER BY c.id",
    )
    anna = [r for r in rows if r.erased]
    bruno = [r for r in rows if not r.erased]
    assert len(anna) == len(bruno) == 2
    for row in anna:
        assert row.phone_number.startswith("erased:") and row.name is None
        assert row.state == "completed"
        values = {q: a["value"] for q, a in row.answers.items()}
        assert values == {"satisfaction": 8, "recommend": True, "channel": "email", "comment": None}
        assert {a["raw"] for a in row.answers.values()} == {""}
    for row in bruno:
        assert (row.phone_number, row.name) == (BRUNO, "Bruno Bianchi")
        assert row.answers["comment"]["value"] == "più personale"


async def test_the_number_is_listed_by_its_hash_and_audited(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await two_campaigns(client, sessions)
    await execute(
        sessions,
        "INSERT INTO do_not_call (phone_number, reason) VALUES (:n, 'opted out')",
        n=ANNA,
    )

    await client.delete(f"/api/contacts/by-phone/{ANNA}")

    entries = await fetch_all(sessions, "SELECT phone_number, source FROM do_not_call")
    assert [tuple(e) for e in entries] == [(listed_hash(ANNA), "erasure")]
    events = await fetch_all(
        sessions, "SELECT contact_id, detail FROM contact_events WHERE kind = 'erased'"
    )
    assert len(events) == 2 and all(e.detail == {"reason": "request"} for e in events)
    notes = await fetch_all(
        sessions,
        "SELECT e.detail FROM contact_events e JOIN contacts c ON c.id = e.contact_id"
        " WHERE c.erased_at IS NOT NULL AND e.kind <> 'erased' ORDER BY e.id",
    )
    assert [n.detail for n in notes] == [{"confidence": 0.92}, {"scrubbed": True}] * 2


async def test_a_forgotten_number_is_never_dialled_again(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await two_campaigns(client, sessions)
    await client.delete(f"/api/contacts/by-phone/{ANNA}")
    running = await seed_campaign(sessions, contacts=1)
    # Imported again: marked do-not-call. Put back by hand: the claim still refuses it.
    draft = (await create_campaign(client))["id"]
    reimported = await import_csv(client, draft, csv_body(["phone_number"], [ANNA]))
    await execute(
        sessions,
        "INSERT INTO contacts (campaign_id, phone_number, timezone, next_attempt_at)"
        " VALUES (:cid, :n, 'UTC', now() - interval '1 minute')",
        cid=running,
        n=ANNA,
    )

    async with sessions() as session, session.begin():
        now = await session.scalar(text("SELECT now()"))
        claimed, _ = await claim(session, running, now=now, limit=10, ring_timeout_seconds=30)

    assert reimported.json()["do_not_call"] == 1
    assert [c.phone_number for c in claimed] == ["+393000000001"]


async def test_forgetting_twice_is_fine_and_an_unknown_number_is_listed_by_its_hash(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await two_campaigns(client, sessions)
    await client.delete(f"/api/contacts/by-phone/{ANNA}")

    again = await client.delete(f"/api/contacts/by-phone/{ANNA}")
    unknown = await client.delete(f"/api/contacts/by-phone/{NOBODY}")
    nonsense = await client.delete("/api/contacts/by-phone/erased:1")

    assert again.status_code == 200
    assert again.json() == {"contacts_erased": 0, "campaigns": 0, "already_forgotten": True}
    assert unknown.status_code == 200, unknown.text
    assert unknown.json() == {"contacts_erased": 0, "campaigns": 0, "already_forgotten": False}
    assert nonsense.status_code == 422
    entries = await fetch_all(sessions, "SELECT phone_number, source FROM do_not_call")
    assert (listed_hash(NOBODY), "erasure") in [tuple(e) for e in entries]
    assert NOBODY not in [e.phone_number for e in entries]
    # The person asked not to be kept, nor called: a later import of the number is suppressed.
    draft = (await create_campaign(client))["id"]
    imported = await import_csv(client, draft, csv_body(["phone_number"], [NOBODY]))
    assert imported.json()["do_not_call"] == 1
    again = await client.delete(f"/api/contacts/by-phone/{NOBODY}")
    assert again.json()["contacts_erased"] == 1  # the imported row held the number again


async def test_an_inbound_caller_who_pressed_9_is_forgotten_with_the_providers_callbacks(
    twilio_client: httpx.AsyncClient,  # noqa: F811 (the fixture imported above)
    sessions: Sessions,
) -> None:
    """Not a contact: Anna called the campaign's number, heard who calls, pressed 9 and hung
    up. Twilio's status callback of her call matches no attempt, and holds her number."""
    call = {"CallSid": "CA" + "a" * 32, "From": ANNA, "To": CALLER_ID}
    inbound = PUBLIC + INBOUND
    nine = {**call, "Digits": "9"}
    status = {**call, "Caller": ANNA, "Called": CALLER_ID, "CallStatus": "completed",
              "CallDuration": "12", "FromCity": "MILANO"}  # fmt: skip
    other = {
        **status,
        "CallSid": "CA" + "b" * 32,
        "From": BRUNO,
        "Caller": BRUNO,
        "FromCity": "ROMA",
    }
    assert (await post_form(twilio_client, INBOUND, call, signature(inbound, call))).is_success
    listed = await post_form(
        twilio_client, f"{INBOUND}?prompt=nine", nine, signature(f"{inbound}?prompt=nine", nine)
    )
    assert listed.is_success
    for callback in (status, other):
        sent = await post_form(
            twilio_client, EVENTS, callback, signature(PUBLIC + EVENTS, callback)
        )
        assert sent.status_code == 204
    assert sorted(await traces_left(sessions)) == [
        "do_not_call.phone_number",
        "telephony_events.payload",
    ]

    response = await twilio_client.delete(f"/api/contacts/by-phone/{ANNA}")

    assert response.status_code == 200, response.text
    assert response.json() == {"contacts_erased": 0, "campaigns": 0, "already_forgotten": False}
    assert await traces_left(sessions) == []
    entries = await fetch_all(sessions, "SELECT phone_number FROM do_not_call")
    assert [e.phone_number for e in entries] == [listed_hash(ANNA)]
    events = await fetch_all(
        sessions, "SELECT provider_call_id, payload FROM telephony_events ORDER BY id"
    )
    assert [(e.provider_call_id, e.payload == {}) for e in events] == [
        (call["CallSid"], True),
        (other["CallSid"], False),  # Bruno's call is his own
    ]


async def test_erasure_finds_unlinked_callbacks_through_their_index(sessions: Sessions) -> None:
    """The number's callbacks are probed in the GIN index, not read from the whole table."""
    await execute(
        sessions,
        """
        INSERT INTO telephony_events (provider, provider_call_id, kind, status, dedupe_key,
                                      payload)
        SELECT 'twilio', 'CA' || g, 'status', 'completed', 'k' || g,
               jsonb_build_object('From', '+39333' || (1000000 + g), 'To', CAST(:to AS text))
        FROM generate_series(1, 5000) AS g
        """,
        to=CALLER_ID,
    )
    async with sessions() as session:
        await session.execute(text("ANALYZE telephony_events"))
        plan = "\n".join(
            (
                await session.execute(
                    text("EXPLAIN " + str(_SCRUB_UNLINKED_EVENTS)),
                    {"shapes": [json.dumps({k: ANNA}) for k in PROVIDER_NUMBER_KEYS]},
                )
            ).scalars()
        )
    assert "ix_telephony_events_unlinked_payload" in plan, plan


async def test_a_number_only_on_the_list_is_kept_there_as_a_hash(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await execute(
        sessions, "INSERT INTO do_not_call (phone_number, reason) VALUES (:n, 'x')", n=ANNA
    )

    response = await client.delete(f"/api/contacts/by-phone/{ANNA}")

    assert response.json() == {"contacts_erased": 0, "campaigns": 0, "already_forgotten": False}
    entries = await fetch_all(sessions, "SELECT phone_number FROM do_not_call")
    assert [e.phone_number for e in entries] == [listed_hash(ANNA)]


async def test_a_call_in_progress_is_not_erased_under_it(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    campaign_id = (await create_campaign(client))["id"]
    await import_csv(client, campaign_id, csv_body(["phone_number", "name"], [ANNA, "Anna"]))
    await execute(
        sessions,
        "INSERT INTO call_attempts (contact_id, campaign_id, attempt_number, started_at,"
        " last_event_at) SELECT id, campaign_id, 1, now(), now() FROM contacts",
    )

    response = await client.delete(f"/api/contacts/by-phone/{ANNA}")

    assert response.status_code == 409 and "in progress" in response.json()["detail"]
    rows = await fetch_all(sessions, "SELECT phone_number, name FROM contacts")
    assert [tuple(r) for r in rows] == [(ANNA, "Anna")]


def test_the_command_line_forgets(voicesurvey: Invoke, tmp_path: Path) -> None:
    voicesurvey("campaign", "create", str(EXAMPLES / "campaign-it.yaml"))
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(f"phone_number,name\n{ANNA},Anna\n")
    assert voicesurvey("contacts", "import", "1", str(contacts)).exit_code == 0

    first = voicesurvey("contacts", "forget", "+39 333 123 4567")
    second = voicesurvey("contacts", "forget", ANNA)
    unknown = voicesurvey("contacts", "forget", NOBODY)

    assert first.exit_code == 0, first.stderr
    assert "erased 1 contacts in 1 campaigns" in first.stdout
    assert second.exit_code == 0 and "already forgotten" in second.stdout
    assert unknown.exit_code == 0, unknown.stderr
    assert unknown.stdout.strip().splitlines() == [
        "no contact has this number; it is on the do-not-call list now, as a hash only"
    ]
