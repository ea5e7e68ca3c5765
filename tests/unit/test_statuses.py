"""Call-status progress: callbacks may only move an attempt forward."""

from __future__ import annotations

import itertools

import pytest

from app.calls.models import AttemptStatus
from app.telephony.statuses import FINAL_STATUSES, PROVIDER_STATUSES, is_final, rank

FINAL = ["completed", "busy", "no-answer", "failed", "canceled", "error", "stale"]
NON_FINAL = ["dispatching", "queued", "initiated", "ringing", "in-progress"]


def test_every_attempt_status_is_either_final_or_not() -> None:
    assert set(FINAL) | set(NON_FINAL) == {s.value for s in AttemptStatus}
    assert not set(FINAL) & set(NON_FINAL)


@pytest.mark.parametrize(
    ("status", "expected"),
    [*((s, True) for s in FINAL), *((s, False) for s in NON_FINAL), ("bogus", False), ("", False)],
)
def test_is_final(status: str, expected: bool) -> None:
    assert is_final(status) is expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("dispatching", 0),
        ("queued", 1),
        ("initiated", 1),
        ("ringing", 2),
        ("in-progress", 3),
        *((s, 4) for s in FINAL),
    ],
)
def test_rank(status: str, expected: int) -> None:
    assert rank(status) == expected


@pytest.mark.parametrize(("final", "other"), list(itertools.product(FINAL, NON_FINAL)))
def test_every_final_status_ranks_above_every_non_final_one(final: str, other: str) -> None:
    assert rank(final) > rank(other)


@pytest.mark.parametrize("earlier", ["in-progress", *FINAL])
def test_a_late_ringing_never_ranks_higher(earlier: str) -> None:
    assert rank("ringing") < rank(earlier)


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("dispatching", "queued"),
        ("dispatching", "ringing"),
        ("queued", "ringing"),
        ("initiated", "ringing"),
        ("ringing", "in-progress"),
        ("initiated", "in-progress"),
        ("in-progress", "completed"),
        ("ringing", "no-answer"),
        ("queued", "failed"),
        ("dispatching", "error"),
    ],
)
def test_the_normal_sequence_moves_forward(earlier: str, later: str) -> None:
    assert rank(later) > rank(earlier)


@pytest.mark.parametrize(
    ("first", "second"),
    [*itertools.permutations(FINAL, 2), ("queued", "initiated"), ("initiated", "queued")],
)
def test_equal_ranks_do_not_move_an_attempt(first: str, second: str) -> None:
    assert rank(second) <= rank(first)


@pytest.mark.parametrize("status", ["bogus", "", "Completed", "in_progress"])
def test_rank_rejects_an_unknown_status(status: str) -> None:
    with pytest.raises(ValueError):
        rank(status)


def test_provider_statuses_are_the_ones_twilio_reports() -> None:
    assert {
        "queued",
        "initiated",
        "ringing",
        "in-progress",
        "completed",
        "busy",
        "no-answer",
        "failed",
        "canceled",
    } == PROVIDER_STATUSES
    assert {"completed", "busy", "no-answer", "failed", "canceled"} == PROVIDER_STATUSES & (
        FINAL_STATUSES
    )
