"""What an ended attempt means for its contact: pure rules, no database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.calls.models import AttemptStatus, Outcome
from app.campaigns.models import ContactState
from app.telephony.base import Answerer

_FINAL_BY_OUTCOME = {
    Outcome.COMPLETED: ContactState.COMPLETED,
    Outcome.PARTIAL: ContactState.PARTIAL,
    Outcome.REFUSED: ContactState.REFUSED,
    Outcome.OPTED_OUT: ContactState.DO_NOT_CALL,
    Outcome.INVALID_NUMBER: ContactState.FAILED,
    Outcome.FAX: ContactState.FAILED,
    Outcome.SCREENED_OUT: ContactState.SCREENED_OUT,
}

# When the last attempt failed for technical reasons the contact is `failed`, not `not_reached`.
_TECHNICAL = frozenset({Outcome.FAILED, Outcome.PROVIDER_ERROR})

# The outcomes a campaign's `retry_rules` may name: those after which the contact is called again.
RETRYABLE = frozenset(Outcome) - set(_FINAL_BY_OUTCOME) - {Outcome.CALLBACK_REQUESTED}
RULE_NAMES = tuple(sorted([*(o.value for o in RETRYABLE), Outcome.PARTIAL.value]))

# Each appointment the respondent makes earns one attempt beyond max_attempts, up to this many:
# enough to honour "call me tomorrow" twice, not enough to call someone for ever.
EXTRA_ATTEMPTS_BY_APPOINTMENT = 2


@dataclass(frozen=True)
class ContactStep:
    """The contact's next state; `retry_in_minutes` is set when it goes back to pending, and
    `appointment` when it goes back at the time the respondent asked for."""

    state: ContactState
    retry_in_minutes: int | None = None
    appointment: bool = False


@dataclass(frozen=True)
class RetryPlan:
    """A campaign's rules for calling a contact again."""

    max_attempts: int
    retry_after_minutes: Sequence[int] = ()
    # Per outcome name: minutes, or a schedule read like retry_after_minutes.
    retry_rules: Mapping[str, int | Sequence[int]] | None = None
    resume_partials: bool = False

    def attempts_allowed(self, appointments: int) -> int:
        return self.max_attempts + min(max(appointments, 0), EXTRA_ATTEMPTS_BY_APPOINTMENT)

    def delay(self, outcome: Outcome, attempt_number: int) -> int:
        """Minutes to wait after `outcome` on attempt `attempt_number`."""
        rule = (self.retry_rules or {}).get(outcome.value)
        if rule is None:
            return retry_delay(attempt_number, self.retry_after_minutes)
        schedule = [rule] if isinstance(rule, int) else list(rule)
        return retry_delay(attempt_number, schedule)


def classify(
    status: AttemptStatus,
    *,
    answered: bool,
    answered_by: Answerer | None = None,
    invalid_number: bool = False,
    survey_outcome: Outcome | None = None,
) -> Outcome:
    """The outcome of an attempt that reached the final `status`."""
    # A survey outcome means a person went through the dialogue: it beats AMD's guess.
    if survey_outcome is not None:
        return survey_outcome
    if answered_by is Answerer.FAX:
        return Outcome.FAX
    if answered_by is Answerer.MACHINE:
        return Outcome.MACHINE
    if invalid_number:
        return Outcome.INVALID_NUMBER
    by_status = {
        AttemptStatus.BUSY: Outcome.BUSY,
        AttemptStatus.NO_ANSWER: Outcome.NO_ANSWER,
        AttemptStatus.FAILED: Outcome.FAILED,
        AttemptStatus.CANCELED: Outcome.CANCELED,
        AttemptStatus.ERROR: Outcome.PROVIDER_ERROR,
        AttemptStatus.STALE: Outcome.STALE,
    }
    if status in by_status:
        return by_status[status]
    return Outcome.HANGUP if answered else Outcome.NO_ANSWER


def next_step(
    outcome: Outcome,
    *,
    attempt_number: int,
    max_attempts: int,
    retry_after_minutes: Sequence[int],
    retry_rules: Mapping[str, int | Sequence[int]] | None = None,
    resume_partials: bool = False,
    appointments: int = 0,
) -> ContactStep:
    """Finalise the contact, or send it back to pending after the campaign's retry delay.

    `appointments` counts the appointments the contact has made, this attempt's included.
    """
    plan = RetryPlan(max_attempts, retry_after_minutes, retry_rules, resume_partials)
    return plan_step(plan, outcome, attempt_number=attempt_number, appointments=appointments)


def plan_step(
    plan: RetryPlan, outcome: Outcome, *, attempt_number: int, appointments: int = 0
) -> ContactStep:
    """`next_step` under a campaign's whole retry plan."""
    attempts_left = attempt_number < plan.attempts_allowed(appointments)
    if outcome is Outcome.CALLBACK_REQUESTED:
        if attempts_left:
            return ContactStep(ContactState.PENDING, appointment=True)
        return ContactStep(ContactState.NOT_REACHED)
    if outcome is Outcome.PARTIAL and plan.resume_partials and attempts_left:
        return ContactStep(ContactState.PENDING, plan.delay(outcome, attempt_number))
    final = _FINAL_BY_OUTCOME.get(outcome)
    if final is not None:
        return ContactStep(final)
    if not attempts_left:
        exhausted = ContactState.FAILED if outcome in _TECHNICAL else ContactState.NOT_REACHED
        return ContactStep(exhausted)
    return ContactStep(ContactState.PENDING, plan.delay(outcome, attempt_number))


def retry_delay(attempt_number: int, retry_after_minutes: Sequence[int]) -> int:
    """Minutes to wait before attempt `attempt_number + 1`; the last delay repeats."""
    if not retry_after_minutes:
        return 0
    index = min(attempt_number - 1, len(retry_after_minutes) - 1)
    return retry_after_minutes[index]
