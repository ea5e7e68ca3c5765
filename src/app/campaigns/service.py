"""Campaign rules: create, read, change status, import contacts.

Every function takes the session as a keyword argument, commits what it writes, and raises
the errors of `app.campaigns.errors`; the caller's session context rolls back anything else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns.contacts import ContactRow, RawContact, default_region, prepare
from app.campaigns.errors import Conflict, NotFound
from app.campaigns.models import Campaign, CampaignStatus, Contact, ContactState
from app.campaigns.schemas import CampaignDocument, ImportReport, Rejection
from app.db.base import sql_literal

S = CampaignStatus


@dataclass(frozen=True)
class Transition:
    allowed: frozenset[CampaignStatus]
    to: CampaignStatus


TRANSITIONS = {
    "start": Transition(frozenset({S.DRAFT}), S.RUNNING),
    "pause": Transition(frozenset({S.RUNNING}), S.PAUSED),
    "resume": Transition(frozenset({S.PAUSED}), S.RUNNING),
    "cancel": Transition(frozenset({S.DRAFT, S.RUNNING, S.PAUSED}), S.CANCELLED),
}
IMPORTABLE = frozenset({S.DRAFT, S.RUNNING, S.PAUSED})


async def create_campaign(*, session: AsyncSession, document: CampaignDocument) -> Campaign:
    """Store a validated campaign document as a draft campaign."""
    values = {
        "name": document.name,
        "language": document.language,
        "caller_id": document.caller_id,
        "timezone": document.timezone,
        "call_window": document.call_window.model_dump(mode="json"),
        "max_attempts": document.max_attempts,
        "retry_after_minutes": document.retry_after_minutes,
        "max_concurrent_calls": document.max_concurrent_calls,
        "max_call_minutes": document.max_call_minutes,
        "definition": document.model_dump(mode="json"),
    }
    campaign = (await session.scalars(insert(Campaign).values(values).returning(Campaign))).one()
    await session.commit()
    return campaign


def _contacts_total() -> Any:
    return (
        select(func.count())
        .select_from(Contact)
        .where(Contact.campaign_id == Campaign.id)
        .scalar_subquery()
    )


async def list_campaigns(
    *,
    session: AsyncSession,
    status: CampaignStatus | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[tuple[Campaign, int]]:
    """Return campaigns newest first, each with its number of contacts."""
    query = select(Campaign, _contacts_total()).order_by(Campaign.id.desc())
    if status is not None:
        query = query.where(Campaign.status == status)
    rows = await session.execute(query.limit(limit).offset(offset))
    return [(campaign, total) for campaign, total in rows]


async def get_campaign(*, session: AsyncSession, campaign_id: int) -> tuple[Campaign, int]:
    """Return one campaign and its number of contacts, or raise NotFound."""
    query = select(Campaign, _contacts_total()).where(Campaign.id == campaign_id)
    row = (await session.execute(query)).one_or_none()
    if row is None:
        raise _not_found(campaign_id)
    campaign, total = row
    return campaign, total


async def change_status(*, session: AsyncSession, campaign_id: int, action: str) -> Campaign:
    """Apply `action` (start, pause, resume, cancel) if the current status allows it."""
    step = TRANSITIONS[action]
    now = func.now()
    query = (
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status.in_(step.allowed))
        .values(status=step.to, updated_at=now)
        .returning(Campaign)
        .execution_options(synchronize_session=False)
    )
    if action == "start":
        has_contacts = select(Contact.id).where(Contact.campaign_id == campaign_id).exists()
        query = query.where(has_contacts).values(started_at=func.coalesce(Campaign.started_at, now))
    if step.to == S.CANCELLED:
        query = query.values(finished_at=now)
    campaign = (await session.scalars(query)).one_or_none()
    if campaign is None:
        raise await _refusal(session, campaign_id, action)
    await session.commit()
    return campaign


async def _refusal(session: AsyncSession, campaign_id: int, action: str) -> Exception:
    # Only read after the conditional UPDATE matched nothing: it explains, it does not decide.
    status = await session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
    if status is None:
        return _not_found(campaign_id)
    if action == "start" and status == S.DRAFT:
        return Conflict("campaign has no contacts: import contacts before starting it")
    return Conflict(f"cannot {action} campaign {campaign_id}: its status is {status}")


PENDING = sql_literal(ContactState.PENDING)
DO_NOT_CALL = sql_literal(ContactState.DO_NOT_CALL)

_INSERT_CONTACTS = text(f"""
INSERT INTO contacts
    (campaign_id, phone_number, external_id, name, timezone, time_zone_candidates, attributes,
     state, next_attempt_at)
SELECT :campaign_id, i.phone_number, i.external_id, i.name, i.timezone,
       coalesce(string_to_array(nullif(i.candidates, ''), ','), '{{}}'),
       CAST(i.attributes AS jsonb),
       CASE WHEN EXISTS (SELECT 1 FROM do_not_call d WHERE d.phone_number = i.phone_number)
            THEN {DO_NOT_CALL} ELSE {PENDING} END,
       now()
FROM unnest(CAST(:phone_numbers AS text[]), CAST(:external_ids AS text[]),
            CAST(:names AS text[]), CAST(:timezones AS text[]), CAST(:candidates AS text[]),
            CAST(:attributes AS text[]))
     AS i(phone_number, external_id, name, timezone, candidates, attributes)
ON CONFLICT (campaign_id, phone_number) DO NOTHING
RETURNING phone_number, state
""")


async def import_contacts(
    *,
    session: AsyncSession,
    campaign_id: int,
    raw: Sequence[RawContact],
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Add the valid rows to the campaign in one statement; report every row left out and why."""
    campaign = await _importable(session, campaign_id, lock=False)
    region, zone = default_region(campaign.language, campaign.caller_id), campaign.timezone
    # Let the read transaction go while the numbers are checked: that can take seconds.
    await session.rollback()
    prepared = await asyncio.to_thread(
        prepare, raw, region=region, default_zone=zone, progress=progress
    )
    await _importable(session, campaign_id, lock=True)
    rows = prepared.rows
    params = {
        "campaign_id": campaign_id,
        "phone_numbers": [r.phone_number for r in rows],
        "external_ids": [r.external_id for r in rows],
        "names": [r.name for r in rows],
        "timezones": [r.timezone for r in rows],
        "candidates": [r.time_zone_candidates for r in rows],
        "attributes": [r.attributes for r in rows],
    }
    result = await session.execute(_INSERT_CONTACTS, params)
    inserted: dict[str, str] = dict(result.all())
    report = build_report(prepared.rejected, rows, inserted)
    await session.commit()
    return report


def build_report(
    rejected: list[tuple[int, str]], rows: Sequence[ContactRow], inserted: dict[str, str]
) -> ImportReport:
    """Count what was inserted; rows the database already had are rejected as such."""
    already = [(r.row, "already in campaign") for r in rows if r.phone_number not in inserted]
    return ImportReport(
        imported=len(inserted),
        do_not_call=sum(1 for state in inserted.values() if state == "do_not_call"),
        rejected=[Rejection(row=row, error=error) for row, error in sorted(rejected + already)],
    )


async def _importable(session: AsyncSession, campaign_id: int, *, lock: bool) -> Campaign:
    query = select(Campaign).where(Campaign.id == campaign_id)
    if lock:
        # Holds off a concurrent cancel (or finish) until these contacts are committed.
        query = query.with_for_update(read=True)
    campaign = await session.scalar(query.execution_options(populate_existing=True))
    if campaign is None:
        raise _not_found(campaign_id)
    if campaign.status not in IMPORTABLE:
        raise Conflict(
            f"cannot import contacts into campaign {campaign_id}: its status is {campaign.status}"
        )
    return campaign


def _not_found(campaign_id: int) -> NotFound:
    return NotFound(f"campaign {campaign_id} not found")
