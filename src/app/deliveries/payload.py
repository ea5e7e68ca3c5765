"""The body of a results webhook request: one interview, built from the data as it is when it
is sent. Pure functions: the rows come from service.load_interviews."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from app.deliveries.signing import delivery_key
from app.reports.dispositions import Disposition, attempt_disposition, contact_disposition
from app.reports.export import ResponseLayout

# (outcome, questions answered or None) of each ended attempt of the contact.
AttemptResult = tuple[str, int | None]


def build_payload(
    row: Mapping[Any, Any], *, layout: ResponseLayout, attempts: Iterable[AttemptResult]
) -> dict[str, Any]:
    """One interview as the receiver gets it. An erased person's interview says only what the
    campaign's figures keep (state, disposition, counts, dates): no answer, no external id."""
    erased = row["erased_at"] is not None
    disposition = _disposition(row["state"], attempts, questions=len(layout.questions))
    has_response = row["response_id"] is not None and not erased
    return {
        "delivery_id": delivery_key(row["campaign_id"], row["contact_id"]),
        "campaign_id": row["campaign_id"],
        "campaign_name": row["campaign_name"],
        "campaign_status": row["campaign_status"],
        "contact_id": row["contact_id"],
        "external_id": None if erased else row["external_id"],
        "state": row["state"],
        "last_outcome": row["last_outcome"],
        "disposition": disposition.code,
        "disposition_label": disposition.label,
        "attempts": row["attempts_count"],
        "completed_at": _iso(row["final_at"]),
        "language": None if erased else (row["language"] or row["contact_language"]),
        "erased": erased,
        "response_id": row["response_id"] if has_response else None,
        "interview_completed": bool(row["completed"]) if has_response else False,
        "screened_out_by": row["screened_out_by"] if has_response else None,
        "answers": answers(row, layout) if has_response else {},
    }


def answers(row: Mapping[Any, Any], layout: ResponseLayout) -> dict[str, dict[str, Any]]:
    """Each question of the survey, with its value and skip reason exactly as the export shows
    them (`not_asked` for a question the interview never reached)."""
    exported = layout.row(row)
    return {
        q.question.id: {"value": exported[q.value], "skipped": exported[q.skipped]}
        for q in layout.questions
    }


def encode(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed and sent: compact UTF-8 JSON, keys sorted."""
    text = json.dumps(
        payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"), sort_keys=True
    )
    return text.encode("utf-8")


def _disposition(state: str, attempts: Iterable[AttemptResult], *, questions: int) -> Disposition:
    return contact_disposition(
        state,
        (attempt_disposition(o, answered=a, questions=questions) for o, a in attempts),
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
