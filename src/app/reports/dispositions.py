"""AAPOR final disposition codes for call attempts and contacts: pure rules, no database.

Codes and names follow the AAPOR Standard Definitions table for telephone surveys; docs/results.md
explains every choice (why an answering machine is 2.22, when an interrupted interview is a
partial, why a do-not-call number is out of sample).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from app.calls.models import Outcome
from app.campaigns.models import ContactState

# An interrupted interview with at least this share of the survey's questions answered is a
# partial (1.2); below it, a break-off (2.12). AAPOR leaves the threshold to the researcher and
# gives 50% as its example.
PARTIAL_MIN_PERCENT = 50


class Category(StrEnum):
    """The groups the AAPOR rate formulas add up."""

    COMPLETE = "I"
    PARTIAL = "P"
    REFUSAL = "R"  # refusals and break-offs
    NON_CONTACT = "NC"
    OTHER = "O"
    UNKNOWN_HOUSEHOLD = "UH"
    UNKNOWN_OTHER = "UO"
    NOT_ELIGIBLE = "NE"


@dataclass(frozen=True)
class Disposition:
    code: str
    label: str
    category: Category


COMPLETE = Disposition("1.1", "Complete", Category.COMPLETE)
PARTIAL = Disposition("1.2", "Partial", Category.PARTIAL)
REFUSAL = Disposition("2.11", "Refusal", Category.REFUSAL)
BREAK_OFF = Disposition("2.12", "Break-off", Category.REFUSAL)
# Asked to be called back and never interviewed: AAPOR's "respondent never available".
NEVER_AVAILABLE = Disposition("2.21", "Respondent never available", Category.NON_CONTACT)
ANSWERING_MACHINE = Disposition("2.22", "Telephone answering device", Category.NON_CONTACT)
NOT_ATTEMPTED = Disposition("3.11", "Not attempted or worked", Category.UNKNOWN_HOUSEHOLD)
ALWAYS_BUSY = Disposition("3.12", "Always busy", Category.UNKNOWN_HOUSEHOLD)
NO_ANSWER = Disposition("3.13", "No answer", Category.UNKNOWN_HOUSEHOLD)
TECHNICAL_PROBLEM = Disposition("3.16", "Technical phone problems", Category.UNKNOWN_HOUSEHOLD)
OTHER_UNKNOWN = Disposition("3.90", "Other, unknown eligibility", Category.UNKNOWN_OTHER)
OUT_OF_SAMPLE = Disposition("4.10", "Out of sample (do-not-call list)", Category.NOT_ELIGIBLE)
FAX = Disposition("4.20", "Fax/data line", Category.NOT_ELIGIBLE)
NON_WORKING = Disposition("4.31", "Non-working number", Category.NOT_ELIGIBLE)
# Screened out by a screening question or a full quota: AAPOR's 4.70, "no eligible respondent".
SCREENED_OUT = Disposition("4.70", "No eligible respondent (screened out)", Category.NOT_ELIGIBLE)

# Most informative first: a contact takes the first of these that one of its attempts got.
# Evidence that someone (or their machine) answered beats evidence that the number is unusable,
# which beats no evidence at all; "always busy" holds only when no attempt got further.
PRECEDENCE = (
    COMPLETE,
    PARTIAL,
    BREAK_OFF,
    REFUSAL,
    NEVER_AVAILABLE,  # a person answered and asked for another time
    ANSWERING_MACHINE,
    SCREENED_OUT,  # the interview found the respondent out of scope
    FAX,
    NON_WORKING,
    NO_ANSWER,
    ALWAYS_BUSY,
    TECHNICAL_PROBLEM,
    OTHER_UNKNOWN,
    NOT_ATTEMPTED,
)

# Every code the reports can show, in code order.
DISPOSITIONS = tuple(sorted((*PRECEDENCE, OUT_OF_SAMPLE), key=lambda d: d.code))

_BY_OUTCOME = {
    Outcome.COMPLETED: COMPLETE,
    Outcome.REFUSED: REFUSAL,  # said no, or never gave a usable answer to the consent question
    Outcome.HANGUP: REFUSAL,  # answered, then hung up before the consent question was settled
    Outcome.MACHINE: ANSWERING_MACHINE,
    Outcome.NO_ANSWER: NO_ANSWER,
    Outcome.BUSY: ALWAYS_BUSY,
    Outcome.FAX: FAX,
    Outcome.INVALID_NUMBER: NON_WORKING,
    Outcome.FAILED: TECHNICAL_PROBLEM,
    Outcome.PROVIDER_ERROR: NOT_ATTEMPTED,  # the provider refused to place the call
    Outcome.CANCELED: NOT_ATTEMPTED,
    Outcome.STALE: OTHER_UNKNOWN,
    Outcome.SCREENED_OUT: SCREENED_OUT,
    Outcome.CALLBACK_REQUESTED: NEVER_AVAILABLE,
}


def attempt_disposition(
    outcome: str | None, *, answered: int | None, questions: int
) -> Disposition | None:
    """The disposition of one attempt; None while it has no outcome.

    `answered` counts the questions answered (not skipped) in the attempt's survey response, None
    when there is no response (no consent); `questions` is the number of questions in the survey.
    """
    if outcome is None:
        return None
    try:
        kind = Outcome(outcome)
    except ValueError:
        return OTHER_UNKNOWN
    # Consent given, then an opt-out or an appointment: an interview that stopped part-way.
    stopped = kind in (Outcome.OPTED_OUT, Outcome.CALLBACK_REQUESTED) and answered is not None
    interrupted = kind is Outcome.PARTIAL or stopped
    if interrupted:
        return PARTIAL if enough_answered(answered or 0, questions) else BREAK_OFF
    if kind is Outcome.OPTED_OUT:
        return REFUSAL  # "don't call me again" before consenting
    return _BY_OUTCOME[kind]


def enough_answered(answered: int, questions: int) -> bool:
    """Whether an interrupted interview counts as a partial rather than a break-off."""
    return answered * 100 >= PARTIAL_MIN_PERCENT * questions


def contact_disposition(state: str, attempts: Iterable[Disposition | None]) -> Disposition:
    """The disposition of a contact: its most informative attempt's, by PRECEDENCE."""
    if state == ContactState.SCREENED_OUT:
        # The interview's last word: a resumed interview that ends screened out was never an
        # eligible respondent's break-off, whatever its first call left.
        return SCREENED_OUT
    seen = {d for d in attempts if d is not None}
    best = next((d for d in PRECEDENCE if d in seen), None)
    if best is not None:
        return best
    if state == ContactState.DO_NOT_CALL:
        return OUT_OF_SAMPLE  # listed before we ever got through: never part of the fielded sample
    return NOT_ATTEMPTED
