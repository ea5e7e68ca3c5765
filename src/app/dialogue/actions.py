"""What the engine asks the caller to do: speak, listen, store, end.

The webhook layer turns `Say`/`Listen`/`HangUp` into TwiML (in the survey's language) and the
rest into database writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

from app.dialogue.when import CallbackAsk

AnswerValue: TypeAlias = bool | int | float | str


class SurveyOutcome(StrEnum):
    """How the dialogue ended; the strings match `calls.models.Outcome` where they overlap."""

    COMPLETED = "completed"
    REFUSED = "refused"
    PARTIAL = "partial"
    OPTED_OUT = "opted_out"
    # Never said yes to the consent question (silence, noise, endless "repeat"): no survey.
    NO_CONSENT_INPUT = "no_consent_input"
    MACHINE = "machine"
    # Not among the people this survey is for (a screening question, or a full quota).
    SCREENED_OUT = "screened_out"
    # "Not now, call me tomorrow at six": an appointment, not a refusal.
    CALLBACK_REQUESTED = "callback_requested"


class SkipReason(StrEnum):
    SKIPPED_BY_RESPONDENT = "skipped_by_respondent"
    NO_INPUT = "no_input"
    INVALID = "invalid"
    REPEAT_LIMIT = "repeat_limit"
    NOT_APPLICABLE = "not_applicable"  # its ask_if did not hold: never asked


class ListenKind(StrEnum):
    """What answer the prompt expects; the renderer may tune recognition with it."""

    CONSENT = "consent"
    YES_NO = "yes_no"
    SCALE = "scale"
    CHOICE = "choice"
    NUMBER = "number"
    FREE_TEXT = "free_text"


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Listen:
    """Gather speech or keys; `hints` are recognition hints, `num_digits` ends keypad entry."""

    kind: ListenKind
    hints: tuple[str, ...] = ()
    num_digits: int | None = None
    timeout_seconds: int = 5


@dataclass(frozen=True)
class RecordAnswer:
    question_id: str
    value: AnswerValue
    raw: str
    confidence: float | None = None
    confirmed: bool | None = None  # asked back: True when the respondent said it was right
    corrected: bool = False  # a first answer was said to be wrong, and this one replaced it


@dataclass(frozen=True)
class MarkSkipped:
    question_id: str
    reason: SkipReason
    raw: str = ""  # the last unusable thing heard, if any: useful when tuning recognition


@dataclass(frozen=True)
class Finish:
    """The dialogue is over; `outcome` None means the caller hung up before consenting."""

    outcome: SurveyOutcome | None


@dataclass(frozen=True)
class CountQuotas:
    """A completed interview counts towards these quotas."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class OptOut:
    """Put the number on the do-not-call list."""


@dataclass(frozen=True)
class Appoint:
    """Call the respondent back when they asked; the caller reads `ask` against its clock,
    the contact's time zone and the call window."""

    ask: CallbackAsk
    said: str  # the words, for the audit trail


@dataclass(frozen=True)
class LeaveVoicemail:
    """The voicemail message was said to a machine: never leave the contact another."""


@dataclass(frozen=True)
class HangUp:
    """End the call from our side."""


Action: TypeAlias = (
    Say
    | Listen
    | RecordAnswer
    | MarkSkipped
    | CountQuotas
    | Finish
    | OptOut
    | Appoint
    | LeaveVoicemail
    | HangUp
)
