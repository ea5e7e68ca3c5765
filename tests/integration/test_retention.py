"""Retention: the leader's tick erases the contacts of campaigns finished long ago, in batches."""

from __future__ import annotations

import dataclasses
import json

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.scheduler.tick import TickContext, run_tick
from app.suppression.retention import RETENTION_BATCH
from app.telephony.mock import MockProvider
from tests.integration.test_dispatch import make_ctx
from tests.support.seed import execute, fetch_all, seed_campaign

Sessions = async_sessionmaker[AsyncSession]

DAYS = 30


async def campaign(
    sessions: Sessions, *, status: str, finished_days_ago: int | None, contacts: int, first: int
) -> int:
    """A campaign whose contacts carry personal data and answered the survey."""
    campaign_id = await seed_campaign(
        sessions, contacts=contacts, status=status, first_number=first
    )
    await execute(
        sessions,
        "UPDATE campaigns SET finished_at = now() - make_interval(days => :days) WHERE id = :id",
        days=finished_days_ago,
        id=campaign_id,
    )
    await execute(
        sessions,
        """
        UPDATE contacts SET name = 'Persona ' || id, external_id = 'X' || id,
                            attributes = '{"city": "Milano"}', state = 'completed',
                            attempts_count = 1
        WHERE campaign_id = :id
        """,
        id=campaign_id,
    )
    answers = {
        "satisfaction": {"value": 7, "raw": "sette", "confidence": 0.9, "skipped": None},
        "comment": {"value": "tutto bene", "raw": "tutto bene", "confidence": 0.9, "skipped": None},
    }
    await execute(
        sessions,
        """
        WITH attempts AS (
            INSERT INTO call_attempts (contact_id, campaign_id, attempt_number, status, outcome,
                                       started_at, ended_at, last_event_at, dialogue_state)
            SELECT id, campaign_id, 1, 'completed', 'completed', now() - interval '60 days',
                   now() - interval '60 days', now() - interval '60 days', '{"says": ["Ciao"]}'
            FROM contacts WHERE campaign_id = :id
            RETURNING id, contact_id, campaign_id
        )
        INSERT INTO survey_responses (call_attempt_id, contact_id, campaign_id, answers, completed)
        SELECT id, contact_id, campaign_id, CAST(:answers AS jsonb), true FROM attempts
        """,
        id=campaign_id,
        answers=json.dumps(answers),
    )
    return campaign_id


async def erased(sessions: Sessions, campaign_id: int) -> int:
    rows = await fetch_all(
        sessions,
        """
        SELECT count(*) FILTER (WHERE erased_at IS NOT NULL) AS erased,
               count(*) FILTER (WHERE erased_at IS NOT NULL AND (name IS NOT NULL
                   OR phone_number NOT LIKE 'erased:%' OR attributes <> '{}')) AS leaky
        FROM contacts WHERE campaign_id = :id
        """,
        id=campaign_id,
    )
    assert rows[0].leaky == 0
    return int(rows[0].erased)


def context(sessions: Sessions, days: int | None = DAYS) -> TickContext:
    return dataclasses.replace(make_ctx(sessions, MockProvider()), retention_days=days)


async def test_the_tick_erases_old_finished_campaigns_in_batches(sessions: Sessions) -> None:
    old = await campaign(
        sessions, status="completed", finished_days_ago=DAYS + 1, contacts=2500, first=3_100_000_000
    )
    cancelled = await campaign(
        sessions, status="cancelled", finished_days_ago=DAYS + 5, contacts=5, first=3_200_000_000
    )
    recent = await campaign(
        sessions, status="completed", finished_days_ago=DAYS - 1, contacts=5, first=3_300_000_000
    )
    running = await campaign(
        sessions, status="running", finished_days_ago=DAYS + 5, contacts=5, first=3_400_000_000
    )
    ctx = context(sessions)

    progress = []
    for _ in range(4):
        await run_tick(ctx)
        progress.append(await erased(sessions, old) + await erased(sessions, cancelled))

    assert progress == [RETENTION_BATCH, 2 * RETENTION_BATCH, 2505, 2505]
    assert await erased(sessions, recent) == 0 and await erased(sessions, running) == 0
    assert await fetch_all(sessions, "SELECT * FROM do_not_call") == []
    answers = await fetch_all(
        sessions,
        "SELECT DISTINCT r.answers FROM survey_responses r JOIN contacts c ON c.id = r.contact_id"
        " WHERE c.erased_at IS NOT NULL",
    )
    assert [a.answers for a in answers] == [
        {
            "satisfaction": {"value": 7, "raw": "", "confidence": 0.9, "skipped": None},
            "comment": {"value": None, "raw": "", "confidence": 0.9, "skipped": None},
        }
    ]
    kept = await fetch_all(
        sessions,
        "SELECT count(*) AS n FROM call_attempts a JOIN contacts c ON c.id = a.contact_id"
        " WHERE c.erased_at IS NOT NULL AND a.dialogue_state IS NOT NULL",
    )
    assert kept[0].n == 0
    events = await fetch_all(
        sessions,
        "SELECT detail, count(*) AS n FROM contact_events WHERE kind = 'erased' GROUP BY 1",
    )
    assert [(e.detail, e.n) for e in events] == [({"reason": "retention"}, 2505)]


async def test_unset_retention_keeps_everything(sessions: Sessions) -> None:
    old = await campaign(
        sessions, status="completed", finished_days_ago=400, contacts=3, first=3_100_000_000
    )

    await run_tick(context(sessions, None))

    assert await erased(sessions, old) == 0


async def test_a_contact_whose_call_is_still_open_waits(sessions: Sessions) -> None:
    old = await campaign(
        sessions, status="cancelled", finished_days_ago=DAYS + 1, contacts=3, first=3_100_000_000
    )
    await execute(
        sessions,
        "INSERT INTO call_attempts (contact_id, campaign_id, attempt_number, started_at,"
        " last_event_at)"
        " SELECT min(id), :id, 2, now(), now() FROM contacts WHERE campaign_id = :id",
        id=old,
    )

    await run_tick(context(sessions))

    assert await erased(sessions, old) == 2
