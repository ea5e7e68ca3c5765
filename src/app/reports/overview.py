"""At-a-glance figures for a page of campaigns, and a campaign's calls over time.

Both are read with a fixed number of set-based queries, whatever the number of campaigns on the
page or of attempts in the campaign.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import Outcome
from app.campaigns.models import FINAL_CONTACT_STATES, Campaign
from app.db.base import sql_literal
from app.dialogue.errors import InvalidSurvey
from app.dialogue.survey import Survey
from app.reports.rates import category_totals, outcome_rates
from app.reports.service import disposition_counts_of


@dataclass(frozen=True)
class CampaignOverview:
    contacts: int
    finished: int  # contacts in a final state
    completes: int
    rr1: float | None

    @property
    def progress(self) -> float | None:
        return self.finished / self.contacts if self.contacts else None


_FINAL = ", ".join(sql_literal(s) for s in sorted(FINAL_CONTACT_STATES))

_CONTACT_COUNTS = text(f"""
SELECT campaign_id, count(*) AS contacts, count(*) FILTER (WHERE state IN ({_FINAL})) AS finished
FROM contacts WHERE campaign_id = ANY(CAST(:ids AS bigint[])) GROUP BY campaign_id
""")

_COMPLETES = text("""
SELECT campaign_id, count(*) AS completes FROM survey_responses
WHERE campaign_id = ANY(CAST(:ids AS bigint[])) AND completed AND NOT superseded
GROUP BY campaign_id
""")


async def campaign_overviews(
    *, session: AsyncSession, campaigns: Sequence[Campaign]
) -> dict[int, CampaignOverview]:
    """Contacts, finished contacts, completes and AAPOR RR1 of each campaign given."""
    ids = [c.id for c in campaigns]
    contacts = {r.campaign_id: r for r in await session.execute(_CONTACT_COUNTS, {"ids": ids})}
    completes: dict[int, int] = {
        row.campaign_id: row.completes for row in await session.execute(_COMPLETES, {"ids": ids})
    }
    counts = await disposition_counts_of(
        session=session, questions={c.id: _question_count(c) for c in campaigns}
    )
    overviews = {}
    for campaign_id in ids:
        row = contacts.get(campaign_id)
        overviews[campaign_id] = CampaignOverview(
            contacts=row.contacts if row else 0,
            finished=row.finished if row else 0,
            completes=completes.get(campaign_id, 0),
            rr1=outcome_rates(category_totals(counts[campaign_id])).RR1,
        )
    return overviews


def _question_count(campaign: Campaign) -> int:
    try:
        return len(Survey.from_definition(campaign.definition).questions)
    except InvalidSurvey:
        return 0  # seeded by hand, never validated: the rates still count contacts


@dataclass(frozen=True)
class TimelinePoint:
    at: datetime
    attempts: int  # attempts started up to this time, cumulative
    completes: int  # interviews completed up to the end of this step, cumulative


# Steps a timeline may use: the smallest that keeps it at most MAX_STEPS long.
STEPS = tuple(
    timedelta(seconds=s)
    for s in (5, 15, 60, 5 * 60, 15 * 60, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400)
)
MAX_STEPS = 48

_SPAN = text("""
SELECT min(started_at) AS first, max(greatest(started_at, ended_at)) AS last
FROM call_attempts WHERE campaign_id = :campaign_id
""")

_PER_STEP = text(f"""
SELECT date_bin(:step, e.at, :origin) AS at,
       count(*) FILTER (WHERE e.kind = 'attempt') AS attempts,
       count(*) FILTER (WHERE e.kind = 'complete') AS completes
FROM (
    SELECT started_at AS at, 'attempt' AS kind FROM call_attempts WHERE campaign_id = :campaign_id
    UNION ALL
    SELECT ended_at, 'complete' FROM call_attempts
    WHERE campaign_id = :campaign_id AND outcome = {sql_literal(Outcome.COMPLETED)}
      AND ended_at IS NOT NULL
) AS e
GROUP BY 1 ORDER BY 1
""")


def timeline_step(first: datetime, last: datetime) -> timedelta:
    """The smallest step that shows the span in at most MAX_STEPS points."""
    span = last - first
    return next((s for s in STEPS if span <= s * (MAX_STEPS - 1)), STEPS[-1])


async def call_timeline(*, session: AsyncSession, campaign_id: int) -> list[TimelinePoint]:
    """Attempts started and interviews completed so far, at each step since the first call."""
    span = (await session.execute(_SPAN, {"campaign_id": campaign_id})).one()
    if span.first is None:
        return []
    step = timeline_step(span.first, span.last)
    params = {"campaign_id": campaign_id, "step": step, "origin": span.first}
    # The line starts from nothing at the first call.
    points, attempts, completes = [TimelinePoint(span.first, 0, 0)], 0, 0
    for row in await session.execute(_PER_STEP, params):
        attempts += row.attempts
        completes += row.completes
        points.append(TimelinePoint(row.at + step, attempts, completes))
    return points
