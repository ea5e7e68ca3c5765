"""What an ended attempt means: its outcome, then the contact's next state."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from app.calls.models import Outcome
from app.calls.policy import (
    INVALID_NUMBER_ERRORS,
    ContactStep,
    classify,
    next_step,
    retry_delay,
)
from app.campaigns.models import ContactState

SCHEDULE = [60, 240]

# --- classify --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "answered", "expected"),
    [
        ("completed", True, Outcome.HANGUP),
        ("completed", False, Outcome.NO_ANSWER),
        ("busy", False, Outcome.BUSY),
        ("busy", True, Outcome.BUSY),
        ("no-answer", False, Outcome.NO_ANSWER),
        ("no-answer", True, Outcome.NO_ANSWER),
        ("failed", False, Outcome.FAILED),
        ("failed", True, Outcome.FAILED),
        ("canceled", False, Outcome.CANCELED),
        ("canceled", True, Outcome.CANCELED),
        ("error", False, Outcome.PROVIDER_ERROR),
        ("error", True, Outcome.PROVIDER_ERROR),
        ("stale", False, Outcome.STALE),
        ("stale", True, Outcome.STALE),
    ],
)
def test_classify_by_final_status(status: str, answered: bool, expected: Outcome) -> None:
    assert classify(status, answered=answered) is expected


@pytest.mark.parametrize(
    ("answered_by", "expected"),
    [
        ("machine_start", Outcome.MACHINE),
        ("machine_end_beep", Outcome.MACHINE),
        ("machine_end_silence", Outcome.MACHINE),
        ("machine_end_other", Outcome.MACHINE),
        ("fax", Outcome.FAX),
        ("human", Outcome.HANGUP),
        ("unknown", Outcome.HANGUP),
        (None, Outcome.HANGUP),
        ("", Outcome.HANGUP),
    ],
)
def test_classify_by_answered_by(answered_by: str | None, expected: Outcome) -> None:
    assert classify("completed", answered=True, answered_by=answered_by) is expected


@pytest.mark.parametrize(
    ("status", "answered_by", "expected"),
    [
        ("no-answer", "human", Outcome.NO_ANSWER),
        ("busy", "human", Outcome.BUSY),
        ("completed", "fax", Outcome.FAX),
        ("failed", "machine_start", Outcome.MACHINE),
    ],
)
def test_classify_answered_by_against_status(
    status: str, answered_by: str, expected: Outcome
) -> None:
    assert classify(status, answered=False, answered_by=answered_by) is expected


@pytest.mark.parametrize("code", sorted(INVALID_NUMBER_ERRORS))
@pytest.mark.parametrize("status", ["failed", "completed", "no-answer"])
def test_classify_invalid_number_error_codes(code: str, status: str) -> None:
    assert classify(status, answered=False, error_code=code) is Outcome.INVALID_NUMBER


def test_invalid_number_error_codes_are_the_documented_ones() -> None:
    assert (
        frozenset({"13223", "13224", "13225", "21211", "21214", "21217"}) == INVALID_NUMBER_ERRORS
    )


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        ("failed", "30003", Outcome.FAILED),  # unreachable handset: worth another try
        ("failed", "31005", Outcome.FAILED),
        ("busy", "30008", Outcome.BUSY),
        ("failed", "", Outcome.FAILED),
        ("failed", None, Outcome.FAILED),
    ],
)
def test_classify_other_error_codes_fall_back_to_status(
    status: str, code: str | None, expected: Outcome
) -> None:
    assert classify(status, answered=False, error_code=code) is expected


@pytest.mark.parametrize(
    ("survey_outcome", "status", "answered", "answered_by", "error_code", "expected"),
    [
        ("completed", "completed", True, None, None, Outcome.COMPLETED),
        ("partial", "completed", True, None, None, Outcome.PARTIAL),
        ("refused", "completed", True, None, None, Outcome.REFUSED),
        ("opted_out", "completed", True, None, None, Outcome.OPTED_OUT),
        ("completed", "completed", True, "human", None, Outcome.COMPLETED),
        ("partial", "completed", True, "unknown", None, Outcome.PARTIAL),
        # The dialogue's own outcome beats whatever the provider adds at hang-up.
        ("partial", "failed", True, None, "21211", Outcome.PARTIAL),
        ("completed", "completed", False, None, None, Outcome.COMPLETED),
        ("refused", "canceled", True, None, None, Outcome.REFUSED),
        # AMD misclassifies some humans (TWILIO.md). A survey outcome only exists when a person
        # went through the dialogue, so it must win: otherwise a completed survey is stored as
        # `machine` and the contact is called again.
        pytest.param(
            "completed", "completed", True, "machine_start", None, Outcome.COMPLETED,
            id="completed-survey-despite-amd-machine_start",
        ),
        pytest.param(
            "partial", "completed", True, "machine_end_beep", None, Outcome.PARTIAL,
            id="partial-survey-despite-amd-machine_end_beep",
        ),
        pytest.param(
            "refused", "completed", True, "machine_end_other", None, Outcome.REFUSED,
            id="refusal-despite-amd-machine_end_other",
        ),
    ],
)  # fmt: skip
def test_classify_survey_outcome_precedence(
    survey_outcome: str,
    status: str,
    answered: bool,
    answered_by: str | None,
    error_code: str | None,
    expected: Outcome,
) -> None:
    outcome = classify(
        status,
        answered=answered,
        answered_by=answered_by,
        error_code=error_code,
        survey_outcome=survey_outcome,
    )

    assert outcome is expected


def test_classify_rejects_an_unknown_survey_outcome() -> None:
    with pytest.raises(ValueError, match="maybe"):
        classify("completed", answered=True, survey_outcome="maybe")


# --- next_step -------------------------------------------------------------------------------

FINAL = [
    (Outcome.COMPLETED, ContactState.COMPLETED),
    (Outcome.PARTIAL, ContactState.PARTIAL),
    (Outcome.REFUSED, ContactState.REFUSED),
    (Outcome.OPTED_OUT, ContactState.DO_NOT_CALL),
    (Outcome.INVALID_NUMBER, ContactState.FAILED),
    (Outcome.FAX, ContactState.FAILED),
]
RETRY_THEN_NOT_REACHED = [
    Outcome.HANGUP,
    Outcome.NO_ANSWER,
    Outcome.BUSY,
    Outcome.MACHINE,
    Outcome.CANCELED,
    Outcome.STALE,
]
RETRY_THEN_FAILED = [Outcome.FAILED, Outcome.PROVIDER_ERROR]


def test_every_outcome_has_a_next_step_in_these_tables() -> None:
    covered = {o for o, _ in FINAL} | set(RETRY_THEN_NOT_REACHED) | set(RETRY_THEN_FAILED)

    assert covered == set(Outcome)


@pytest.mark.parametrize(("outcome", "state"), FINAL)
@pytest.mark.parametrize("attempt_number", [1, 2, 3])
def test_next_step_final_outcomes(
    outcome: Outcome, state: ContactState, attempt_number: int
) -> None:
    step = next_step(
        outcome, attempt_number=attempt_number, max_attempts=3, retry_after_minutes=SCHEDULE
    )

    assert step == ContactStep(state, None)


@pytest.mark.parametrize("outcome", RETRY_THEN_NOT_REACHED + RETRY_THEN_FAILED)
@pytest.mark.parametrize(("attempt_number", "delay"), [(1, 60), (2, 240)])
def test_next_step_retries_with_the_delay_for_this_attempt(
    outcome: Outcome, attempt_number: int, delay: int
) -> None:
    step = next_step(
        outcome, attempt_number=attempt_number, max_attempts=3, retry_after_minutes=SCHEDULE
    )

    assert step == ContactStep(ContactState.PENDING, delay)


@pytest.mark.parametrize(
    ("outcome", "state"),
    [(o, ContactState.NOT_REACHED) for o in RETRY_THEN_NOT_REACHED]
    + [(o, ContactState.FAILED) for o in RETRY_THEN_FAILED],
)
@pytest.mark.parametrize(("attempt_number", "max_attempts"), [(3, 3), (1, 1), (4, 3)])
def test_next_step_when_attempts_are_exhausted(
    outcome: Outcome, state: ContactState, attempt_number: int, max_attempts: int
) -> None:
    step = next_step(
        outcome,
        attempt_number=attempt_number,
        max_attempts=max_attempts,
        retry_after_minutes=SCHEDULE,
    )

    assert step == ContactStep(state, None)


@pytest.mark.parametrize(
    ("attempt_number", "max_attempts", "schedule", "expected"),
    [
        (1, 5, [], ContactStep(ContactState.PENDING, 0)),
        (1, 5, [0], ContactStep(ContactState.PENDING, 0)),
        (4, 5, [30], ContactStep(ContactState.PENDING, 30)),
        (4, 5, [10, 20], ContactStep(ContactState.PENDING, 20)),
        (5, 5, [10, 20], ContactStep(ContactState.NOT_REACHED, None)),
    ],
)
def test_next_step_uses_the_retry_schedule(
    attempt_number: int, max_attempts: int, schedule: list[int], expected: ContactStep
) -> None:
    step = next_step(
        Outcome.NO_ANSWER,
        attempt_number=attempt_number,
        max_attempts=max_attempts,
        retry_after_minutes=schedule,
    )

    assert step == expected


# --- retry_delay -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt_number", "schedule", "expected"),
    [
        (1, [], 0),
        (7, [], 0),
        (1, [0], 0),
        (5, [0], 0),
        (1, [15], 15),
        (9, [15], 15),
        (1, [60, 240], 60),
        (2, [60, 240], 240),
        (3, [60, 240], 240),  # the last delay repeats
        (10, [60, 240], 240),
        (1, [5, 10, 20], 5),
        (2, [5, 10, 20], 10),
        (3, [5, 10, 20], 20),
        (4, [5, 10, 20], 20),
        (2, (1, 2), 2),
    ],
)
def test_retry_delay(attempt_number: int, schedule: Sequence[int], expected: int) -> None:
    assert retry_delay(attempt_number, schedule) == expected
