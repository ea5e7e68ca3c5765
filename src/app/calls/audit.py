"""The audit trail of a contact: what it said yes to, when it asked to be called, opt-outs."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

CONSENT = "consent"
OPT_OUT = "opt_out"
APPOINTMENT = "appointment"
VOICEMAIL = "voicemail"

_RECORD = text("""
INSERT INTO contact_events (contact_id, campaign_id, call_attempt_id, kind, detail)
VALUES (:contact_id, :campaign_id, :attempt_id, :kind, CAST(:detail AS jsonb))
""")


async def record_event(
    session: AsyncSession,
    *,
    contact_id: int,
    campaign_id: int,
    attempt_id: int | None,
    kind: str,
    detail: dict[str, Any],
) -> None:
    """Append one event; the caller commits it with the turn that caused it."""
    await session.execute(
        _RECORD,
        {
            "contact_id": contact_id,
            "campaign_id": campaign_id,
            "attempt_id": attempt_id,
            "kind": kind,
            "detail": json.dumps(detail, default=str),
        },
    )
