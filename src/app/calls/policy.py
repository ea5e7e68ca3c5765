"""What an ended attempt means for its contact: pure rules, no database."""

from __future__ import annotations

from collections.abc import Sequence
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


@dataclass(frozen=True)
class ContactStep:
    """The contact's next state; `retry_in_minutes` is set when it goes back to pending."""

    state: ContactState
    retry_in_minutes: int | None = None


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
    outcome: Outcome, *, attempt_number: int, max_attempts: int, retry_after_minutes: Sequence[int]
) -> ContactStep:
    """Finalise the contact, or send it back to pending after the campaign's retry delay."""
    final = _FINAL_BY_OUTCOME.get(outcome)
    if final is not None:
        return ContactStep(final)
    if attempt_number >= max_attempts:
        exhausted = ContactState.FAILED if outcome in _TECHNICAL else ContactState.NOT_REACHED
        return ContactStep(exhausted)
    return ContactStep(ContactState.PENDING, retry_delay(attempt_number, retry_after_minutes))


def retry_delay(attempt_number: int, retry_after_minutes: Sequence[int]) -> int:
    """Minutes to wait before attempt `attempt_number + 1`; the last delay repeats."""
    if not retry_after_minutes:
        return 0
    index = min(attempt_number - 1, len(retry_after_minutes) - 1)
    return retry_after_minutes[index]
