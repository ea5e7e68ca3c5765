"""What can happen on the line: the inputs of the dialogue engine.

Events are facts in the past tense or things heard; the telephony layer builds them from the
provider's webhooks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True)
class CallAnswered:
    """A person (or, until told otherwise, something) picked up."""


@dataclass(frozen=True)
class Speech:
    """What the recogniser heard; `confidence` is 0..1 when the provider gives one."""

    text: str
    confidence: float | None = None


@dataclass(frozen=True)
class Digits:
    """Keys pressed on the keypad, e.g. "1", "10", "*", "#"."""

    digits: str


@dataclass(frozen=True)
class NoInput:
    """The listening window closed with nothing said or pressed."""


@dataclass(frozen=True)
class HungUp:
    """The call ended on the respondent's side."""


@dataclass(frozen=True)
class MachineDetected:
    """Answering-machine detection says no person is on the line; `greeting_ended` when it
    waited for the end of the machine's greeting (a message said now is recorded whole)."""

    greeting_ended: bool = False


Event: TypeAlias = CallAnswered | Speech | Digits | NoInput | HungUp | MachineDetected
