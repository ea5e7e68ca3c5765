"""The survey a call follows, read from the campaign document stored on the campaign."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SCRIPT_KEYS = ("intro", "consent", "refused", "closing")


class InvalidSurvey(ValueError):
    """The campaign document cannot drive a dialogue; the message names the field."""


class Language(StrEnum):
    IT = "it-IT"
    EN = "en-US"


class QuestionType(StrEnum):
    YES_NO = "yes_no"
    SCALE = "scale"
    CHOICE = "choice"
    NUMBER = "number"
    FREE_TEXT = "free_text"


@dataclass(frozen=True)
class Question:
    id: str
    type: QuestionType
    text: str
    required: bool = True
    min: int | None = None
    max: int | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Script:
    intro: str
    consent: str
    refused: str
    closing: str


@dataclass(frozen=True)
class Survey:
    language: Language
    script: Script
    questions: tuple[Question, ...]

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any]) -> Survey:
        """Build a survey from the campaign document (the `definition` JSON)."""
        language = _field(definition, "language", str)
        if language not in tuple(Language):
            raise InvalidSurvey(f"language: unsupported {language!r}; use it-IT or en-US")
        script = _field(definition, "script", Mapping)
        texts = {key: _text(script, key, "script") for key in SCRIPT_KEYS}
        questions = _field(definition, "questions", Sequence)
        if isinstance(questions, str) or not questions:
            raise InvalidSurvey("questions: a non-empty list is required")
        parsed = tuple(_question(item, f"questions.{i}") for i, item in enumerate(questions))
        _check_unique(parsed)
        return cls(language=Language(language), script=Script(**texts), questions=parsed)


def _question(raw: object, where: str) -> Question:
    if not isinstance(raw, Mapping):
        raise InvalidSurvey(f"{where}: must be an object")
    kind = _field(raw, "type", str, where)
    if kind not in tuple(QuestionType):
        raise InvalidSurvey(f"{where}.type: unknown question type {kind!r}")
    question = Question(
        id=_text(raw, "id", where),
        type=QuestionType(kind),
        text=_text(raw, "text", where),
        required=_optional(raw, "required", bool, where, default=True),
        min=_optional(raw, "min", int, where, default=None),
        max=_optional(raw, "max", int, where, default=None),
        choices=_choices(raw, where),
    )
    _check_shape(question, where)
    return question


def _check_shape(question: Question, where: str) -> None:
    if question.type is QuestionType.SCALE and (question.min is None or question.max is None):
        raise InvalidSurvey(f"{where}.min/max: required for a scale question")
    low, high = question.min, question.max
    if low is not None and high is not None and high <= low:
        raise InvalidSurvey(f"{where}.max: must be greater than min ({low})")
    if question.type is QuestionType.CHOICE and not question.choices:
        raise InvalidSurvey(f"{where}.choices: a choice question needs a non-empty list")


def _check_unique(questions: tuple[Question, ...]) -> None:
    seen: set[str] = set()
    for index, question in enumerate(questions):
        if question.id in seen:
            raise InvalidSurvey(f"questions.{index}.id: {question.id!r} is used twice")
        seen.add(question.id)


def _choices(raw: Mapping[str, Any], where: str) -> tuple[str, ...]:
    value = raw.get("choices")
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidSurvey(f"{where}.choices: must be a list of strings")
    if not all(isinstance(item, str) and item.strip() for item in value):
        raise InvalidSurvey(f"{where}.choices: every choice must be a non-empty string")
    return tuple(item.strip() for item in value)


def _field(raw: Mapping[str, Any], key: str, kind: type, where: str = "") -> Any:
    name = f"{where}.{key}" if where else key
    if key not in raw or raw[key] is None:
        raise InvalidSurvey(f"{name}: required")
    if not isinstance(raw[key], kind):
        raise InvalidSurvey(f"{name}: expected {kind.__name__}")
    return raw[key]


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = _field(raw, key, str, where)
    if not value.strip():
        raise InvalidSurvey(f"{where}.{key}: must not be empty")
    return str(value).strip()


def _optional(raw: Mapping[str, Any], key: str, kind: type, where: str, *, default: Any) -> Any:
    value = raw.get(key)
    if value is None:
        return default
    # bool is an int in Python: `min: true` must not pass as 1.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidSurvey(f"{where}.{key}: expected {kind.__name__}")
    return value
