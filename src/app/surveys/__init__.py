"""Surveys on their own, before any campaign calls anyone: a dry run of the dialogue."""

from app.surveys.trial import (
    Answer,
    Branch,
    BranchEvent,
    Heard,
    InvalidTrial,
    Listening,
    Transcript,
    Trial,
    Turn,
    Waiting,
    check_quotas,
    play,
    read_reply,
)

__all__ = [
    "Answer",
    "Branch",
    "BranchEvent",
    "Heard",
    "InvalidTrial",
    "Listening",
    "Transcript",
    "Trial",
    "Turn",
    "Waiting",
    "check_quotas",
    "play",
    "read_reply",
]
