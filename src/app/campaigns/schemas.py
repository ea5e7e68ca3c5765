"""The campaign document (what an operator writes) and the API's answers."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

import httpx
import phonenumbers
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from app.calls.policy import RULE_NAMES
from app.campaigns.models import CampaignStatus, ContactState
from app.dialogue.survey import Language as SpokenLanguage
from app.dialogue.survey import QuestionType
from app.scheduler.window import (
    MAX_BLACKOUT_DATES,
    CallWindow,
    InvalidWindow,
    iso_date,
    known_zones,
)

# The languages the dialogue understands and speaks (app.dialogue.survey.Language).
Language = SpokenLanguage
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# A prompt is spoken: a few sentences at most.
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Choice = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")]
QuestionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


# Limits of what a document may declare: generous for any real survey, and small enough that
# nothing derived from them (a histogram, the recogniser's hints, a page of stats) can be large.
MAX_QUESTIONS = 100
MAX_CHOICES = 50
MAX_SCALE_POINTS = 101  # 0..100: a scale beyond that is not a scale
NUMBER_LIMIT = 10**9  # the bounds of a number answer
MAX_RETRY_MINUTES = 43_200  # 30 days: a longer wait is a new campaign
MAX_RETRY_DELAYS = 20

# PostgreSQL stores neither NUL characters nor the halves of a surrogate pair.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def check_storable(value: Any) -> None:
    """Raise ValueError when a text in `value` (strings, lists, keys) cannot be stored."""
    pending = [value]  # a stack, not recursion: any nesting depth is checked in constant stack
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found = _UNSTORABLE.search(item)
            if found is not None:
                what = "a NUL character" if found.group() == "\x00" else "invalid Unicode"
                raise ValueError(f"text contains {what}")
        elif isinstance(item, list | tuple):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())


class _Strict(BaseModel):
    # A misspelt key ("max_attempt") must fail loudly rather than silently fall back to a default.
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        check_storable(value)
        return value


def _local_text(max_length: int) -> Any:
    """A text for every language, or a map language → text: checked here, so that an error
    names the field itself rather than one branch of a union."""

    def check(value: Any) -> Any:
        if isinstance(value, str):
            return _one_text(value, max_length)
        if isinstance(value, dict):
            for key, text in value.items():
                if key not in tuple(Language):
                    raise ValueError(f"{key!r} is not a supported language")
                if not isinstance(text, str):
                    raise ValueError(f"the {key} text must be a string")
            return {key: _one_text(text, max_length) for key, text in value.items()}
        raise ValueError("a text, or a map of language to text")

    return BeforeValidator(check)


def _one_text(text: str, max_length: int) -> str:
    text = text.strip()
    if not text:
        raise ValueError("must not be empty")
    if len(text) > max_length:
        raise ValueError(f"at most {max_length} characters")
    return text


# A text in every language of the survey, or one text for all of them.
LocalText = Annotated[str | dict[Language, str], _local_text(1000)]
LocalChoice = Annotated[str | dict[Language, str], _local_text(200)]
# A condition on earlier answers; its rules are checked against the questions it names
# (app.dialogue.conditions): {question_id: value | {operator: value}, any_of: [...]}.
ConditionSpec = Annotated[
    dict[str, Any],
    Field(
        description="Question id → a value (equality) or {eq|ne|lt|le|gt|ge|in|not_in|answered: "
        "value}; every entry must hold; any_of: [condition, ...] for 'or'.",
        max_length=MAX_CHOICES,
    ),
]


class ChoiceSpec(_Strict):
    """A choice whose stored value differs from what is said, or is said differently per
    language."""

    value: Choice
    text: LocalChoice | None = None


class Question(_Strict):
    id: QuestionId
    type: QuestionType
    text: LocalText
    required: bool = True
    # Scale bounds (required for `scale`), or optional bounds of a `number` answer.
    min: int | None = Field(default=None, validate_default=True, ge=-NUMBER_LIMIT, le=NUMBER_LIMIT)
    max: int | None = Field(default=None, validate_default=True, ge=-NUMBER_LIMIT, le=NUMBER_LIMIT)
    choices: list[Choice | ChoiceSpec] | None = Field(
        default=None, validate_default=True, max_length=MAX_CHOICES
    )
    ask_if: ConditionSpec | None = None  # else the question is skipped as not applicable
    screen_out_if: ConditionSpec | None = None  # ends the interview politely
    confirm_below: float | None = Field(default=None, ge=0, le=1)

    @field_validator("min", "max")
    @classmethod
    def _bounds(cls, value: int | None, info: ValidationInfo) -> int | None:
        kind = info.data.get("type")
        if value is None and kind == QuestionType.SCALE:
            raise ValueError("required for a scale question")
        if value is not None and kind not in (QuestionType.SCALE, QuestionType.NUMBER, None):
            raise ValueError(f"only scale and number questions take {info.field_name}")
        low = info.data.get("min")
        if info.field_name == "max" and value is not None and low is not None:
            if value <= low:
                raise ValueError(f"must be greater than min ({low})")
            if kind == QuestionType.SCALE and value - low + 1 > MAX_SCALE_POINTS:
                raise ValueError(
                    f"a scale has at most {MAX_SCALE_POINTS} points (min {low}, so max "
                    f"{low + MAX_SCALE_POINTS - 1} at most)"
                )
        return value

    @field_validator("choices")
    @classmethod
    def _choices(
        cls, value: list[str | ChoiceSpec] | None, info: ValidationInfo
    ) -> list[str | ChoiceSpec] | None:
        kind = info.data.get("type")
        if kind == QuestionType.CHOICE and not value:
            raise ValueError("a choice question needs a non-empty list of choices")
        if kind not in (QuestionType.CHOICE, None) and value is not None:
            raise ValueError("only choice questions take choices")
        return value


class Script(_Strict):
    intro: LocalText
    consent: LocalText
    refused: LocalText
    closing: LocalText
    # Said to a respondent screened out (a screening question, a full quota); unset, a polite
    # goodbye in the call's language.
    screened_out: LocalText | None = None
    # Left once per contact on an answering machine whose greeting has ended (needs
    # TWILIO_MACHINE_DETECTION=DetectMessageEnd): who called, and a number to call back.
    voicemail: LocalText | None = None
    # Said to whoever calls the campaign's number with no interview to do: who called them and
    # why (then "press 9 never to be called again"); unset, the language's own words.
    inbound: LocalText | None = None


class QuotaSpec(_Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    when: ConditionSpec
    target: int = Field(ge=1, le=10_000_000)


# A calendar date, written YYYY-MM-DD (YAML's unquoted dates too).
IsoDate = Annotated[date, BeforeValidator(iso_date)]


def _rule_name(value: Any) -> str:
    if value not in RULE_NAMES:
        names = ", ".join(RULE_NAMES)
        raise ValueError(f"{value!r} is not an outcome retry_rules apply to ({names})")
    return str(value)


def _retry_rule(value: Any) -> int | list[int]:
    """Minutes, or a list of them read like retry_after_minutes: checked here, so that an
    error names the outcome rather than one branch of a union."""
    if not isinstance(value, list):
        if not _is_minutes(value):
            raise ValueError(f"minutes from 0 to {MAX_RETRY_MINUTES}, or a list of them")
        return int(value)
    if not 1 <= len(value) <= MAX_RETRY_DELAYS:
        raise ValueError(f"a list of 1 to {MAX_RETRY_DELAYS} delays in minutes")
    for index, item in enumerate(value):
        if not _is_minutes(item):
            raise ValueError(f"item {index}: minutes from 0 to {MAX_RETRY_MINUTES}")
    return [int(item) for item in value]


def _is_minutes(value: Any) -> bool:
    # bool is an int to Python, never a number of minutes to an operator.
    is_int = isinstance(value, int) and not isinstance(value, bool)
    return is_int and 0 <= value <= MAX_RETRY_MINUTES


MAX_URL_CHARS = 2048
_WEBHOOK_URL = re.compile(r"^https?://\S+$")


def _webhook_url(value: Any) -> str:
    """An http(s) URL with a host and no credentials, as written (the results are POSTed to
    it, signed: see app.deliveries)."""
    if not isinstance(value, str):
        raise ValueError("an http:// or https:// URL")
    if len(value) > MAX_URL_CHARS:
        raise ValueError(f"at most {MAX_URL_CHARS} characters")
    if not _WEBHOOK_URL.fullmatch(value):
        raise ValueError("an http:// or https:// URL, without spaces")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  # reading it checks it: a port must be a number up to 65535
        httpx.URL(value)  # what the deliverer will send to
    except (ValueError, httpx.InvalidURL) as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if not parts.hostname:
        raise ValueError("the URL needs a host")
    if parts.username is not None or parts.password is not None:
        # The campaign shows its document to every admin; the signature is the credential.
        raise ValueError("no user name or password in the URL: requests are signed instead")
    return value


WebhookUrl = Annotated[
    str,
    BeforeValidator(_webhook_url),
    WithJsonSchema({"type": "string", "maxLength": MAX_URL_CHARS, "pattern": _WEBHOOK_URL.pattern}),
]


RetryMinutes = Annotated[int, Field(ge=0, le=MAX_RETRY_MINUTES)]
RuleName = Annotated[
    str, BeforeValidator(_rule_name), WithJsonSchema({"type": "string", "enum": list(RULE_NAMES)})
]
RetryRule = Annotated[
    RetryMinutes | Annotated[list[RetryMinutes], Field(min_length=1, max_length=MAX_RETRY_DELAYS)],
    BeforeValidator(_retry_rule),
]


class CallWindowSpec(_Strict):
    start: ClockTime
    end: ClockTime
    days: list[Day] = Field(min_length=1, max_length=7)
    # National holidays and the like: no call on these dates, on each contact's calendar.
    blackout_dates: list[IsoDate] | None = Field(default=None, max_length=MAX_BLACKOUT_DATES)

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
    # The default language; `languages` lists every language the survey speaks (the first is
    # the default; a contact's own language picks another). One of the two is required.
    language: Language | None = None
    languages: list[Language] | None = Field(default=None, min_length=1, max_length=5)
    caller_id: str | None = Field(default=None, max_length=32)
    timezone: str = Field(max_length=64)
    call_window: CallWindowSpec
    max_attempts: int = Field(default=3, ge=1, le=20)
    retry_after_minutes: list[Annotated[int, Field(ge=0, le=43_200)]] = Field(
        default_factory=lambda: [60, 240], min_length=1, max_length=20
    )
    max_concurrent_calls: int = Field(default=10, ge=1, le=1000)
    # Each call is placed with this time limit (the provider's own default is 4 hours), so a
    # call is provably over after it: recovery waits that long before it redials on doubt.
    max_call_minutes: int = Field(default=15, ge=1, le=240)
    # Minutes to wait after each outcome named (else retry_after_minutes): busy: 15.
    retry_rules: dict[RuleName, RetryRule] | None = None
    # The campaign's first and last calling dates, both included, on each contact's calendar.
    not_before: IsoDate | None = None
    not_after: IsoDate | None = None
    # A hang-up after consent is called back to finish the interview while attempts remain.
    resume_partials: bool = True
    script: Script
    questions: list[Question] = Field(min_length=1, max_length=MAX_QUESTIONS)
    quotas: list[QuotaSpec] | None = Field(default=None, max_length=20)
    # Answers heard with less confidence are said back for confirmation (a question's own
    # confirm_below wins); unset, nothing is confirmed.
    confirm_below: float | None = Field(default=None, ge=0, le=1)
    # Each contact's result is POSTed here, signed, once it reaches its final state.
    results_webhook_url: WebhookUrl | None = None

    @model_validator(mode="after")
    def _a_language(self) -> Self:
        if self.language is None and not self.languages:
            raise ValueError("language (or languages): required")
        return self

    def definition(self) -> dict[str, Any]:
        """The document as stored: as written, without the optional fields it left out.

        Fields added since the first version of the document are dropped when unset, so that a
        document of that version is stored exactly as before.
        """
        stored: dict[str, Any] = _without_unset_newer(self.model_dump(mode="json"))
        if "resume_partials" not in self.model_fields_set:
            del stored["resume_partials"]  # a default, not something the operator wrote
        return stored

    @property
    def default_language(self) -> Language:
        if self.languages:
            return self.languages[0]
        assert self.language is not None
        return self.language

    @field_validator("not_after")
    @classmethod
    def _not_before_first(cls, value: date | None, info: ValidationInfo) -> date | None:
        first = info.data.get("not_before")
        if value is not None and first is not None and value < first:
            raise ValueError(f"must not be before not_before ({first.isoformat()})")
        return value

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


# Optional fields that first versions of the document did not have (none of them at its top
# level, in its script, in its questions).
_NEWER = frozenset(
    {"language", "languages", "quotas", "confirm_below", "screened_out", "ask_if",
     "screen_out_if", "retry_rules", "not_before", "not_after", "blackout_dates", "voicemail",
     "inbound", "results_webhook_url"}
)  # fmt: skip


def _without_unset_newer(data: Any) -> Any:
    if isinstance(data, dict):
        return {
            key: _without_unset_newer(value)
            for key, value in data.items()
            if not (key in _NEWER and value is None)
        }
    if isinstance(data, list):
        return [_without_unset_newer(item) for item in data]
    return data


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
    retry_rules: dict[str, int | list[int]]
    not_before: date | None
    not_after: date | None
    resume_partials: bool
    results_webhook_url: str | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    contacts_total: int = 0


class CampaignDetail(CampaignSummary):
    definition: dict[str, Any]


# An import answer lists this many rejected rows at most; `rejected_total` counts them all.
REJECTIONS_LISTED = 1000


class Rejection(BaseModel):
    row: int = Field(description="Row number: 1 is the first record after the CSV header")
    error: str


class ImportReport(BaseModel):
    imported: int
    do_not_call: int = Field(description="Of the imported contacts, those on the do-not-call list")
    rejected: list[Rejection] = Field(
        description=f"The rejected rows in file order, the first {REJECTIONS_LISTED:,} at most"
    )
    rejected_total: int = Field(
        description="How many rows were rejected, listed or not: more than `rejected` lists "
        f"when over {REJECTIONS_LISTED:,}"
    )


class AttemptStats(BaseModel):
    total: int
    open: int
    by_outcome: dict[str, int]
    by_status: dict[str, int]


class AppointmentStats(BaseModel):
    """Appointments respondents asked for ("call me tomorrow at six") still to be kept."""

    pending: int = 0
    next_at: datetime | None = None


class CampaignStats(BaseModel):
    campaign_id: int
    status: CampaignStatus
    contacts: dict[ContactState, int]
    attempts: AttemptStats
    appointments: AppointmentStats = Field(default_factory=AppointmentStats)
