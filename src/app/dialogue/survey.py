"""The survey a call follows, read from the campaign document stored on the campaign.

A document may speak several languages: every text (prompts, question texts, choice labels) is
a string or a map language → string, and a call speaks one of them. The dialogue sees each
question in the call's language (`Item.spoken`), with the choices as said in it; what is stored
is the language-independent value. See docs/survey-document.md for the whole document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from app.dialogue.conditions import Condition, ValueCheck, parse_condition
from app.dialogue.errors import InvalidSurvey
from app.dialogue.texts import Text, check_placeholders, parse_text

SCRIPT_KEYS = ("intro", "consent", "refused", "closing")
# Said after the questions: these may repeat answers back ({answer.ID}).
AFTER_QUESTIONS = frozenset({"closing", "screened_out"})


class Language(StrEnum):
    IT = "it-IT"
    EN = "en-US"
    ES = "es-ES"
    FR = "fr-FR"
    DE = "de-DE"


class QuestionType(StrEnum):
    YES_NO = "yes_no"
    SCALE = "scale"
    CHOICE = "choice"
    NUMBER = "number"
    FREE_TEXT = "free_text"


@dataclass(frozen=True)
class Question:
    """A question as the dialogue asks it: in one language, its choices as said in it."""

    id: str
    type: QuestionType
    text: str
    required: bool = True
    min: int | None = None
    max: int | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Choice:
    value: str  # what is stored, whatever the language
    label: Text  # what is said and understood, per language


@dataclass(frozen=True)
class Item:
    """A question of the document, in every language, with its rules."""

    id: str
    type: QuestionType
    text: Text
    required: bool = True
    min: int | None = None
    max: int | None = None
    choices: tuple[Choice, ...] = ()
    ask_if: Condition | None = None
    screen_out_if: Condition | None = None
    confirm_below: float | None = None

    def spoken(self, language: str) -> Question:
        """The question in `language`: its text (placeholders unrendered), its choice labels."""
        return Question(
            id=self.id,
            type=self.type,
            text=self.text.get(language),
            required=self.required,
            min=self.min,
            max=self.max,
            choices=tuple(choice.label.get(language) for choice in self.choices),
        )

    def value_of(self, label: str, language: str) -> str:
        """The stored value of the choice whose label in `language` is `label`."""
        for choice in self.choices:
            if choice.label.get(language) == label:
                return choice.value
        return label


@dataclass(frozen=True)
class Quota:
    name: str
    when: Condition
    target: int


@dataclass(frozen=True)
class Script:
    intro: Text
    consent: Text
    refused: Text
    closing: Text
    screened_out: Text | None = None  # None: the language's own polite goodbye
    # Left on an answering machine once per contact (who called, a number to call back); None:
    # machines are hung up on, as without it.
    voicemail: Text | None = None
    # Said to whoever calls the campaign's number with no interview to do (who called them and
    # why); None: the language's own words.
    inbound: Text | None = None


@dataclass(frozen=True)
class Survey:
    languages: tuple[Language, ...]  # the first is the default
    script: Script
    items: tuple[Item, ...]
    quotas: tuple[Quota, ...] = ()
    confirm_below: float | None = None  # ask back answers heard with less confidence

    @property
    def language(self) -> Language:
        """The default language: the call's when its contact names none of the survey's."""
        return self.languages[0]

    @property
    def questions(self) -> tuple[Question, ...]:
        """The questions in the default language, choices as their stored values (reports)."""
        return tuple(
            replace(item.spoken(self.language), choices=tuple(c.value for c in item.choices))
            for item in self.items
        )

    def speaks(self, language: str | None) -> Language:
        """The language a call with a contact of `language` speaks."""
        return Language(language) if language in self.languages else self.language

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any]) -> Survey:
        """Build a survey from the campaign document (the `definition` JSON).

        Raise InvalidSurvey naming the path of the first problem.
        """
        languages = _languages(definition)
        script = _script(_field(definition, "script", Mapping), languages)
        raw_items = _field(definition, "questions", Sequence)
        if isinstance(raw_items, str) or not raw_items:
            raise InvalidSurvey("questions: a non-empty list is required")
        items: list[Item] = []
        for index, raw in enumerate(raw_items):
            items.append(_item(raw, f"questions.{index}", languages, tuple(items)))
        _check_answers_piped(script, tuple(items))
        return cls(
            languages=languages,
            script=script,
            items=tuple(items),
            quotas=_quotas(definition.get("quotas"), tuple(items)),
            confirm_below=_confidence(definition, "confirm_below", ""),
        )


def _languages(definition: Mapping[str, Any]) -> tuple[Language, ...]:
    single = definition.get("language")
    listed = definition.get("languages")
    if listed is None:
        if single is None:
            raise InvalidSurvey("language: required")
        return (_language(single, "language"),)
    if isinstance(listed, str) or not isinstance(listed, Sequence) or not listed:
        raise InvalidSurvey("languages: a non-empty list of languages")
    languages = tuple(_language(item, f"languages.{i}") for i, item in enumerate(listed))
    if len(set(languages)) != len(languages):
        raise InvalidSurvey("languages: each language once")
    if single is not None and _language(single, "language") != languages[0]:
        raise InvalidSurvey("language: must be the first of languages (the default language)")
    return languages


def _language(raw: object, where: str) -> Language:
    if raw not in tuple(Language):
        supported = ", ".join(Language)
        raise InvalidSurvey(f"{where}: unsupported language {raw!r}; use one of {supported}")
    return Language(str(raw))


def _script(raw: Mapping[str, Any], languages: tuple[Language, ...]) -> Script:
    texts = {key: _required_text(raw, key, "script", languages) for key in SCRIPT_KEYS}
    screened_out = _optional_text(raw, "screened_out", languages)
    voicemail = _optional_text(raw, "voicemail", languages)
    inbound = _optional_text(raw, "inbound", languages)
    optional = {"screened_out": screened_out, "voicemail": voicemail, "inbound": inbound}
    for key, text in {**texts, **optional}.items():
        if text is not None and key not in AFTER_QUESTIONS:
            check_placeholders(text, f"script.{key}", answers=frozenset())
    return Script(**texts, screened_out=screened_out, voicemail=voicemail, inbound=inbound)


def _optional_text(
    raw: Mapping[str, Any], key: str, languages: tuple[Language, ...]
) -> Text | None:
    value = raw.get(key)
    return None if value is None else parse_text(value, f"script.{key}", languages)


def _item(
    raw: object, where: str, languages: tuple[Language, ...], earlier: tuple[Item, ...]
) -> Item:
    if not isinstance(raw, Mapping):
        raise InvalidSurvey(f"{where}: must be an object")
    kind = _field(raw, "type", str, where)
    if kind not in tuple(QuestionType):
        raise InvalidSurvey(f"{where}.type: unknown question type {kind!r}")
    item = Item(
        id=_id(raw, where, earlier),
        type=QuestionType(kind),
        text=_required_text(raw, "text", where, languages),
        required=_optional(raw, "required", bool, where, default=True),
        min=_optional(raw, "min", int, where, default=None),
        max=_optional(raw, "max", int, where, default=None),
        choices=_choices(raw, where, languages),
        confirm_below=_confidence(raw, "confirm_below", where),
    )
    _check_shape(item, where)
    check_placeholders(item.text, f"{where}.text", answers=frozenset(e.id for e in earlier))
    checks = {e.id: _value_check(e) for e in earlier}
    ask_if = raw.get("ask_if")
    if ask_if is not None:
        item = replace(item, ask_if=parse_condition(ask_if, f"{where}.ask_if", checks))
    screen = raw.get("screen_out_if")
    if screen is not None:
        # The question itself may be judged: "screen out if age < 18", asked at `age`.
        own = {**checks, item.id: _value_check(item)}
        item = replace(item, screen_out_if=parse_condition(screen, f"{where}.screen_out_if", own))
    return item


def _id(raw: Mapping[str, Any], where: str, earlier: tuple[Item, ...]) -> str:
    question_id = _text(raw, "id", where)
    if question_id == "any_of":
        raise InvalidSurvey(f"{where}.id: any_of is a word of conditions, not a question id")
    if any(e.id == question_id for e in earlier):
        raise InvalidSurvey(f"{where}.id: {question_id!r} is used twice")
    return question_id


def _check_shape(item: Item, where: str) -> None:
    if item.type is QuestionType.SCALE and (item.min is None or item.max is None):
        raise InvalidSurvey(f"{where}.min/max: required for a scale question")
    low, high = item.min, item.max
    if low is not None and high is not None and high <= low:
        raise InvalidSurvey(f"{where}.max: must be greater than min ({low})")
    if item.type is QuestionType.CHOICE and not item.choices:
        raise InvalidSurvey(f"{where}.choices: a choice question needs a non-empty list")


def _value_check(item: Item) -> tuple[ValueCheck, str, bool]:
    """What a condition may compare this question's answer with."""
    if item.type is QuestionType.YES_NO:
        return (lambda v: isinstance(v, bool)), "true or false", False
    if item.type in (QuestionType.SCALE, QuestionType.NUMBER):
        return _is_number, "a number", True
    if item.type is QuestionType.CHOICE:
        values = frozenset(c.value for c in item.choices)
        return (lambda v: v in values), f"one of the choices ({', '.join(sorted(values))})", False
    return (lambda v: isinstance(v, str)), "a text", False


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_answers_piped(script: Script, items: tuple[Item, ...]) -> None:
    ids = frozenset(item.id for item in items)
    for key in AFTER_QUESTIONS:
        text = getattr(script, key)
        if text is not None:
            check_placeholders(text, f"script.{key}", answers=ids)


def _quotas(raw: object, items: tuple[Item, ...]) -> tuple[Quota, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidSurvey("quotas: a list of quotas")
    checks = {item.id: _value_check(item) for item in items}
    quotas: list[Quota] = []
    for index, entry in enumerate(raw):
        where = f"quotas.{index}"
        if not isinstance(entry, Mapping):
            raise InvalidSurvey(f"{where}: must be an object")
        name = _text(entry, "name", where)
        if any(q.name == name for q in quotas):
            raise InvalidSurvey(f"{where}.name: {name!r} is used twice")
        target = _field(entry, "target", int, where)
        if isinstance(target, bool) or target < 1:
            raise InvalidSurvey(f"{where}.target: a whole number of completes, at least 1")
        when = parse_condition(_field(entry, "when", Mapping, where), f"{where}.when", checks)
        quotas.append(Quota(name=name, when=when, target=target))
    return tuple(quotas)


def _choices(
    raw: Mapping[str, Any], where: str, languages: tuple[Language, ...]
) -> tuple[Choice, ...]:
    value = raw.get("choices")
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidSurvey(f"{where}.choices: must be a list")
    choices = tuple(
        _choice(item, f"{where}.choices.{i}", languages) for i, item in enumerate(value)
    )
    for language in languages:
        said = [c.label.get(language).casefold() for c in choices]
        if len(set(said)) != len(said):
            raise InvalidSurvey(f"{where}.choices: choices must be distinct in {language}")
    if len({c.value for c in choices}) != len(choices):
        raise InvalidSurvey(f"{where}.choices: choice values must be distinct")
    return choices


def _choice(raw: object, where: str, languages: tuple[Language, ...]) -> Choice:
    if isinstance(raw, str):
        if not raw.strip():
            raise InvalidSurvey(f"{where}: a choice must not be empty")
        return Choice(raw.strip(), parse_text(raw, where, languages))
    if not isinstance(raw, Mapping):
        raise InvalidSurvey(f"{where}: a choice is a text, or {{value, text}}")
    value = _text(raw, "value", where)
    label = raw.get("text") or value  # no text: said as its value
    return Choice(value, parse_text(label, f"{where}.text", languages))


def _required_text(
    raw: Mapping[str, Any], key: str, where: str, languages: tuple[Language, ...]
) -> Text:
    if key not in raw or raw[key] is None:
        raise InvalidSurvey(f"{where}.{key}: required")
    return parse_text(raw[key], f"{where}.{key}", languages)


def _confidence(raw: Mapping[str, Any], key: str, where: str) -> float | None:
    name = f"{where}.{key}" if where else key
    value = raw.get(key)
    if value is None:
        return None
    if not _is_number(value) or not 0 <= value <= 1:
        raise InvalidSurvey(f"{name}: a confidence from 0 to 1")
    return float(value)


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
