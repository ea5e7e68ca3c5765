"""`POST /api/surveys/try`: the request (a document, the replies) and the transcript answered."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.campaigns.schemas import CampaignDocument, QuestionId, check_storable
from app.dialogue import AnswerValue, Digits, NoInput, Phase, SkipReason, Speech, SurveyOutcome
from app.surveys.trial import Branch, Heard, Transcript, read_reply

# Bounds of one request: longer than any real interview, small enough to answer at once.
MAX_REPLIES = 200
MAX_REPLY_CHARS = 1000
MAX_CONTACT_FIELDS = 50
MAX_FULL_QUOTAS = 20  # a document declares at most 20 quotas

ReplyText = Annotated[str, StringConstraints(max_length=MAX_REPLY_CHARS)]
Keys = Annotated[str, StringConstraints(pattern=r"^[0-9*#]{1,32}$")]
# The names {contact.X} pipes: the same characters as a question id.
ContactField = QuestionId
ContactValue = Annotated[str, StringConstraints(max_length=MAX_REPLY_CHARS)]
QuotaName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# A contact's language as imported: any tag; one the survey does not speak falls back.
LanguageTag = Annotated[str, StringConstraints(min_length=1, max_length=35)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        # Each text is echoed back in the transcript: one JSON cannot carry must not get in.
        check_storable(value)
        return value


class SpeechReply(_Strict):
    """Words heard with a confidence (below the survey's confirm_below, they are said back)."""

    speech: ReplyText
    confidence: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)

    def heard(self) -> Heard:
        return Speech(self.speech.strip(), 1.0 if self.confidence is None else self.confidence)


class DigitsReply(_Strict):
    """Keys pressed: digits, `*` (repeat), `#` (skip)."""

    digits: Keys

    def heard(self) -> Heard:
        return Digits(self.digits)


class SilenceReply(_Strict):
    """Nothing said or pressed before the listening window closed."""

    silence: Literal[True]

    def heard(self) -> Heard:
        return NoInput()


Reply = Annotated[
    ReplyText | SpeechReply | DigitsReply | SilenceReply,
    Field(
        description='A text ("" is silence; only digits, * and # are keys; "words @0.4" is '
        "speech with that confidence; other words are heard with confidence 1), or "
        '{"speech", "confidence"?}, {"digits"} or {"silence": true}.'
    ),
]


class TryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document: CampaignDocument = Field(description="A campaign document, as for POST /campaigns")
    replies: list[Reply] = Field(default_factory=list, max_length=MAX_REPLIES)
    language: LanguageTag | None = Field(
        default=None, description="The contact's language; unset, the survey's default"
    )
    contact: dict[ContactField, ContactValue] = Field(
        default_factory=dict,
        max_length=MAX_CONTACT_FIELDS,
        description="The contact's fields, piped as {contact.NAME}",
    )
    full_quotas: list[QuotaName] = Field(
        default_factory=list,
        max_length=MAX_FULL_QUOTAS,
        description="Quotas of the document to treat as full (their respondents are screened out)",
    )

    # The document checks its own texts, naming the field at fault.
    @field_validator("replies", "language", "contact", "full_quotas", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        check_storable(value)
        return value

    def heard(self) -> list[Heard]:
        return [read_reply(r) if isinstance(r, str) else r.heard() for r in self.replies]


# --- the answer ------------------------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class HeardOut(_Out):
    kind: Literal["speech", "digits", "silence"]
    text: str
    confidence: float | None

    @classmethod
    def of(cls, heard: Heard) -> HeardOut:
        if isinstance(heard, Speech):
            return cls(kind="speech", text=heard.text, confidence=heard.confidence)
        if isinstance(heard, Digits):
            return cls(kind="digits", text=heard.digits, confidence=None)
        return cls(kind="silence", text="", confidence=None)


class BranchEventOut(_Out):
    kind: Branch
    question_id: str | None
    detail: str


class ListeningOut(_Out):
    kind: str = Field(description="consent, yes_no, scale, choice, number or free_text")
    hints: list[str] = Field(description="What the recogniser is told to expect")


class TurnOut(_Out):
    reply: HeardOut | None = Field(description="The reply given; null on the first turn")
    said: list[str] = Field(description="What the agent says, in order")
    events: list[BranchEventOut] = Field(description="Answers, skips, branches taken")
    listen: ListeningOut | None = Field(description="What it listens for next; null at the end")


class AnswerOut(_Out):
    question_id: str
    value: AnswerValue | None
    raw: str
    confidence: float | None
    skipped: SkipReason | None
    confirmed: bool | None
    corrected: bool


class WaitingOut(_Out):
    phase: Phase
    question_id: str | None
    prompt: str
    listen: ListeningOut


class TranscriptOut(_Out):
    language: str = Field(description="The language the call speaks")
    turns: list[TurnOut]
    finished: bool = Field(description="false: the replies ran out; see `waiting`")
    outcome: SurveyOutcome | None
    screened_by: str | None = Field(description='"question:ID" or "quota:NAME"')
    answers: list[AnswerOut] = Field(description="What the interview records, in order")
    quotas: list[str] = Field(description="The quotas a completed interview counts towards")
    waiting: WaitingOut | None = Field(description="The prompt awaiting the next reply")
    unused_replies: int = Field(description="Replies left over when the dialogue ended")

    @classmethod
    def of(cls, transcript: Transcript) -> TranscriptOut:
        turns = [
            TurnOut(
                reply=None if turn.reply is None else HeardOut.of(turn.reply),
                said=list(turn.said),
                events=[BranchEventOut.model_validate(e) for e in turn.events],
                listen=None if turn.listen is None else ListeningOut.model_validate(turn.listen),
            )
            for turn in transcript.turns
        ]
        waiting = transcript.waiting
        return cls(
            language=transcript.language,
            turns=turns,
            finished=transcript.finished,
            outcome=transcript.outcome,
            screened_by=transcript.screened_by,
            answers=[AnswerOut.model_validate(a) for a in transcript.answers],
            quotas=list(transcript.quotas),
            waiting=None if waiting is None else WaitingOut.model_validate(waiting),
            unused_replies=transcript.unused_replies,
        )
