"""The spoken survey as a pure state machine: `transition(state, event, survey=...)`."""

from app.dialogue.actions import (
    Action,
    AnswerValue,
    CountQuotas,
    Finish,
    HangUp,
    Listen,
    ListenKind,
    MarkSkipped,
    OptOut,
    RecordAnswer,
    Say,
    SkipReason,
    SurveyOutcome,
)
from app.dialogue.engine import REPEAT_LIMIT, REPROMPTS, CallContext, transition
from app.dialogue.errors import InvalidSurvey
from app.dialogue.events import (
    CallAnswered,
    Digits,
    Event,
    HungUp,
    MachineDetected,
    NoInput,
    Speech,
)
from app.dialogue.state import AnswerRecord, DialogueState, Phase
from app.dialogue.survey import Language, Question, QuestionType, Script, Survey

__all__ = [
    "REPEAT_LIMIT",
    "REPROMPTS",
    "Action",
    "AnswerRecord",
    "AnswerValue",
    "CallAnswered",
    "CallContext",
    "CountQuotas",
    "DialogueState",
    "Digits",
    "Event",
    "Finish",
    "HangUp",
    "HungUp",
    "InvalidSurvey",
    "Language",
    "Listen",
    "ListenKind",
    "MachineDetected",
    "MarkSkipped",
    "NoInput",
    "OptOut",
    "Phase",
    "Question",
    "QuestionType",
    "RecordAnswer",
    "Say",
    "Script",
    "SkipReason",
    "Speech",
    "Survey",
    "SurveyOutcome",
    "transition",
]
