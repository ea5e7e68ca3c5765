"""Recovery's verdict on a silent attempt: from the provider's word, or from the clock alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.scheduler.reconcile import Verdict, provably_over_at, reconcile
from app.telephony.base import CallReport, CallState

STARTED = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
OVER_AT = provably_over_at(STARTED, ring_timeout_seconds=30, time_limit_seconds=900, margin=300)
BEFORE = OVER_AT - timedelta(seconds=1)


def test_a_call_is_provably_over_after_ring_time_time_limit_and_margin() -> None:
    assert STARTED + timedelta(seconds=1230) == OVER_AT


@pytest.mark.parametrize(
    ("report", "now", "verdict"),
    [
        # The provider's word decides, before and after the bound alike.
        (CallReport(status=CallState.COMPLETED), BEFORE, Verdict.CLOSE),
        (CallReport(status=CallState.NO_ANSWER), OVER_AT, Verdict.CLOSE),
        (CallReport(status=CallState.CANCELED), BEFORE, Verdict.CLOSE),
        (CallReport(status=CallState.IN_PROGRESS), BEFORE, Verdict.LIVE),
        (CallReport(status=CallState.RINGING), OVER_AT + timedelta(days=1), Verdict.LIVE),
        (CallReport(status=CallState.QUEUED), OVER_AT, Verdict.LIVE),
        # No usable word: wait while the call may be live, close once it provably is not.
        (None, STARTED, Verdict.WAIT),
        (None, BEFORE, Verdict.WAIT),
        (CallReport(status=None), BEFORE, Verdict.WAIT),
        (None, OVER_AT, Verdict.CLOSE_UNCONFIRMED),
        (CallReport(status=None), OVER_AT + timedelta(hours=1), Verdict.CLOSE_UNCONFIRMED),
    ],
)
def test_verdict(report: CallReport | None, now: datetime, verdict: Verdict) -> None:
    assert reconcile(report, now=now, over_at=OVER_AT) is verdict
