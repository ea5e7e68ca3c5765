"""The campaign report: a few set-based queries on one snapshot, folded by the pure rules.

Each query returns a handful of groups whatever the campaign's size: contacts grouped by the set of
their attempts' outcomes, answers grouped by question, skip reason and value.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Mapping

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns.errors import NotFound
from app.campaigns.stats import campaign_stats
from app.dialogue.errors import InvalidSurvey
from app.dialogue.survey import Question, QuestionType, Survey
from app.reports.dispositions import DISPOSITIONS, attempt_disposition, contact_disposition
from app.reports.questions import AnswerGroup, question_stats
from app.reports.rates import category_totals, outcome_rates
from app.reports.schemas import CampaignReport, DispositionCount, QuotaFill, ResponseCounts

_DEFINITION = text("SELECT definition FROM campaigns WHERE id = :campaign_id")

# An answer counts as answered when it carries no skip reason (the dialogue's AnswerRecord).
ANSWERED_COUNT_SQL = """
(SELECT count(*) FROM jsonb_each(r.answers) AS e WHERE e.value ->> 'skipped' IS NULL)
"""

# One row per distinct (campaign, contact state, set of [outcome, questions answered] of its
# attempts), for one campaign or a page of them.
_CONTACT_GROUPS = text(f"""
WITH attempt AS (
    SELECT a.contact_id, a.outcome,
           CASE WHEN r.id IS NOT NULL THEN {ANSWERED_COUNT_SQL} END AS answered
    FROM call_attempts AS a
    LEFT JOIN survey_responses AS r ON r.call_attempt_id = a.id
    WHERE a.campaign_id = ANY(CAST(:campaign_ids AS bigint[])) AND a.outcome IS NOT NULL
),
per_contact AS (
    SELECT c.campaign_id, c.state,
           coalesce(
               jsonb_agg(DISTINCT jsonb_build_array(t.outcome, t.answered))
                   FILTER (WHERE t.outcome IS NOT NULL),
               '[]'::jsonb
           ) AS attempts
    FROM contacts AS c
    LEFT JOIN attempt AS t ON t.contact_id = c.id
    WHERE c.campaign_id = ANY(CAST(:campaign_ids AS bigint[]))
    GROUP BY c.id
)
SELECT campaign_id, state, attempts, count(*) AS contacts
FROM per_contact GROUP BY campaign_id, state, attempts
""")

# Free-text values are never grouped: they are unbounded and personal.
_ANSWER_GROUPS = text("""
SELECT e.key AS question_id,
       e.value ->> 'skipped' AS skipped,
       CASE WHEN e.value ->> 'skipped' IS NULL AND e.key <> ALL(CAST(:free_text AS text[]))
            THEN e.value -> 'value' END AS value,
       coalesce((e.value ->> 'confirmed')::boolean, false) AS confirmed,
       coalesce((e.value ->> 'corrected')::boolean, false) AS corrected,
       count(*) AS answers
FROM survey_responses AS r
CROSS JOIN LATERAL jsonb_each(r.answers) AS e
-- A superseded response's answers live on in the response of the call that resumed it.
WHERE r.campaign_id = :campaign_id AND NOT r.superseded
GROUP BY 1, 2, 3, 4, 5
""")

_RESPONSE_COUNTS = text("""
SELECT count(*) AS total, count(*) FILTER (WHERE completed) AS completed
FROM survey_responses WHERE campaign_id = :campaign_id AND NOT superseded
""")


_QUOTAS = text("""
SELECT name, target, completes, completes >= target AS full
FROM campaign_quotas WHERE campaign_id = :campaign_id ORDER BY name
""")


async def campaign_report(*, session: AsyncSession, campaign_id: int) -> CampaignReport:
    """Stats, AAPOR dispositions and rates, and answers per question, from one snapshot."""
    async with _snapshot(session):
        stats = await campaign_stats(session=session, campaign_id=campaign_id)
        questions = await survey_questions(session=session, campaign_id=campaign_id)
        counts = await disposition_counts(
            session=session, campaign_id=campaign_id, questions=len(questions)
        )
        groups = await _answer_groups(session, campaign_id, questions)
        responses = (await session.execute(_RESPONSE_COUNTS, {"campaign_id": campaign_id})).one()
        quotas = (await session.execute(_QUOTAS, {"campaign_id": campaign_id})).all()
    totals = category_totals(counts)
    return CampaignReport(
        **dict(stats),
        responses=ResponseCounts(total=responses.total, completed=responses.completed),
        dispositions={
            d.code: DispositionCount(label=d.label, category=d.category, count=counts[d.code])
            for d in DISPOSITIONS
        },
        disposition_totals=totals,
        rates=outcome_rates(totals),
        questions=question_stats(questions, groups),
        quotas=[
            QuotaFill(name=q.name, target=q.target, completes=q.completes, full=q.full)
            for q in quotas
        ],
    )


async def survey_questions(*, session: AsyncSession, campaign_id: int) -> tuple[Question, ...]:
    """The campaign's questions in survey order; raise NotFound for an unknown campaign."""
    params = {"campaign_id": campaign_id}
    definition = (await session.execute(_DEFINITION, params)).scalar_one_or_none()
    if definition is None:
        raise NotFound(f"campaign {campaign_id} not found")
    try:
        return Survey.from_definition(definition).questions
    except InvalidSurvey:
        return ()  # a campaign the API never validated (seeded by hand): no per-question view


async def disposition_counts(
    *, session: AsyncSession, campaign_id: int, questions: int
) -> Counter[str]:
    """Count the campaign's contacts by AAPOR disposition code."""
    counts = await disposition_counts_of(session=session, questions={campaign_id: questions})
    return counts[campaign_id]


async def disposition_counts_of(
    *, session: AsyncSession, questions: Mapping[int, int]
) -> dict[int, Counter[str]]:
    """Count the contacts of several campaigns by AAPOR disposition code, in one query;
    `questions` gives each campaign's number of questions."""
    counts = {cid: Counter({d.code: 0 for d in DISPOSITIONS}) for cid in questions}
    rows = await session.execute(_CONTACT_GROUPS, {"campaign_ids": list(questions)})
    for campaign_id, state, attempts, contacts in rows:
        dispositions = [
            attempt_disposition(outcome, answered=answered, questions=questions[campaign_id])
            for outcome, answered in attempts
        ]
        counts[campaign_id][contact_disposition(state, dispositions).code] += contacts
    return counts


async def _answer_groups(
    session: AsyncSession, campaign_id: int, questions: tuple[Question, ...]
) -> list[AnswerGroup]:
    free_text = [q.id for q in questions if q.type is QuestionType.FREE_TEXT]
    rows = await session.execute(
        _ANSWER_GROUPS, {"campaign_id": campaign_id, "free_text": free_text}
    )
    return [
        AnswerGroup(r.question_id, r.skipped, r.value, r.answers, r.confirmed, r.corrected)
        for r in rows
    ]


@contextlib.asynccontextmanager
async def _snapshot(session: AsyncSession) -> AsyncIterator[None]:
    """Read in one REPEATABLE READ transaction, so the report's numbers add up mid-campaign."""
    if session.in_transaction():
        yield  # the caller's transaction decides
        return
    await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    try:
        yield
    finally:
        await session.rollback()
