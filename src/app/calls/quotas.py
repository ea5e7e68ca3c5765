"""Quota counts: read before a turn, added to when an interview completes, atomically.

Several workers may complete interviews of the same quota at once: each completion adds one in
a single UPDATE, so no count is lost. A respondent is screened out only when a quota is full at
the question that decides it; interviews already past that point may still complete, so a
quota can overshoot its target by at most the interviews in progress past that point when it
filled.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_FULL = text("""
SELECT name FROM campaign_quotas WHERE campaign_id = :campaign_id AND completes >= target
""")

_COUNT = text("""
UPDATE campaign_quotas SET completes = completes + 1
WHERE campaign_id = :campaign_id AND name = ANY(CAST(:names AS text[]))
""")


async def full_quotas(session: AsyncSession, campaign_id: int) -> frozenset[str]:
    """The campaign's quotas whose target is reached."""
    rows = await session.execute(_FULL, {"campaign_id": campaign_id})
    return frozenset(rows.scalars())


async def count_complete(session: AsyncSession, campaign_id: int, names: Sequence[str]) -> None:
    """One more completed interview in each of these quotas."""
    if names:
        await session.execute(_COUNT, {"campaign_id": campaign_id, "names": list(names)})
