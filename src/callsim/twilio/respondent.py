"""Scripted respondents: how a destination number picks up, and what it says at each Gather.

A respondent is registered per destination number. Its `behaviour` decides the call's fate:

- `answer`: a person picks up and answers successive Gathers with `answers`, one step each
  (`speech`, `digits`, `silence` or `hangup`); when the steps run out the person hangs up;
- `no-answer`, `busy`, `failed`: the call never connects (`failed` may carry an `error_code`);
- `machine`, `fax`: something picks up but never answers a Gather (silence every time);
- `invalid`: the REST create is refused with `error_code` (21211 unless given).

With answering-machine detection requested, `AnsweredBy` reports human / machine_start (or
machine_end_beep with DetectMessageEnd) / fax, unless `answered_by` overrides it (to model AMD
mistakes). A number nobody registered gets `DEFAULT_RESPONDENT`: it answers, then hangs up at
the first Gather.

Faults of Twilio itself, per number: `hold_seconds` keeps an answered call live (real seconds)
before its TwiML is fetched; `lost_callbacks` never delivers the call's status callbacks;
`fetch_fault` makes the REST API's fetch of the call answer HTTP 500 (`error`), stall past any
client's timeout (`timeout`) or answer a body that is not JSON (`garbage`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from callsim.answers import HANG_UP, SILENCE, Answer

Behaviour = Literal["answer", "no-answer", "busy", "failed", "machine", "fax", "invalid"]
FetchFault = Literal["error", "timeout", "garbage"]


class Respondent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(pattern=r"^\+[1-9][0-9]{6,14}$")
    behaviour: Behaviour = "answer"
    answers: list[Answer] = Field(default_factory=list)
    answered_by: str | None = None
    error_code: int | None = None
    # Simulated seconds of ringing before the outcome (ring timeout caps it for no-answer).
    ring_seconds: float = Field(default=4.0, ge=0)
    hold_seconds: float = Field(default=0.0, ge=0, le=3600)
    lost_callbacks: bool = False
    fetch_fault: FetchFault | None = None

    def answer_at(self, index: int) -> Answer:
        """The step for the index-th Gather of the call (0-based)."""
        if self.behaviour != "answer":
            return SILENCE
        return self.answers[index] if index < len(self.answers) else HANG_UP

    def amd_verdict(self, machine_detection: str | None) -> str | None:
        """What AMD reports, or None when the call did not ask for detection."""
        if machine_detection not in ("Enable", "DetectMessageEnd"):
            return None
        if self.answered_by:
            return self.answered_by
        if self.behaviour == "machine":
            waits_for_beep = machine_detection == "DetectMessageEnd"
            return "machine_end_beep" if waits_for_beep else "machine_start"
        return "fax" if self.behaviour == "fax" else "human"


def default_respondent(number: str) -> Respondent:
    """Answers, then hangs up at the first Gather."""
    return Respondent.model_construct(number=number, behaviour="answer", answers=[])
