"""Booking "call me later": the respondent's words read against the database clock, the
contact's time zone and the campaign's call window."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.audit import APPOINTMENT, record_event
from app.calls.models import CallAttempt
from app.campaigns.models import Campaign, Contact
from app.dialogue.actions import Appoint
from app.dialogue.when import appointment_time
from app.scheduler.window import CallWindow, InvalidWindow, next_opening

log = logging.getLogger(__name__)

# "Later", with no time said: long enough not to feel like nagging, short enough to be today.
VAGUE_DELAY_MINUTES = 120


def appointment_at(
    action: Appoint, *, now: datetime, zone: str, window: CallWindow
) -> datetime | None:
    """When to call back: the time asked for, moved to the next opening of the window when it
    falls outside; None when the window never opens again (the campaign is over by then)."""
    asked = appointment_time(
        action.ask, now=now, zone=zone, vague_delay_minutes=VAGUE_DELAY_MINUTES
    )
    return next_opening(window, max(asked, now), zone)


async def book(
    session: AsyncSession,
    attempt: CallAttempt,
    campaign: Campaign,
    contact: Contact,
    action: Appoint,
) -> datetime | None:
    """Store the appointment on the attempt (closing it moves the contact) and audit it."""
    now: datetime = (await session.execute(select(func.now()))).scalar_one()
    try:
        window = campaign_window(campaign)
    except InvalidWindow as exc:
        log.error("Campaign %s has an invalid call window: %s", campaign.id, exc)
        return None
    at = appointment_at(action, now=now, zone=contact.timezone, window=window)
    attempt.callback_at = at
    await record_event(
        session,
        contact_id=contact.id,
        campaign_id=campaign.id,
        attempt_id=attempt.id,
        kind=APPOINTMENT,
        detail={"said": action.said, "at": at, "zone": contact.timezone},
    )
    log.info("Contact %s asked to be called back at %s", contact.id, at)
    return at


def campaign_window(campaign: Campaign) -> CallWindow:
    return CallWindow.parse(
        campaign.call_window, not_before=campaign.not_before, not_after=campaign.not_after
    )
