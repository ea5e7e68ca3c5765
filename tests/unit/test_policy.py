"""What an ended attempt means: its outcome, then the contact's next state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.calls.models import AttemptStatus, Outcome
from app.calls.policy import ContactStep, classify, next_step, retry_delay
from app.campaigns.models import ContactState
from app.scheduler.window import CallWindow, next_opening
from app.telephony.base import Answerer

SCHEDULE = [60, 240]

# --- classify --------------------------------------------------------------------------------

S = AttemptStatus


@pytest.mark.parametrize(
    ("status", "answered", "expected"),
    [
        (S.COMPLETED, True, Outcome.HANGUP),
        (S.COMPLETED, False, Outcome.NO_ANSWER),
        (S.BUSY, False, Outcome.BUSY),
        (S.BUSY, True, Outcome.BUSY),
        (S.NO_ANSWER, False, Outcome.NO_ANSWER),
        (S.NO_ANSWER, True, Outcome.NO_ANSWER),
        (S.FAILED, False, Outcome.FAILED),
        (S.FAILED, True, Outcome.FAILED),
        (S.CANCELED, False, Outcome.CANCELED),
        (S.CANCELED, True, Outcome.CANCELED),
        (S.ERROR, False, Outcome.PROVIDER_ERROR),
        (S.ERROR, True, Outcome.PROVIDER_ERROR),
        (S.STALE, False, Outcome.STALE),
        (S.STALE, True, Outcome.STALE),
    ],
)
def test_classify_by_final_status(status: AttemptStatus, answered: bool, expected: Outcome) -> None:
    assert classify(status, answered=answered) is expected


@pytest.mark.parametrize(
    ("answered_by", "expected"),
    [
        (Answerer.MACHINE, Outcome.MACHINE),
        (Answerer.FAX, Outcome.FAX),
        (Answerer.HUMAN, Outcome.HANGUP),
        (Answerer.UNKNOWN, Outcome.HANGUP),
        (None, Outcome.HANGUP),
    ],
)
def test_classify_by_answered_by(answered_by: Answerer | None, expected: Outcome) -> None:
    assert classify(S.COMPLETED, answered=True, answered_by=answered_by) is expected


@pytest.mark.parametrize(
    ("status", "answered_by", "expected"),
    [
        (S.NO_ANSWER, Answerer.HUMAN, Outcome.NO_ANSWER),
        (S.BUSY, Answerer.HUMAN, Outcome.BUSY),
        (S.COMPLETED, Answerer.FAX, Outcome.FAX),
        (S.FAILED, Answerer.MACHINE, Outcome.MACHINE),
    ],
)
def test_classify_answered_by_against_status(
    status: AttemptStatus, answered_by: Answerer, expected: Outcome
) -> None:
    assert classify(status, answered=False, answered_by=answered_by) is expected


@pytest.mark.parametrize("status", [S.FAILED, S.COMPLETED, S.NO_ANSWER])
def test_classify_a_number_the_provider_says_is_invalid(status: AttemptStatus) -> None:
    assert classify(status, answered=False, invalid_number=True) is Outcome.INVALID_NUMBER


@pytest.mark.parametrize(
    ("survey_outcome", "status", "answered", "answered_by", "invalid", "expected"),
    [
        (Outcome.COMPLETED, S.COMPLETED, True, None, False, Outcome.COMPLETED),
        (Outcome.PARTIAL, S.COMPLETED, True, None, False, Outcome.PARTIAL),
        (Outcome.REFUSED, S.COMPLETED, True, None, False, Outcome.REFUSED),
        (Outcome.OPTED_OUT, S.COMPLETED, True, None, False, Outcome.OPTED_OUT),
        (Outcome.COMPLETED, S.COMPLETED, True, Answerer.HUMAN, False, Outcome.COMPLETED),
        (Outcome.PARTIAL, S.COMPLETED, True, Answerer.UNKNOWN, False, Outcome.PARTIAL),
        # The dialogue's own outcome beats whatever the provider adds at hang-up.
        (Outcome.PARTIAL, S.FAILED, True, None, True, Outcome.PARTIAL),
        (Outcome.COMPLETED, S.COMPLETED, False, None, False, Outcome.COMPLETED),
        (Outcome.REFUSED, S.CANCELED, True, None, False, Outcome.REFUSED),
        # AMD misclassifies some humans (TWILIO.md). A survey outcome only exists when a person
        # went through the dialogue, so it must win: otherwise a completed survey is stored as
        # `machine` and the contact is called again.
        pytest.param(
            Outcome.COMPLETED, S.COMPLETED, True, Answerer.MACHINE, False, Outcome.COMPLETED,
            id="completed-survey-despite-amd-machine",
        ),
        pytest.param(
            Outcome.PARTIAL, S.COMPLETED, True, Answerer.MACHINE, False, Outcome.PARTIAL,
            id="partial-survey-despite-amd-machine",
        ),
        pytest.param(
            Outcome.REFUSED, S.COMPLETED, True, Answerer.FAX, False, Outcome.REFUSED,
            id="refusal-despite-amd-fax",
        ),
    ],
)  # fmt: skip
def test_classify_survey_outcome_precedence(
    survey_outcome: Outcome,
    status: AttemptStatus,
    answered: bool,
    answered_by: Answerer | None,
    invalid: bool,
    expected: Outcome,
) -> None:
    outcome = classify(
        status,
        answered=answered,
        answered_by=answered_by,
        invalid_number=invalid,
        survey_outcome=survey_outcome,
    )

    assert outcome is expected


# --- next_step -------------------------------------------------------------------------------

FINAL = [
    (Outcome.COMPLETED, ContactState.COMPLETED),
    (Outcome.PARTIAL, ContactState.PARTIAL),
    (Outcome.REFUSED, ContactState.REFUSED),
    (Outcome.OPTED_OUT, ContactState.DO_NOT_CALL),
    (Outcome.INVALID_NUMBER, ContactState.FAILED),
    (Outcome.FAX, ContactState.FAILED),
    (Outcome.SCREENED_OUT, ContactState.SCREENED_OUT),
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
APPOINTMENT = [Outcome.CALLBACK_REQUESTED]


def test_every_outcome_has_a_next_step_in_these_tables() -> None:
    covered = (
        {o for o, _ in FINAL}
        | set(RETRY_THEN_NOT_REACHED)
        | set(RETRY_THEN_FAILED)
        | set(APPOINTMENT)
    )

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


# --- retry rules, resumed interviews, appointments ----------------------------------------

RULES = {"busy": 5, "no_answer": [30, 120], "partial": 10}


@pytest.mark.parametrize(
    ("outcome", "attempt_number", "expected_delay"),
    [
        (Outcome.BUSY, 1, 5),  # a number: the same delay after every attempt
        (Outcome.BUSY, 2, 5),
        (Outcome.NO_ANSWER, 1, 30),  # a schedule: one delay per attempt, the last repeats
        (Outcome.NO_ANSWER, 2, 120),
        (Outcome.NO_ANSWER, 3, 120),
        (Outcome.MACHINE, 1, 60),  # no rule: retry_after_minutes
        (Outcome.MACHINE, 2, 240),
        (Outcome.PROVIDER_ERROR, 1, 60),
    ],
)
def test_retry_rules_choose_the_delay_per_outcome(
    outcome: Outcome, attempt_number: int, expected_delay: int
) -> None:
    step = next_step(
        outcome,
        attempt_number=attempt_number,
        max_attempts=5,
        retry_after_minutes=SCHEDULE,
        retry_rules=RULES,
    )

    assert step == ContactStep(ContactState.PENDING, expected_delay)


@pytest.mark.parametrize(
    ("resume", "attempt_number", "expected"),
    [
        (True, 1, ContactStep(ContactState.PENDING, 10)),
        (True, 2, ContactStep(ContactState.PENDING, 10)),
        (True, 3, ContactStep(ContactState.PARTIAL)),  # attempts ran out: partial is final
        (False, 1, ContactStep(ContactState.PARTIAL)),
    ],
)
def test_a_broken_off_interview_is_resumed_while_attempts_remain(
    resume: bool, attempt_number: int, expected: ContactStep
) -> None:
    step = next_step(
        Outcome.PARTIAL,
        attempt_number=attempt_number,
        max_attempts=3,
        retry_after_minutes=SCHEDULE,
        retry_rules=RULES,
        resume_partials=resume,
    )

    assert step == expected


@pytest.mark.parametrize(
    ("attempt_number", "appointments", "expected"),
    [
        (1, 1, ContactStep(ContactState.PENDING, appointment=True)),
        # On the last attempt, the first appointment earns one more ...
        (3, 1, ContactStep(ContactState.PENDING, appointment=True)),
        (4, 2, ContactStep(ContactState.PENDING, appointment=True)),
        # ... and no more than two in all.
        (5, 3, ContactStep(ContactState.NOT_REACHED)),
        (3, 0, ContactStep(ContactState.NOT_REACHED)),
    ],
)
def test_an_appointment_goes_back_to_pending_and_earns_at_most_two_attempts(
    attempt_number: int, appointments: int, expected: ContactStep
) -> None:
    step = next_step(
        Outcome.CALLBACK_REQUESTED,
        attempt_number=attempt_number,
        max_attempts=3,
        retry_after_minutes=SCHEDULE,
        appointments=appointments,
    )

    assert step == expected


def test_attempts_earned_by_appointments_serve_ordinary_retries_too() -> None:
    step = next_step(
        Outcome.NO_ANSWER,
        attempt_number=3,
        max_attempts=3,
        retry_after_minutes=SCHEDULE,
        appointments=1,
    )

    assert step == ContactStep(ContactState.PENDING, 240)


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


WINDOW = CallWindow.parse(
    {"start": "09:00", "end": "20:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
)
ALL_DAY = CallWindow.parse({"start": "00:00", "end": "23:59:59", "days": ["sat", "sun"]})


@pytest.mark.parametrize(
    ("zone", "ended", "outcome", "window", "expected"),
    [
        # A rule is a duration, not a wall-clock time: 1440 minutes across the spring change end
        # an hour later on the clock, 20:30 in Rome, past the window: the next morning instead.
        ("Europe/Rome", "2026-03-28T19:30", Outcome.NO_ANSWER, WINDOW, "2026-03-30T09:00"),
        # ...and across the autumn change an hour earlier, still inside the window.
        ("Europe/Rome", "2026-10-24T19:30", Outcome.NO_ANSWER, WINDOW, "2026-10-25T18:30"),
        # 15 minutes from 01:50 on the night New York skips 02:00-03:00 is 03:05, a real time.
        ("America/New_York", "2026-03-08T01:50", Outcome.BUSY, ALL_DAY, "2026-03-08T03:05"),
        # 15 minutes from 01:50 (first pass) on the night 01:00-02:00 happens twice: the second
        # 01:05, which is 15 minutes later, not 45.
        ("America/New_York", "2026-11-01T01:50", Outcome.BUSY, ALL_DAY, "2026-11-01T01:05"),
    ],
)
def test_a_retry_across_a_daylight_saving_change_waits_its_minutes_then_the_window(
    zone: str, ended: str, outcome: Outcome, window: CallWindow, expected: str
) -> None:
    tz = ZoneInfo(zone)
    end = datetime.fromisoformat(ended).replace(tzinfo=tz, fold=0)
    step = next_step(
        outcome,
        attempt_number=1,
        max_attempts=3,
        retry_after_minutes=[60],
        retry_rules={"no_answer": 1440, "busy": 15},
    )
    assert step.retry_in_minutes is not None
    due = (end.astimezone(UTC) + timedelta(minutes=step.retry_in_minutes)).astimezone(tz)

    opening = next_opening(window, due, zone)

    assert opening is not None
    assert opening.astimezone(tz).replace(tzinfo=None) == datetime.fromisoformat(expected)
    assert opening - end.astimezone(UTC) >= timedelta(minutes=step.retry_in_minutes)
