"""The campaign's contact rules against a real PostgreSQL: blackout dates and the campaign's
dates in each contact's zone, retry delays per outcome, and the end of the campaign's dates.

Every decision is taken at the database clock read once, as the tick does; nothing sleeps.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.models import AttemptStatus, Outcome
from app.calls.service import AttemptClose, close_attempts
from app.scheduler.dispatch import DispatchLimits, dispatch
from app.scheduler.ending import close_ended_campaigns, last_date_over
from app.scheduler.recovery import RecoveryPolicy
from app.scheduler.tick import TickContext, db_now, run_tick
from app.telephony.callbacks import CallUrls
from app.telephony.mock import MockProvider
from tests.support.seed import ALWAYS_OPEN, execute, fetch_all, seed_campaign

Sessions = async_sessionmaker[AsyncSession]

# UTC+14 and UTC-11: always on different calendar days, a day or two apart.
KIRITIMATI = "Pacific/Kiritimati"
PAGO_PAGO = "Pacific/Pago_Pago"
LIMITS = DispatchLimits(
    batch_size=1000, calls_per_second=0, interval_seconds=1, ring_timeout_seconds=30
)
URLS = CallUrls("http://127.0.0.1:8880")


def ctx(sessions: Sessions) -> TickContext:
    return TickContext(
        sessions=sessions,
        provider=MockProvider(),
        limits=LIMITS,
        urls=URLS,
        recovery=RecoveryPolicy(stale_seconds=900, margin_seconds=300),
    )


def local_date(now: datetime, zone: str) -> date:
    return now.astimezone(ZoneInfo(zone)).date()


async def two_zone_campaign(sessions: Sessions, **columns: Any) -> int:
    """A running campaign, always-open hours, one due contact in Kiritimati and one in Pago
    Pago; `columns` sets campaign columns (call_window as a dict)."""
    campaign_id = await seed_campaign(sessions, contacts=2, timezone=KIRITIMATI)
    await execute(
        sessions,
        "UPDATE contacts SET timezone = :zone WHERE id = "
        "(SELECT max(id) FROM contacts WHERE campaign_id = :id)",
        zone=PAGO_PAGO,
        id=campaign_id,
    )
    await set_campaign(sessions, campaign_id, **columns)
    return campaign_id


async def set_campaign(sessions: Sessions, campaign_id: int, **columns: Any) -> None:
    for name, value in columns.items():
        is_json = name in ("call_window", "retry_rules")
        cast = f"CAST(:value AS {'jsonb' if is_json else 'date'})"
        if name == "retry_after_minutes":
            cast = ":value"
        await execute(
            sessions,
            f"UPDATE campaigns SET {name} = {cast} WHERE id = :id",
            value=json.dumps(value) if is_json else value,
            id=campaign_id,
        )


async def dialled_zones(sessions: Sessions, now: datetime) -> list[str]:
    """Dispatch once at `now`; the zones of the contacts it called."""
    await dispatch(sessions, MockProvider(), now=now, limits=LIMITS, urls=URLS)
    rows = await fetch_all(
        sessions,
        "SELECT ct.timezone FROM call_attempts a JOIN contacts ct ON ct.id = a.contact_id "
        "ORDER BY ct.timezone",
    )
    return [r.timezone for r in rows]


# --- blackout dates and the campaign's dates, in each contact's zone ---------------------------


async def test_nobody_is_called_on_their_own_blackout_date(sessions: Sessions) -> None:
    now = await db_now(sessions)
    holiday = local_date(now, KIRITIMATI)  # already tomorrow, or later, in Pago Pago
    await two_zone_campaign(
        sessions, call_window={**ALWAYS_OPEN, "blackout_dates": [holiday.isoformat()]}
    )

    assert await dialled_zones(sessions, now) == [PAGO_PAGO]
    [attempt] = await fetch_all(sessions, "SELECT dial_window FROM call_attempts")
    assert f"not on {holiday.isoformat()}" in attempt.dial_window


async def test_a_blackout_date_in_every_zone_calls_nobody(sessions: Sessions) -> None:
    now = await db_now(sessions)
    days = [local_date(now, zone).isoformat() for zone in (KIRITIMATI, PAGO_PAGO)]
    await two_zone_campaign(sessions, call_window={**ALWAYS_OPEN, "blackout_dates": days})

    assert await dialled_zones(sessions, now) == []


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        # The campaign's last date is Pago Pago's today: over already in Kiritimati.
        (None, PAGO_PAGO, [PAGO_PAGO]),
        # Its first date is Kiritimati's today: not yet begun in Pago Pago.
        (KIRITIMATI, None, [KIRITIMATI]),
        (PAGO_PAGO, KIRITIMATI, [KIRITIMATI, PAGO_PAGO]),
        (KIRITIMATI, KIRITIMATI, [KIRITIMATI]),
    ],
)
async def test_only_contacts_inside_the_campaign_dates_are_called(
    sessions: Sessions, first: str | None, last: str | None, expected: list[str]
) -> None:
    now = await db_now(sessions)
    dates = {
        "not_before": local_date(now, first) if first else None,
        "not_after": local_date(now, last) if last else None,
    }
    await two_zone_campaign(sessions, **{k: v for k, v in dates.items() if v is not None})

    assert await dialled_zones(sessions, now) == expected


async def test_a_campaign_not_yet_begun_anywhere_calls_nobody(sessions: Sessions) -> None:
    now = await db_now(sessions)
    await two_zone_campaign(sessions, not_before=local_date(now, KIRITIMATI) + timedelta(days=1))

    assert await dialled_zones(sessions, now) == []


# --- retry delays per outcome ------------------------------------------------------------------


async def close_all(sessions: Sessions, outcome_by_contact: dict[int, Outcome]) -> None:
    """Close each contact's open attempt with its outcome, as a status callback would."""
    attempts = await fetch_all(
        sessions, "SELECT id, contact_id FROM call_attempts WHERE ended_at IS NULL"
    )
    closes = [
        AttemptClose(
            a.id, _status(outcome_by_contact[a.contact_id]), outcome_by_contact[a.contact_id]
        )
        for a in attempts
        if a.contact_id in outcome_by_contact
    ]
    async with sessions() as session, session.begin():
        assert await close_attempts(session, closes) == len(closes)


def _status(outcome: Outcome) -> AttemptStatus:
    return {
        Outcome.BUSY: AttemptStatus.BUSY,
        Outcome.NO_ANSWER: AttemptStatus.NO_ANSWER,
        Outcome.FAILED: AttemptStatus.FAILED,
    }.get(outcome, AttemptStatus.COMPLETED)


async def waits(sessions: Sessions) -> dict[int, tuple[str, timedelta]]:
    # The contact's move sets both columns from the same now(): the wait is exact.
    rows = await fetch_all(
        sessions, "SELECT id, state, next_attempt_at - updated_at AS wait FROM contacts"
    )
    return {r.id: (r.state, r.wait) for r in rows}


async def test_each_outcome_waits_its_own_retry_rule(sessions: Sessions) -> None:
    await seed_campaign(sessions, contacts=5, max_attempts=3, retry_after_minutes=[45])
    await execute(
        sessions,
        "UPDATE campaigns SET retry_rules = CAST(:rules AS jsonb), resume_partials = true",
        rules=json.dumps({"busy": 15, "no_answer": [60, 240], "machine": 120, "partial": 30}),
    )
    await run_tick(ctx(sessions))
    ids = [r.id for r in await fetch_all(sessions, "SELECT id FROM contacts ORDER BY id")]
    outcomes = dict(
        zip(ids, [Outcome.BUSY, Outcome.NO_ANSWER, Outcome.MACHINE, Outcome.PARTIAL,
                  Outcome.FAILED], strict=True)
    )  # fmt: skip

    await close_all(sessions, outcomes)

    minutes = [15, 60, 120, 30, 45]  # failed has no rule: retry_after_minutes
    assert await waits(sessions) == {
        i: ("pending", timedelta(minutes=m)) for i, m in zip(ids, minutes, strict=True)
    }


async def test_a_list_rule_is_read_by_attempt_number_and_its_last_delay_repeats(
    sessions: Sessions,
) -> None:
    [contact] = await _one_contact_campaign(sessions, rules={"no_answer": [60, 240]})
    delays = []
    for _ in range(3):
        await run_tick(ctx(sessions))
        await close_all(sessions, {contact: Outcome.NO_ANSWER})
        delays.append((await waits(sessions))[contact])
        # Due again now, on the database's clock, instead of waiting for it.
        await execute(sessions, "UPDATE contacts SET next_attempt_at = now()")

    assert delays == [
        ("pending", timedelta(minutes=60)),
        ("pending", timedelta(minutes=240)),
        ("pending", timedelta(minutes=240)),
    ]


async def test_the_last_attempt_ends_the_contact_whatever_the_rule(sessions: Sessions) -> None:
    [contact] = await _one_contact_campaign(sessions, rules={"busy": 5}, max_attempts=1)
    await run_tick(ctx(sessions))

    await close_all(sessions, {contact: Outcome.BUSY})

    [row] = await fetch_all(sessions, "SELECT state, last_outcome FROM contacts")
    assert (row.state, row.last_outcome) == ("not_reached", "busy")


async def _one_contact_campaign(
    sessions: Sessions, *, rules: dict[str, Any], max_attempts: int = 5
) -> list[int]:
    campaign_id = await seed_campaign(
        sessions, contacts=1, max_attempts=max_attempts, retry_after_minutes=[1]
    )
    await set_campaign(sessions, campaign_id, retry_rules=rules)
    return [r.id for r in await fetch_all(sessions, "SELECT id FROM contacts")]


# --- the end of the campaign's dates -----------------------------------------------------------


async def contact_states(sessions: Sessions) -> list[tuple[str, str | None]]:
    rows = await fetch_all(sessions, "SELECT state, last_outcome FROM contacts ORDER BY id")
    return [(r.state, r.last_outcome) for r in rows]


async def test_after_the_last_date_pending_contacts_end_and_the_campaign_completes(
    sessions: Sessions,
) -> None:
    now = await db_now(sessions)
    campaign_id = await seed_campaign(sessions, contacts=3)
    await set_campaign(sessions, campaign_id, not_after=last_date_over(now))
    # An appointment that can no longer be kept is dropped with the contact.
    await execute(
        sessions,
        "UPDATE contacts SET dial_rank = 0, appointment_at = now() + interval '1 day' "
        "WHERE id = (SELECT min(id) FROM contacts)",
    )

    report = await run_tick(ctx(sessions))

    assert (report.dispatched, report.finished) == (0, 1)
    assert await contact_states(sessions) == [("not_reached", "campaign_ended")] * 3
    [campaign] = await fetch_all(sessions, "SELECT status, finished_at FROM campaigns")
    assert campaign.status == "completed" and campaign.finished_at is not None
    assert (
        await fetch_all(
            sessions, "SELECT id FROM contacts WHERE appointment_at IS NOT NULL OR dial_rank <> 1"
        )
        == []
    )


async def test_a_contact_in_a_call_finishes_it_then_ends(sessions: Sessions) -> None:
    campaign_id = await seed_campaign(sessions, contacts=2, retry_after_minutes=[0])
    await run_tick(ctx(sessions))  # both in a call
    [first, second] = [
        r.id for r in await fetch_all(sessions, "SELECT id FROM contacts ORDER BY id")
    ]
    await close_all(sessions, {first: Outcome.NO_ANSWER})  # back to pending
    now = await db_now(sessions)
    await set_campaign(sessions, campaign_id, not_after=last_date_over(now))

    during = await run_tick(ctx(sessions))

    assert (during.dispatched, during.finished) == (0, 0)
    assert await contact_states(sessions) == [
        ("not_reached", "campaign_ended"),
        ("in_progress", None),
    ]
    await close_all(sessions, {second: Outcome.BUSY})  # retries left: pending again
    after = await run_tick(ctx(sessions))
    assert (after.dispatched, after.finished) == (0, 1)
    assert await contact_states(sessions) == [("not_reached", "campaign_ended")] * 2


async def test_nothing_ends_while_the_last_date_lasts_somewhere(sessions: Sessions) -> None:
    now = await db_now(sessions)
    campaign_id = await seed_campaign(sessions, contacts=2)
    await set_campaign(sessions, campaign_id, not_after=last_date_over(now) + timedelta(days=1))

    closed = await close_ended_campaigns(sessions, now=now)

    assert closed == 0
    assert await contact_states(sessions) == [("pending", None)] * 2


async def test_only_running_campaigns_past_their_dates_are_ended(sessions: Sessions) -> None:
    now = await db_now(sessions)
    over = last_date_over(now)
    ended = await seed_campaign(sessions, contacts=2)
    paused = await seed_campaign(sessions, contacts=2, status="paused", first_number=3_100_000_000)
    await seed_campaign(sessions, contacts=2, first_number=3_200_000_000)  # no last date
    for campaign_id in (ended, paused):
        await set_campaign(sessions, campaign_id, not_after=over)

    closed = await close_ended_campaigns(sessions, now=now)

    assert closed == 2
    rows = await fetch_all(
        sessions, "SELECT campaign_id, state FROM contacts WHERE state <> 'pending'"
    )
    assert {(r.campaign_id, r.state) for r in rows} == {(ended, "not_reached")}


async def test_contacts_are_ended_in_bounded_batches(sessions: Sessions) -> None:
    now = await db_now(sessions)
    campaign_id = await seed_campaign(sessions, contacts=7)
    await set_campaign(sessions, campaign_id, not_after=last_date_over(now))

    first = await close_ended_campaigns(sessions, now=now, batch=2, batches=2)
    rest = await close_ended_campaigns(sessions, now=now, batch=2, batches=10)
    again = await close_ended_campaigns(sessions, now=now, batch=2, batches=10)

    assert (first, rest, again) == (4, 3, 0)
    assert await contact_states(sessions) == [("not_reached", "campaign_ended")] * 7
