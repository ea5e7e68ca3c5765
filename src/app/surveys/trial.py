"""A dry run of a survey: the dialogue engine played from typed replies, as a transcript.

Nobody is called and nothing is stored: the replies stand for what a respondent would say or
press, and the transcript shows what the agent would say back, how it would listen, the branches
taken, and what the interview would record. The CLI (`voicesurvey try`) and the API
(`POST /api/surveys/try`) both drive this module, so they cannot disagree with each other or
with a real call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.dialogue import (
    Action,
    AnswerRecord,
    AnswerValue,
    CallAnswered,
    CallContext,
    CountQuotas,
    DialogueState,
    Digits,
    Event,
    Listen,
    MarkSkipped,
    NoInput,
    Phase,
    RecordAnswer,
    Say,
    SkipReason,
    Speech,
    Survey,
    SurveyOutcome,
    transition,
)

Heard = Speech | Digits | NoInput
"""A reply as the engine hears it: words, keys, or silence."""

KEYS = re.compile(r"[0-9*#]+")
# "seven @0.4": speech heard with that confidence, so that confirmation can be tried by typing.
WITH_CONFIDENCE = re.compile(r"(?P<text>.*\S)\s+@(?P<confidence>1(?:\.0*)?|0?\.\d+|0)")
TYPED_CONFIDENCE = 1.0  # typed words are heard exactly


class InvalidTrial(ValueError):
    """The run's settings do not fit the survey; `loc` names the field at fault."""

    def __init__(self, message: str, loc: Sequence[str | int]) -> None:
        super().__init__(message)
        self.message, self.loc = message, tuple(loc)


class Branch(StrEnum):
    """What a reply did besides making the agent speak."""

    ANSWERED = "answered"
    SKIPPED = "skipped"  # by the respondent, or after silence or unusable answers
    NOT_APPLICABLE = "not_applicable"  # its ask_if did not hold: never asked
    CONFIRMING = "confirming"  # the answer is said back before it counts
    ASKED_AGAIN = "asked_again"  # the answer said back was wrong: the question comes again
    SCREENED_OUT = "screened_out"


@dataclass(frozen=True)
class BranchEvent:
    kind: Branch
    question_id: str | None
    detail: str  # a sentence for the reader


@dataclass(frozen=True)
class Listening:
    kind: str  # app.dialogue.ListenKind
    hints: tuple[str, ...]


@dataclass(frozen=True)
class Turn:
    """One reply and what followed it; the first turn answers the call (`reply` None)."""

    reply: Heard | None
    said: tuple[str, ...]
    events: tuple[BranchEvent, ...]
    listen: Listening | None  # None once the dialogue is over


@dataclass(frozen=True)
class Answer:
    question_id: str
    value: AnswerValue | None
    raw: str
    confidence: float | None
    skipped: SkipReason | None
    confirmed: bool | None  # None: not said back
    corrected: bool


@dataclass(frozen=True)
class Waiting:
    """The prompt the run stopped at when the replies ran out."""

    phase: Phase  # consent, question or confirm
    question_id: str | None  # None at consent
    prompt: str  # the last sentence said before listening
    listen: Listening


@dataclass(frozen=True)
class Transcript:
    language: str  # the language the call speaks
    turns: tuple[Turn, ...]
    finished: bool
    outcome: SurveyOutcome | None  # None while the dialogue waits for a reply
    screened_by: str | None  # "question:ID" or "quota:NAME"
    answers: tuple[Answer, ...]
    quotas: tuple[str, ...]  # the quotas a completed interview counts towards
    waiting: Waiting | None
    unused_replies: int  # replies left over when the dialogue ended


def read_reply(text: str, confidence: float | None = None) -> Heard:
    """Read a typed reply: nothing is silence, only digits, `*` and `#` are keys, else words.

    Words are heard with `confidence`, else with the one written after them ("seven @0.4"),
    else with full confidence.
    """
    stripped = text.strip()
    if not stripped:
        return NoInput()
    if KEYS.fullmatch(stripped):
        return Digits(stripped)
    if confidence is None:
        written = WITH_CONFIDENCE.fullmatch(stripped)
        if written is not None:
            return Speech(written["text"], float(written["confidence"]))
    return Speech(stripped, TYPED_CONFIDENCE if confidence is None else confidence)


def check_quotas(survey: Survey, full_quotas: Sequence[str], where: str) -> frozenset[str]:
    """Return `full_quotas` as a set; InvalidTrial if one names no quota of the survey."""
    known = {quota.name for quota in survey.quotas}
    for index, name in enumerate(full_quotas):
        if name not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise InvalidTrial(
                f"no quota is named {name!r} (the survey's: {listed})", (where, index)
            )
    return frozenset(full_quotas)


class Trial:
    """One simulated call, a reply at a time: `start()`, then `reply(...)` until `done`."""

    def __init__(self, survey: Survey, context: CallContext) -> None:
        self.survey, self.context = survey, context
        self.state = DialogueState.initial()
        self.turns: list[Turn] = []
        self.quotas: tuple[str, ...] = ()

    @property
    def done(self) -> bool:
        return self.state.phase is Phase.DONE

    def start(self) -> Turn:
        """Answer the call: the intro and the consent question."""
        return self._step(CallAnswered(), None)

    def reply(self, heard: Heard) -> Turn:
        """Give the respondent's reply to the prompt the agent is waiting on."""
        if not self.turns:
            self.start()
        return self._step(heard, heard)

    def _step(self, event: Event, heard: Heard | None) -> Turn:
        before = self.state
        after, actions = transition(before, event, survey=self.survey, context=self.context)
        # Through JSON and back, as the voice webhook stores it between two turns: the run
        # behaves exactly as a call would.
        self.state = DialogueState.from_dict(after.to_dict())
        for action in actions:
            if isinstance(action, CountQuotas):
                self.quotas = action.names
        listen = next((a for a in actions if isinstance(a, Listen)), None)
        turn = Turn(
            reply=heard,
            said=tuple(a.text for a in actions if isinstance(a, Say)),
            events=self._events(before, self.state, actions),
            listen=None if listen is None else Listening(listen.kind.value, listen.hints),
        )
        self.turns.append(turn)
        return turn

    def _events(
        self, before: DialogueState, after: DialogueState, actions: Sequence[Action]
    ) -> tuple[BranchEvent, ...]:
        events = [event for action in actions if (event := _acted(action)) is not None]
        if after.phase is Phase.CONFIRM and before.phase is not Phase.CONFIRM:
            events.append(self._confirming(after))
        if before.phase is Phase.CONFIRM and after.phase is Phase.QUESTION and after.corrected:
            question_id = self._question_id(after)
            events.append(BranchEvent(Branch.ASKED_AGAIN, question_id, "not what was meant"))
        if after.screened_by is not None and before.screened_by is None:
            events.append(_screened_out(after))
        return tuple(events)

    def _confirming(self, state: DialogueState) -> BranchEvent:
        pending = state.pending
        heard = "" if pending is None else f"heard {_json(pending.raw)}"
        if pending is not None and pending.confidence is not None:
            heard += f" with confidence {pending.confidence:g}"
        return BranchEvent(Branch.CONFIRMING, self._question_id(state), f"{heard}: said back")

    def _question_id(self, state: DialogueState) -> str | None:
        items = self.survey.items
        return items[state.index].id if state.index < len(items) else None

    def transcript(self, *, unused_replies: int = 0) -> Transcript:
        """The run so far, with where it stopped."""
        state = self.state
        language = state.language or self.survey.language.value
        return Transcript(
            language=language,
            turns=tuple(self.turns),
            finished=self.done,
            outcome=state.outcome,
            screened_by=state.screened_by,
            answers=tuple(_answer(qid, record) for qid, record in state.answers),
            quotas=self.quotas,
            waiting=None if self.done else self._waiting(),
            unused_replies=unused_replies,
        )

    def _waiting(self) -> Waiting | None:
        last = self.turns[-1] if self.turns else None
        if last is None or last.listen is None:
            return None
        at_consent = self.state.phase is Phase.CONSENT
        question_id = None if at_consent else self._question_id(self.state)
        prompt = last.said[-1] if last.said else ""
        return Waiting(self.state.phase, question_id, prompt, last.listen)


def play(survey: Survey, replies: Sequence[Heard], *, context: CallContext) -> Transcript:
    """Answer the call, give the replies in order until the dialogue ends; the transcript."""
    trial = Trial(survey, context)
    trial.start()
    used = 0
    for heard in replies:
        if trial.done:
            break
        trial.reply(heard)
        used += 1
    return trial.transcript(unused_replies=len(replies) - used)


def _acted(action: Action) -> BranchEvent | None:
    if isinstance(action, RecordAnswer):
        detail = f"{_json(action.value)} from {_json(action.raw)}"
        if action.confirmed is not None:
            detail += ", confirmed" if action.confirmed else ", kept though not confirmed"
        return BranchEvent(Branch.ANSWERED, action.question_id, detail)
    if isinstance(action, MarkSkipped):
        if action.reason is SkipReason.NOT_APPLICABLE:
            return BranchEvent(
                Branch.NOT_APPLICABLE, action.question_id, "its ask_if does not hold"
            )
        return BranchEvent(Branch.SKIPPED, action.question_id, action.reason.value)
    return None


def _json(value: AnswerValue) -> str:
    return json.dumps(value, ensure_ascii=False)


def _screened_out(state: DialogueState) -> BranchEvent:
    kind, _, name = (state.screened_by or "").partition(":")
    if kind == "quota":
        # The quota is judged at the question that decides it: the one just answered.
        question_id = state.answers[-1][0] if state.answers else None
        return BranchEvent(Branch.SCREENED_OUT, question_id, f"quota {name!r} is full")
    return BranchEvent(Branch.SCREENED_OUT, name, "its screen_out_if holds")


def _answer(question_id: str, record: AnswerRecord) -> Answer:
    return Answer(
        question_id=question_id,
        value=record.value,
        raw=record.raw,
        confidence=record.confidence,
        skipped=record.skipped,
        confirmed=record.confirmed,
        corrected=record.corrected,
    )
