"""What an ended attempt means for its contact: pure rules, no database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.calls.models import AttemptStatus, Outcome
from app.campaigns.models import ContactState

# Twilio error codes that mean the number itself is unusable (not worth another attempt).
# 21215 (geo permissions) is not one: the account's settings, not the number, are at fault.
INVALID_NUMBER_ERRORS = frozenset({"13223", "13224", "13225", "21211", "21214", "21217"})

_FINAL_BY_OUTCOME = {
    Outcome.COMPLETED: ContactState.COMPLETED,
    Outcome.PARTIAL: ContactState.PARTIAL,
    Outcome.REFUSED: ContactState.REFUSED,
    Outcome.OPTED_OUT: ContactState.DO_NOT_CALL,
    Outcome.INVALID_NUMBER: ContactState.FAILED,
    Outcome.FAX: ContactState.FAILED,
}

# When the last attempt failed for technical reasons the contact is `failed`, not `not_reached`.
_TECHNICAL = frozenset({Outcome.FAILED, Outcome.PROVIDER_ERROR})


@dataclass(frozen=True)
class ContactStep:
    """The contact's next state; `retry_in_minutes` is set when it goes back to pending."""

    state: ContactState
    retry_in_minutes: int | None = None


def classify(
    status: str,
    *,
    answered: bool,
    answered_by: str | None = None,
    error_code: str | None = None,
    survey_outcome: str | None = None,
) -> Outcome:
    """The outcome of an attempt that reached the final provider `status`."""
    # A survey outcome means a person went through the dialogue: it beats AMD's guess.
    if survey_outcome is not None:
        return Outcome(survey_outcome)
    if answered_by == "fax":
        return Outcome.FAX
    if answered_by and answered_by.startswith("machine"):
        return Outcome.MACHINE
    if error_code in INVALID_NUMBER_ERRORS:
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
        return by_status[AttemptStatus(status)]
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
