"""What the console's pages show, gathered from the same services the API answers with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns import service as campaigns
from app.campaigns.models import Campaign, CampaignStatus, ContactState
from app.config import Settings
from app.console.charts import Bar, Histogram, Lines, bars, histogram, timeline_lines
from app.deliveries.schemas import DeliverySummary
from app.deliveries.service import delivery_summary, explained
from app.dialogue.survey import QuestionType
from app.dialogue.texts import render_markers
from app.reports.overview import CampaignOverview, call_timeline, campaign_overviews
from app.reports.questions import QuestionStats
from app.reports.schemas import CampaignReport
from app.reports.service import campaign_report, survey_questions

ACTIONS = {
    CampaignStatus.DRAFT: ("start", "cancel"),
    CampaignStatus.RUNNING: ("pause", "cancel"),
    CampaignStatus.PAUSED: ("resume", "cancel"),
}
FINISHED = frozenset({CampaignStatus.COMPLETED, CampaignStatus.CANCELLED})
TIMELINE_WIDTH, TIMELINE_HEIGHT = 600, 160
FREE_TEXT_SHOWN = 20


@dataclass(frozen=True)
class CampaignRow:
    campaign: Campaign
    overview: CampaignOverview


async def campaign_rows(session: AsyncSession, limit: int, offset: int) -> list[CampaignRow]:
    listed = await campaigns.list_campaigns(
        session=session, status=None, limit=limit, offset=offset
    )
    found = [campaign for campaign, _ in listed]
    overviews = await campaign_overviews(session=session, campaigns=found)
    return [CampaignRow(c, overviews[c.id]) for c in found]


@dataclass(frozen=True)
class QuestionChart:
    id: str
    type: QuestionType
    text: str
    stats: QuestionStats
    bars: list[Bar] = field(default_factory=list)
    histogram: Histogram | None = None


@dataclass(frozen=True)
class FreeText:
    question_id: str
    text: str
    answers: list[str]


@dataclass(frozen=True)
class LiveView:
    """The part of a campaign's page that updates while it runs."""

    campaign: Campaign
    report: CampaignReport
    actions: tuple[str, ...]
    contacts_total: int
    progress: float | None
    states: list[Bar]
    outcomes: list[Bar]
    dispositions: list[dict[str, Any]]
    timeline: Lines
    questions: list[QuestionChart]
    free_text: list[FreeText]
    deliveries: DeliverySummary | None  # only for a campaign with a results webhook

    @property
    def finished(self) -> bool:
        return self.campaign.status in FINISHED


async def live_view(session: AsyncSession, campaign_id: int, settings: Settings) -> LiveView:
    campaign, total = await campaigns.get_campaign(session=session, campaign_id=campaign_id)
    deliveries = None
    if campaign.results_webhook_url is not None:
        summary = await delivery_summary(session, campaign_id)
        deliveries = explained(summary, settings)
    report = await campaign_report(session=session, campaign_id=campaign_id)
    timeline = await call_timeline(session=session, campaign_id=campaign_id)
    open_states = report.contacts[ContactState.PENDING] + report.contacts[ContactState.IN_PROGRESS]
    return LiveView(
        campaign=campaign,
        report=report,
        actions=ACTIONS.get(campaign.status, ()),
        contacts_total=total,
        progress=(total - open_states) / total if total else None,
        states=bars({state.value: n for state, n in report.contacts.items()}),
        outcomes=bars({k: n for k, n in report.attempts.by_outcome.items() if n}),
        dispositions=[
            {"code": code, "label": d.label, "category": d.category.value, "count": d.count}
            for code, d in report.dispositions.items()
            if d.count
        ],
        timeline=timeline_lines(timeline, TIMELINE_WIDTH, TIMELINE_HEIGHT),
        questions=[_chart(qid, stats) for qid, stats in report.questions.items()],
        free_text=await free_text_answers(session, campaign_id),
        deliveries=deliveries,
    )


def _chart(question_id: str, stats: QuestionStats) -> QuestionChart:
    chart = QuestionChart(question_id, stats.type, stats.text, stats)
    if stats.counts is not None:
        return QuestionChart(question_id, stats.type, stats.text, stats, bars=bars(stats.counts))
    if stats.histogram is not None:
        shown = histogram(stats.histogram, stats.mean)
        return QuestionChart(question_id, stats.type, stats.text, stats, histogram=shown)
    return chart


_FREE_TEXT = text("""
SELECT e.key AS question_id, e.value ->> 'value' AS answer
FROM (
    SELECT r.answers FROM survey_responses AS r
    WHERE r.campaign_id = :campaign_id AND NOT r.superseded
    ORDER BY r.updated_at DESC LIMIT :responses
) AS r
CROSS JOIN LATERAL jsonb_each(r.answers) AS e
WHERE e.key = ANY(CAST(:ids AS text[])) AND e.value ->> 'skipped' IS NULL
""")


async def free_text_answers(session: AsyncSession, campaign_id: int) -> list[FreeText]:
    """The latest free-text answers of each such question, from the newest responses."""
    questions = [
        q
        for q in await survey_questions(session=session, campaign_id=campaign_id)
        if q.type is QuestionType.FREE_TEXT
    ]
    if not questions:
        return []
    params = {
        "campaign_id": campaign_id,
        "ids": [q.id for q in questions],
        "responses": FREE_TEXT_SHOWN * 5,
    }
    answers: dict[str, list[str]] = {q.id: [] for q in questions}
    for row in await session.execute(_FREE_TEXT, params):
        if row.answer and len(answers[row.question_id]) < FREE_TEXT_SHOWN:
            answers[row.question_id].append(row.answer)
    return [FreeText(q.id, render_markers(q.text), answers[q.id]) for q in questions]
