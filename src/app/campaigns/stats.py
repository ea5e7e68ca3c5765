"""Campaign statistics: a few GROUP BY queries, whatever the number of contacts."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import AttemptStatus, Outcome
from app.campaigns.errors import NotFound
from app.campaigns.models import CampaignStatus, ContactState
from app.campaigns.schemas import AppointmentStats, AttemptStats, CampaignStats
from app.db.base import sql_literal

_STATUS = text("SELECT status FROM campaigns WHERE id = :campaign_id")

_CONTACTS = text("""
SELECT state, count(*) FROM contacts WHERE campaign_id = :campaign_id GROUP BY state
""")

_APPOINTMENTS = text(f"""
SELECT count(*) AS pending, min(appointment_at) AS next_at
FROM contacts
WHERE campaign_id = :campaign_id AND state = {sql_literal(ContactState.PENDING)} AND dial_rank = 0
""")

_ATTEMPTS = text("""
SELECT status, outcome, ended_at IS NULL AS open, count(*)
FROM call_attempts WHERE campaign_id = :campaign_id
GROUP BY status, outcome, ended_at IS NULL
""")


async def campaign_stats(*, session: AsyncSession, campaign_id: int) -> CampaignStats:
    """Count the campaign's contacts by state and its call attempts by outcome and status."""
    params = {"campaign_id": campaign_id}
    status = (await session.execute(_STATUS, params)).scalar_one_or_none()
    if status is None:
        raise NotFound(f"campaign {campaign_id} not found")
    contacts = dict.fromkeys(ContactState, 0)
    for state, count in await session.execute(_CONTACTS, params):
        contacts[ContactState(state)] = count
    attempts = AttemptStats(
        total=0,
        open=0,
        by_outcome={o.value: 0 for o in Outcome},
        by_status={s.value: 0 for s in AttemptStatus},
    )
    for attempt_status, outcome, is_open, count in await session.execute(_ATTEMPTS, params):
        attempts.total += count
        attempts.open += count if is_open else 0
        attempts.by_status[attempt_status] = attempts.by_status.get(attempt_status, 0) + count
        if outcome is not None:
            attempts.by_outcome[outcome] = attempts.by_outcome.get(outcome, 0) + count
    appointments = (await session.execute(_APPOINTMENTS, params)).one()
    return CampaignStats(
        campaign_id=campaign_id,
        status=CampaignStatus(status),
        contacts=contacts,
        attempts=attempts,
        appointments=AppointmentStats(pending=appointments.pending, next_at=appointments.next_at),
    )
