"""How far along an attempt's status is, and the attempt status a provider's call status means."""

from __future__ import annotations

from app.calls.models import AttemptStatus
from app.telephony.base import CallState

# Every provider status is an attempt status of the same name (the attempt adds its own:
# dispatching before the provider knows the call, error and stale when it is closed without it).
_OF_CALL = {status: AttemptStatus(status.value) for status in CallState}

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


def attempt_status(status: CallState) -> AttemptStatus:
    """The attempt status recorded for what the provider says of the call."""
    return _OF_CALL[status]


def rank(status: AttemptStatus) -> int:
    """Progress of a status; a callback may only move an attempt to a higher rank."""
    return 4 if status in FINAL_STATUSES else _RANK[status]


def is_final(status: AttemptStatus) -> bool:
    return status in FINAL_STATUSES


def rank_sql(column: str) -> str:
    """`rank` of the status in `column`, as an SQL expression."""
    ranked = " ".join(f"WHEN '{status.value}' THEN {value}" for status, value in _RANK.items())
    return f"(CASE {column} {ranked} ELSE 4 END)"
