"""What recovery does with a silent attempt, decided from facts only: pure, no I/O.

A call the provider cannot vouch for may still be ringing someone, so doubt is never a reason to
redial. Each call is placed with a ring timeout and a time limit, which make it provably over at
`started_at + ring timeout + time limit + margin`; only then may an attempt nobody can vouch for
be closed without the provider's word.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from app.telephony.base import CallReport


class Verdict(StrEnum):
    CLOSE = "close"  # the provider says the call ended: close it with what the provider says
    LIVE = "live"  # the provider says the call goes on: keep it, and count that as news
    WAIT = "wait"  # no word to trust, and the call may still be live: keep it, ask again
    CLOSE_UNCONFIRMED = "close_unconfirmed"  # no word, but the call is provably over


def provably_over_at(
    started_at: datetime, *, ring_timeout_seconds: int, time_limit_seconds: int, margin: float
) -> datetime:
    """The instant after which the provider has certainly ended the call."""
    return started_at + timedelta(seconds=ring_timeout_seconds + time_limit_seconds + margin)


def reconcile(report: CallReport | None, *, now: datetime, over_at: datetime) -> Verdict:
    """The verdict on a silent attempt; `report` is None when the provider gave no usable word."""
    if report is not None and report.status is not None:
        return Verdict.CLOSE if report.status.is_final else Verdict.LIVE
    return Verdict.CLOSE_UNCONFIRMED if now >= over_at else Verdict.WAIT
