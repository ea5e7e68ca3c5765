"""Campaign rules: create, read, change status, import contacts.

Every function takes the session as a keyword argument, commits what it writes, and raises
the errors of `app.campaigns.errors`; the caller's session context rolls back anything else.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns import imports
from app.campaigns.contacts import Normaliser, default_region
from app.campaigns.errors import Conflict, InvalidInput, NotFound
from app.campaigns.models import Campaign, CampaignQuota, CampaignStatus, Contact
from app.campaigns.schemas import CampaignDocument, ImportReport
from app.campaigns.uploads import reader_for
from app.dialogue.errors import InvalidSurvey
from app.dialogue.survey import Survey

log = logging.getLogger(__name__)

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


def read_survey(document: CampaignDocument) -> Survey:
    """The document's survey as the dialogue reads it; InvalidInput naming the path if it can't.

    The schema checks each field; this checks what ties them together: every language covered,
    conditions that name earlier questions with values of the right type, piped answers that
    exist at that point.
    """
    try:
        return Survey.from_definition(document.definition())
    except InvalidSurvey as exc:
        raise InvalidInput(str(exc), ("body", *exc.path)) from None


async def create_campaign(*, session: AsyncSession, document: CampaignDocument) -> Campaign:
    """Store a validated campaign document as a draft campaign, with its quotas."""
    survey = read_survey(document)
    values = {
        "name": document.name,
        "language": survey.language.value,
        "caller_id": document.caller_id,
        "timezone": document.timezone,
        # A window without blackout dates is stored as it always was.
        "call_window": document.call_window.model_dump(mode="json", exclude_none=True),
        "max_attempts": document.max_attempts,
        "retry_after_minutes": document.retry_after_minutes,
        "retry_rules": document.retry_rules or {},
        "not_before": document.not_before,
        "not_after": document.not_after,
        "resume_partials": document.resume_partials,
        "max_concurrent_calls": document.max_concurrent_calls,
        "max_call_minutes": document.max_call_minutes,
        "definition": document.definition(),
    }
    campaign = (await session.scalars(insert(Campaign).values(values).returning(Campaign))).one()
    if survey.quotas:
        quotas = [
            {"campaign_id": campaign.id, "name": q.name, "target": q.target} for q in survey.quotas
        ]
        await session.execute(insert(CampaignQuota).values(quotas))
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


async def import_contacts(
    *,
    session: AsyncSession,
    campaign_id: int,
    body: AsyncIterable[bytes],
    media_type: str,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Add an upload's valid rows to the campaign in one transaction, reading it as it arrives;
    report the rows left out and why.

    `progress`, when given, is told how many more bytes of the body were checked.
    """
    campaign = await _importable(session, campaign_id, lock=False)
    normaliser = Normaliser(
        region=default_region(campaign.language, campaign.caller_id),
        default_zone=campaign.timezone,
    )
    upload = imports.Import(
        session, campaign_id=campaign_id, reader=reader_for(media_type), normaliser=normaliser
    )
    started = time.monotonic()
    await upload.stage(body, progress)
    staged = time.monotonic()
    # Locked only now, for the last piece: a slow upload does not hold off a cancel.
    await _importable(session, campaign_id, lock=True)
    report = await upload.finish()
    await session.commit()
    log.info(
        "Campaign %s: imported %d contacts, rejected %d rows; body read, checked and saved in "
        "%.1f s, last piece saved and committed in %.1f s",
        campaign_id,
        report.imported,
        report.rejected_total,
        staged - started,
        time.monotonic() - staged,
    )
    return report


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
