"""What the do-not-call and erasure API takes and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.campaigns.schemas import REJECTIONS_LISTED, Rejection

# A JSON body is parsed whole: a larger list goes as CSV, which is read as it arrives.
JSON_MAX_NUMBERS = 1_000_000

# Text kept on every entry: short, and storable (PostgreSQL text has no NUL).
Source = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[^\x00]+$"),
]
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=r"^[^\x00]+$"),
]
Region = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]

DEFAULT_REASON = "do-not-call list"


class DoNotCallUpload(BaseModel):
    """A JSON upload: the numbers, and what to record with each."""

    model_config = ConfigDict(extra="forbid")

    numbers: list[Any] = Field(
        max_length=JSON_MAX_NUMBERS,
        description="Phone numbers (text); each is checked on its own, and one that is not a "
        "number is reported with its position (1 is the first) while the rest are listed",
    )
    source: Source | None = Field(default=None, description="Where the list comes from")
    reason: Reason | None = Field(default=None, description="Why these numbers are listed")
    region: Region | None = Field(
        default=None, description="Region for numbers written without +country (IT, GB, …)"
    )


class DoNotCallReport(BaseModel):
    added: int = Field(description="Numbers newly on the list")
    duplicates: int = Field(
        description="Valid numbers that were already listed, or given more than once"
    )
    contacts_suppressed: int = Field(
        description="Pending contacts of any campaign whose number is listed: never called now"
    )
    rejected: list[Rejection] = Field(
        description=f"The rejected rows in file order, the first {REJECTIONS_LISTED:,} at most"
    )
    rejected_total: int = Field(description="How many rows were rejected, listed or not")


class DoNotCallEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    phone_number: str = Field(
        description="E.164, or sha256:<hex> for the number of a person who asked to be forgotten"
    )
    source: str = Field(description="opt_out, import, api, erasure, or the source given")
    reason: str
    campaign_id: int | None = Field(description="The campaign of an opt-out")
    created_at: datetime


class DoNotCallPage(BaseModel):
    entries: list[DoNotCallEntry]
    next: str | None = Field(description="Pass as `after` for the next page; null on the last page")


class ErasureReport(BaseModel):
    contacts_erased: int = Field(description="Contacts whose personal data was erased now")
    campaigns: int = Field(description="How many campaigns they were in")
    already_forgotten: bool = Field(
        description="The number had been forgotten before: nothing of it was left to erase"
    )
