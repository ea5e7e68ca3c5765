"""The campaign document (what an operator writes) and the API's answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

import phonenumbers
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.campaigns.models import CampaignStatus, ContactState
from app.dialogue.survey import QuestionType
from app.scheduler.window import CallWindow, InvalidWindow, known_zones

LANGUAGES = ("it-IT", "en-US")
Language = Literal["it-IT", "en-US"]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")]
QuestionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class _Strict(BaseModel):
    # A misspelt key ("max_attempt") must fail loudly rather than silently fall back to a default.
    model_config = ConfigDict(extra="forbid")


class Question(_Strict):
    id: QuestionId
    type: QuestionType
    text: Text
    required: bool = True
    # Scale bounds (required for `scale`), or optional bounds of a `number` answer.
    min: int | None = Field(default=None, validate_default=True)
    max: int | None = Field(default=None, validate_default=True)
    choices: list[Text] | None = Field(default=None, validate_default=True)

    @field_validator("min", "max")
    @classmethod
    def _bounds(cls, value: int | None, info: ValidationInfo) -> int | None:
        kind = info.data.get("type")
        if value is None and kind == QuestionType.SCALE:
            raise ValueError("required for a scale question")
        if value is not None and kind not in (QuestionType.SCALE, QuestionType.NUMBER, None):
            raise ValueError(f"only scale and number questions take {info.field_name}")
        low = info.data.get("min")
        if info.field_name == "max" and value is not None and low is not None and value <= low:
            raise ValueError(f"must be greater than min ({low})")
        return value

    @field_validator("choices")
    @classmethod
    def _choices(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        kind = info.data.get("type")
        if kind == QuestionType.CHOICE:
            if not value:
                raise ValueError("a choice question needs a non-empty list of choices")
            folded = [c.casefold() for c in value]
            if len(set(folded)) != len(folded):
                raise ValueError("choices must be distinct")
        elif value is not None and kind is not None:
            raise ValueError("only choice questions take choices")
        return value


class Script(_Strict):
    intro: Text
    consent: Text
    refused: Text
    closing: Text


class CallWindowSpec(_Strict):
    start: ClockTime
    end: ClockTime
    days: list[Day] = Field(min_length=1)

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: str, info: ValidationInfo) -> str:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError(f"must be after start ({start})")
        return value

    @model_validator(mode="after")
    def _scheduler_can_read_it(self) -> Self:
        try:
            CallWindow.parse(self.model_dump())
        except InvalidWindow as exc:
            raise ValueError(str(exc)) from None
        return self


class CampaignDocument(_Strict):
    """A survey campaign as an operator writes it (JSON or YAML)."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    language: Language
    caller_id: str | None = None
    timezone: str
    call_window: CallWindowSpec
    max_attempts: int = Field(default=3, ge=1, le=20)
    retry_after_minutes: list[Annotated[int, Field(ge=0, le=43_200)]] = Field(
        default_factory=lambda: [60, 240], min_length=1
    )
    max_concurrent_calls: int = Field(default=10, ge=1, le=1000)
    # Each call is placed with this time limit (the provider's own default is 4 hours), so a
    # call is provably over after it: recovery waits that long before it redials on doubt.
    max_call_minutes: int = Field(default=15, ge=1, le=240)
    script: Script
    questions: list[Question] = Field(min_length=1)

    @field_validator("caller_id")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return to_e164(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_zone(value)

    @field_validator("questions")
    @classmethod
    def _unique_ids(cls, value: list[Question]) -> list[Question]:
        first: dict[str, int] = {}
        for index, question in enumerate(value):
            if question.id in first:
                raise ValueError(
                    f"question id {question.id!r} is used twice "
                    f"(questions.{first[question.id]} and questions.{index})"
                )
            first[question.id] = index
        return value


def to_e164(value: str) -> str:
    """Return an international number in E.164, or raise ValueError saying why not."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not an international phone number (+country code...): {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    e164: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164


def check_zone(value: str) -> str:
    """Return `value` if it is an IANA time zone name, else raise ValueError."""
    if value not in known_zones():
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Rome")
    return value


class CampaignSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    status: CampaignStatus
    language: str
    caller_id: str | None
    timezone: str
    call_window: dict[str, Any]
    max_attempts: int
    retry_after_minutes: list[int]
    max_concurrent_calls: int
    max_call_minutes: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    contacts_total: int = 0


class CampaignDetail(CampaignSummary):
    definition: dict[str, Any]


class Rejection(BaseModel):
    row: int
    error: str


class ImportReport(BaseModel):
    imported: int
    do_not_call: int = Field(description="Of the imported contacts, those on the do-not-call list")
    rejected: list[Rejection]


class AttemptStats(BaseModel):
    total: int
    open: int
    by_outcome: dict[str, int]
    by_status: dict[str, int]


class CampaignStats(BaseModel):
    campaign_id: int
    status: CampaignStatus
    contacts: dict[ContactState, int]
    attempts: AttemptStats
