"""Whether "call me later" can be promised: the rule that moves the contact when the attempt
closes (app.calls.policy), asked before the respondent is told anything."""

from __future__ import annotations

import pytest

from app.calls.models import Outcome
from app.calls.policy import next_step
from app.calls.voice import callback_possible
from app.campaigns.models import ContactState


@pytest.mark.parametrize(
    ("max_attempts", "attempt_number", "appointments", "possible"),
    [
        (3, 1, 0, True),
        (3, 3, 0, True),  # the last attempt: the appointment earns a fourth
        (3, 4, 1, True),  # the second appointment earns a fifth
        (3, 5, 2, False),  # a third earns nothing: two extra attempts at most
        (1, 1, 0, True),
        (1, 2, 1, True),
        (1, 3, 2, False),
        (3, 2, 5, True),  # attempts are left anyway
        (3, 6, 0, False),  # past every attempt: nothing left
    ],
)
def test_an_appointment_is_possible_while_it_earns_an_attempt(
    max_attempts: int, attempt_number: int, appointments: int, possible: bool
) -> None:
    allowed = callback_possible(
        max_attempts=max_attempts, attempt_number=attempt_number, appointments=appointments
    )

    assert allowed is possible
    # ... which is what closing the attempt with a booked appointment then does.
    closed = next_step(
        Outcome.CALLBACK_REQUESTED,
        attempt_number=attempt_number,
        max_attempts=max_attempts,
        retry_after_minutes=[60],
        appointments=appointments + 1,
    )
    assert (closed.state is ContactState.PENDING) is possible
