"""A contact's interview across calls: one broken off is resumed by the next call, whose
response then carries every answer and supersedes the earlier one."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import CallAttempt
from app.dialogue import AnswerRecord, DialogueState, SurveyOutcome


@dataclass(frozen=True)
class Interrupted:
    """The response of an earlier call that ended before the survey did."""

    response_id: int
    answers: tuple[tuple[str, AnswerRecord], ...]


def interrupted_sql(contact_id: str, attempt_id: str) -> str:
    """The contact's latest live response that neither completed nor screened the respondent
    out, from another attempt than this one (SQL expressions for both ids)."""
    return f"""
SELECT r.id, r.call_attempt_id, r.answers
FROM survey_responses AS r
WHERE r.contact_id = {contact_id} AND r.call_attempt_id <> {attempt_id}
  AND NOT r.superseded AND NOT r.completed AND r.screened_out_by IS NULL
ORDER BY r.id DESC
LIMIT 1
"""


_INTERRUPTED = text(interrupted_sql(":contact_id", ":attempt_id"))


async def interrupted_interview(
    session: AsyncSession, *, contact_id: int, attempt_id: int
) -> Interrupted | None:
    row = (
        await session.execute(_INTERRUPTED, {"contact_id": contact_id, "attempt_id": attempt_id})
    ).one_or_none()
    if row is None:
        return None
    return interrupted_from(row.id, row.call_attempt_id, row.answers)


def interrupted_from(response_id: int, attempt_id: int, answers: Mapping[str, Any]) -> Interrupted:
    """The interrupted interview of a stored response (its id, attempt and answers)."""
    return Interrupted(response_id, _records(answers, default_attempt=attempt_id))


def _records(
    answers: Mapping[str, Any], *, default_attempt: int
) -> tuple[tuple[str, AnswerRecord], ...]:
    records = []
    for question_id, raw in answers.items():
        record = AnswerRecord.from_dict(raw)
        if record.attempt_id is None:  # stored before answers named their attempt
            record = replace(record, attempt_id=default_attempt)
        records.append((question_id, record))
    return tuple(records)


_UPSERT_RESPONSE = text("""
INSERT INTO survey_responses
    (call_attempt_id, contact_id, campaign_id, answers, completed, language, screened_out_by,
     resumed_from_id)
VALUES (:attempt_id, :contact_id, :campaign_id, CAST(:answers AS jsonb), :completed,
        :language, :screened_out_by, :resumed_from)
ON CONFLICT (call_attempt_id) DO UPDATE
SET answers = EXCLUDED.answers, completed = EXCLUDED.completed,
    screened_out_by = EXCLUDED.screened_out_by, updated_at = now()
""")

_SUPERSEDE = text("""
UPDATE survey_responses SET superseded = true, updated_at = now()
WHERE id = :id AND NOT superseded
""")


async def save_answers(
    session: AsyncSession, attempt: CallAttempt, state: DialogueState, resumed_from: int | None
) -> None:
    """Store the call's response: every answer, each marked with the attempt that collected
    it; a resumed interview's earlier response is superseded in the same transaction."""
    await session.execute(
        _UPSERT_RESPONSE,
        {
            "attempt_id": attempt.id,
            "contact_id": attempt.contact_id,
            "campaign_id": attempt.campaign_id,
            "answers": answers_document(state, attempt.id),
            "completed": state.outcome is SurveyOutcome.COMPLETED,
            "language": state.language or None,
            "screened_out_by": state.screened_by,
            "resumed_from": resumed_from if state.resumed else None,
        },
    )
    if state.resumed and resumed_from is not None:
        await session.execute(_SUPERSEDE, {"id": resumed_from})


def answers_document(state: DialogueState, attempt_id: int) -> str:
    """The response's answers as stored (JSON), each naming the attempt that collected it."""
    answers = {
        qid: (record if record.attempt_id is not None else replace(record, attempt_id=attempt_id))
        for qid, record in state.answers
    }
    return json.dumps({qid: record.to_dict() for qid, record in answers.items()})
