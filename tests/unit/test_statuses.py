"""Call-status progress: callbacks may only move an attempt forward."""

from __future__ import annotations

import itertools

import pytest

from app.calls.models import AttemptStatus
from app.calls.statuses import attempt_status, is_final, rank
from app.telephony.base import CallState

FINAL = ["completed", "busy", "no-answer", "failed", "canceled", "error", "stale"]
NON_FINAL = ["dispatching", "queued", "initiated", "ringing", "in-progress"]


def r(status: str) -> int:
    return rank(AttemptStatus(status))


def test_every_attempt_status_is_either_final_or_not() -> None:
    assert set(FINAL) | set(NON_FINAL) == {s.value for s in AttemptStatus}
    assert not set(FINAL) & set(NON_FINAL)


@pytest.mark.parametrize(
    ("status", "expected"), [*((s, True) for s in FINAL), *((s, False) for s in NON_FINAL)]
)
def test_is_final(status: str, expected: bool) -> None:
    assert is_final(AttemptStatus(status)) is expected


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
    assert r(status) == expected


@pytest.mark.parametrize(("final", "other"), list(itertools.product(FINAL, NON_FINAL)))
def test_every_final_status_ranks_above_every_non_final_one(final: str, other: str) -> None:
    assert r(final) > r(other)


@pytest.mark.parametrize("earlier", ["in-progress", *FINAL])
def test_a_late_ringing_never_ranks_higher(earlier: str) -> None:
    assert r("ringing") < r(earlier)


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
    assert r(later) > r(earlier)


@pytest.mark.parametrize(
    ("first", "second"),
    [*itertools.permutations(FINAL, 2), ("queued", "initiated"), ("initiated", "queued")],
)
def test_equal_ranks_do_not_move_an_attempt(first: str, second: str) -> None:
    assert r(second) <= r(first)


@pytest.mark.parametrize("state", list(CallState))
def test_every_provider_call_state_is_recorded_as_the_attempt_status_of_its_name(
    state: CallState,
) -> None:
    status = attempt_status(state)

    assert status.value == state.value
    assert is_final(status) is state.is_final


def test_the_provider_final_states_are_the_final_attempt_statuses_a_provider_can_report() -> None:
    final = {s.value for s in CallState if s.is_final}

    assert final == {"completed", "busy", "no-answer", "failed", "canceled"}
    assert final == set(FINAL) - {"error", "stale"}  # those two are recorded by the service
