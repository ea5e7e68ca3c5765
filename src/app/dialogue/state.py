"""Where a call stands between two webhook turns; stored as JSON on the call attempt."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.dialogue.actions import AnswerValue, SkipReason, SurveyOutcome

STATE_VERSION = 2
# Version 1 (before languages, confirmation and screening) reads as version 2 with defaults.
READABLE_VERSIONS = frozenset({1, STATE_VERSION})


class Phase(StrEnum):
    NEW = "new"
    CONSENT = "consent"
    QUESTION = "question"
    CONFIRM = "confirm"  # an uncertain answer was said back: is it right?
    DONE = "done"


@dataclass(frozen=True)
class AnswerRecord:
    """One question's result: a value, or a skip with its reason."""

    value: AnswerValue | None
    raw: str = ""
    confidence: float | None = None
    skipped: SkipReason | None = None
    confirmed: bool | None = None  # None: not asked back
    corrected: bool = False
    # The call attempt that collected it, once stored: a resumed interview carries the answers
    # of earlier calls, and each stays traceable to its own.
    attempt_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (confirmation keys only when there was one)."""
        reason = None if self.skipped is None else self.skipped.value
        data: dict[str, Any] = {
            "value": self.value,
            "raw": self.raw,
            "confidence": self.confidence,
            "skipped": reason,
        }
        if self.confirmed is not None:
            data["confirmed"] = self.confirmed
        if self.corrected:
            data["corrected"] = True
        if self.attempt_id is not None:
            data["attempt_id"] = self.attempt_id
        return data

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> AnswerRecord:
        """Rebuild a record written by `to_dict`."""
        reason = raw.get("skipped")
        confirmed = raw.get("confirmed")
        attempt_id = raw.get("attempt_id")
        return cls(
            value=raw.get("value"),
            raw=str(raw.get("raw", "")),
            confidence=raw.get("confidence"),
            skipped=None if reason is None else SkipReason(reason),
            confirmed=None if confirmed is None else bool(confirmed),
            corrected=bool(raw.get("corrected", False)),
            attempt_id=attempt_id if isinstance(attempt_id, int) else None,
        )


@dataclass(frozen=True)
class DialogueState:
    """The engine's whole memory of a call.

    `attempts` counts no-input/invalid replies and `repeats` counts replays at the current prompt;
    both reset when the prompt changes. `turn` grows on every transition.
    """

    phase: Phase = Phase.NEW
    index: int = 0
    attempts: int = 0
    repeats: int = 0
    # An ordered mapping kept as pairs: frozen, hashable, and the order survives JSONB.
    answers: tuple[tuple[str, AnswerRecord], ...] = ()
    consent_given: bool = False
    outcome: SurveyOutcome | None = None
    turn: int = 0
    language: str = ""  # the call's language, chosen when it starts ("": the survey's default)
    pending: AnswerRecord | None = None  # the answer being confirmed (CONFIRM)
    corrected: bool = False  # the current question's first answer was said to be wrong
    screened_by: str | None = None  # "question:ID" or "quota:NAME" when screened out
    resumed: bool = False  # this call continues an interview an earlier call began

    @classmethod
    def initial(cls) -> DialogueState:
        """Return the state of a call that has not been answered yet."""
        return cls()

    @property
    def answer_map(self) -> dict[str, AnswerRecord]:
        """Return the answers so far by question id, in question order."""
        return dict(self.answers)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (answers as a list, since JSONB does not keep key order)."""
        return {
            "version": STATE_VERSION,
            "phase": self.phase.value,
            "index": self.index,
            "attempts": self.attempts,
            "repeats": self.repeats,
            "answers": [{"question_id": qid, **rec.to_dict()} for qid, rec in self.answers],
            "consent_given": self.consent_given,
            "outcome": None if self.outcome is None else self.outcome.value,
            "turn": self.turn,
            "language": self.language,
            "pending": None if self.pending is None else self.pending.to_dict(),
            "corrected": self.corrected,
            "screened_by": self.screened_by,
            "resumed": self.resumed,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DialogueState:
        """Rebuild a state written by `to_dict`; raise ValueError if it is not one."""
        if raw.get("version") not in READABLE_VERSIONS:
            raise ValueError(f"dialogue state: unsupported version {raw.get('version')!r}")
        try:
            outcome = raw["outcome"]
            pending = raw.get("pending")
            return cls(
                phase=Phase(raw["phase"]),
                index=_count(raw, "index"),
                attempts=_count(raw, "attempts"),
                repeats=_count(raw, "repeats"),
                answers=tuple(
                    (a["question_id"], AnswerRecord.from_dict(a)) for a in raw["answers"]
                ),
                consent_given=bool(raw["consent_given"]),
                outcome=None if outcome is None else SurveyOutcome(outcome),
                turn=_count(raw, "turn"),
                language=str(raw.get("language", "")),
                pending=None if pending is None else AnswerRecord.from_dict(pending),
                corrected=bool(raw.get("corrected", False)),
                screened_by=raw.get("screened_by"),
                resumed=bool(raw.get("resumed", False)),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"dialogue state: malformed ({exc!r})") from None


def _count(raw: Mapping[str, Any], key: str) -> int:
    value = raw[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"dialogue state: {key} must be a non-negative integer")
    return value
