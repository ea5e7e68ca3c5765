"""What the report endpoints answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.campaigns.schemas import CampaignStats
from app.dialogue.survey import QuestionType
from app.reports.dispositions import Category
from app.reports.questions import QuestionStats
from app.reports.rates import OutcomeRates


class DispositionCount(BaseModel):
    label: str
    category: Category
    count: int


class ResponseCounts(BaseModel):
    total: int
    completed: int


class QuotaFill(BaseModel):
    name: str
    target: int
    completes: int = Field(description="Completed interviews counted in the quota")
    full: bool


class CampaignReport(CampaignStats):
    """The campaign's stats plus AAPOR dispositions and rates and the answers per question."""

    responses: ResponseCounts
    dispositions: dict[str, DispositionCount] = Field(
        description="Contacts by AAPOR final disposition code (interim while contacts are open)"
    )
    disposition_totals: dict[Category, int] = Field(
        description="Contacts per group of the rate formulas: I, P, R, NC, O, UH, UO, NE"
    )
    rates: OutcomeRates
    questions: dict[str, QuestionStats]
    quotas: list[QuotaFill] = Field(default_factory=list, description="Each quota's fill")


class QuestionColumn(BaseModel):
    id: str
    type: QuestionType
    text: str
    column: str
    skipped_column: str


class ResponsePage(BaseModel):
    items: list[dict[str, Any]]
    questions: list[QuestionColumn]
    total: int
    limit: int
    offset: int


class AuditPage(BaseModel):
    """Audit rows: `contact_id`, `at` (ISO 8601), `event` (dial, inbound_call, consent,
    opt_out, appointment, voicemail, erased), `attempt_number`, `detail` (an object)."""

    items: list[dict[str, Any]]
    truncated: bool
