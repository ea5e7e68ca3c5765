"""Call statuses as providers report them, and how far along each one is."""

from __future__ import annotations

from app.calls.models import AttemptStatus

PROVIDER_STATUSES = frozenset(
    {
        AttemptStatus.QUEUED,
        AttemptStatus.INITIATED,
        AttemptStatus.RINGING,
        AttemptStatus.IN_PROGRESS,
        AttemptStatus.COMPLETED,
        AttemptStatus.BUSY,
        AttemptStatus.NO_ANSWER,
        AttemptStatus.FAILED,
        AttemptStatus.CANCELED,
    }
)

FINAL_STATUSES = frozenset(
    {
        AttemptStatus.COMPLETED,
        AttemptStatus.BUSY,
        AttemptStatus.NO_ANSWER,
        AttemptStatus.FAILED,
        AttemptStatus.CANCELED,
        AttemptStatus.ERROR,
        AttemptStatus.STALE,
    }
)

_RANK = {
    AttemptStatus.DISPATCHING: 0,
    AttemptStatus.QUEUED: 1,
    AttemptStatus.INITIATED: 1,
    AttemptStatus.RINGING: 2,
    AttemptStatus.IN_PROGRESS: 3,
}


def rank(status: str) -> int:
    """Progress of a status; a callback may only move an attempt to a higher rank."""
    return 4 if status in FINAL_STATUSES else _RANK[AttemptStatus(status)]


def is_final(status: str) -> bool:
    return status in FINAL_STATUSES
