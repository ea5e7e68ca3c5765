"""Tables `call_attempts`, `telephony_events` and `survey_responses`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, EnumText, created_at_column, in_list


class AttemptStatus(StrEnum):
    """Where a call stands: ours before the provider knows it, then the provider's CallState."""

    DISPATCHING = "dispatching"  # committed, provider not yet asked or not yet answered
    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"
    ERROR = "error"  # the provider refused to place the call
    STALE = "stale"  # closed by recovery after no news for too long


class Outcome(StrEnum):
    """Why an attempt ended, in the product's own words."""

    COMPLETED = "completed"
    PARTIAL = "partial"
    REFUSED = "refused"
    OPTED_OUT = "opted_out"
    HANGUP = "hangup"  # answered, but no survey outcome
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    MACHINE = "machine"
    FAX = "fax"
    FAILED = "failed"  # the provider could not connect the call
    INVALID_NUMBER = "invalid_number"
    CANCELED = "canceled"
    PROVIDER_ERROR = "provider_error"
    STALE = "stale"
    SCREENED_OUT = "screened_out"
    CALLBACK_REQUESTED = "callback_requested"  # an appointment: call me at another time


class Direction(StrEnum):
    OUTBOUND = "outbound"  # we dialled
    INBOUND = "inbound"  # the respondent called the campaign's number


class CallAttempt(Base):
    __tablename__ = "call_attempts"
    __table_args__ = (
        UniqueConstraint("contact_id", "attempt_number"),
        UniqueConstraint("provider_call_id"),
        CheckConstraint(in_list("status", tuple(AttemptStatus)), name="status"),
        CheckConstraint(f"outcome IS NULL OR {in_list('outcome', tuple(Outcome))}", name="outcome"),
        CheckConstraint("attempt_number >= 1", name="attempt_number_positive"),
        CheckConstraint(in_list("direction", tuple(Direction)), name="direction"),
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ended_after_started"),
        CheckConstraint(
            "ring_timeout_seconds > 0 AND time_limit_seconds > 0", name="call_limits_positive"
        ),
        # At most one open attempt per contact, whatever the scheduler does.
        Index(
            "uq_call_attempts_open_contact",
            "contact_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
        ),
        # Open calls per campaign (concurrency), and the stale scan.
        Index(
            "ix_call_attempts_open_campaign",
            "campaign_id",
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index(
            "ix_call_attempts_open_last_event",
            "last_event_at",
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_call_attempts_started_at", "started_at"),
        # A campaign's appointments (the export's rows of contacts with no interview yet): only
        # the attempts that booked one are in it.
        Index(
            "ix_call_attempts_appointments",
            "campaign_id",
            postgresql_where=text("callback_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
    )
    campaign_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False
    )
    attempt_number: Mapped[int] = mapped_column(Integer, nullable=False)
    provider_call_id: Mapped[str | None] = mapped_column(Text)
    status: Mapped[AttemptStatus] = mapped_column(
        EnumText(AttemptStatus), nullable=False, server_default="dispatching"
    )
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_event_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_sequence_number: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[Outcome | None] = mapped_column(EnumText(Outcome))
    # What answering-machine detection said (human, machine, fax, unknown; older rows keep the
    # provider's own word): a record, not a state.
    answered_by: Mapped[str | None] = mapped_column(Text)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    dialogue_state: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    language: Mapped[str | None] = mapped_column(Text)  # the language the call spoke
    # The limits the call was placed with: it is provably over at started_at + both + a margin.
    # The server defaults are the provider's maxima, for rows written without them.
    ring_timeout_seconds: Mapped[int] = mapped_column(Integer, nullable=False, server_default="600")
    time_limit_seconds: Mapped[int] = mapped_column(Integer, nullable=False, server_default="14400")
    # Recovery's notes while the provider gives no word on a silent call: when it last asked,
    # and since when it has been unable to confirm anything.
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unconfirmed_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    direction: Mapped[Direction] = mapped_column(
        EnumText(Direction), nullable=False, server_default="outbound"
    )
    # The appointment the respondent asked for in this call (outcome callback_requested).
    callback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The audit of the dial: the zones the contact's local time was read in, and the window rule
    # that allowed the call.
    dial_zones: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    dial_window: Mapped[str | None] = mapped_column(Text)
    # When the claim that created the attempt checked the do-not-call list, in that same
    # statement (the database's clock); NULL: nothing recorded a check (rows written before).
    do_not_call_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# A provider callback that matched no attempt and still holds what the provider sent.
UNLINKED_EVENT = "call_attempt_id IS NULL AND payload <> '{}'::jsonb"


class TelephonyEvent(Base):
    """Append-only log of what the provider told us, raw."""

    __tablename__ = "telephony_events"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        Index("ix_telephony_events_call_attempt_id", "call_attempt_id"),
        # Callbacks that match no attempt (an inbound call that only heard the message) keep
        # the caller's number in the payload: erasure finds them by it, retention by age. Only
        # those not scrubbed yet are in these indexes: a few rows, however many calls there are.
        Index(
            "ix_telephony_events_unlinked_payload",
            "payload",
            postgresql_using="gin",
            postgresql_ops={"payload": "jsonb_path_ops"},
            postgresql_where=text(UNLINKED_EVENT),
        ),
        Index(
            "ix_telephony_events_unlinked_received_at",
            "received_at",
            postgresql_where=text(UNLINKED_EVENT),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    call_attempt_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("call_attempts.id", ondelete="SET NULL")
    )
    provider: Mapped[str] = mapped_column(Text, nullable=False)
    provider_call_id: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str | None] = mapped_column(Text)
    sequence_number: Mapped[int | None] = mapped_column(Integer)
    dedupe_key: Mapped[str] = mapped_column(Text, nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    received_at: Mapped[datetime] = created_at_column()


class SurveyResponse(Base):
    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("call_attempt_id"),
        Index("ix_survey_responses_campaign_id", "campaign_id"),
        Index("ix_survey_responses_contact_id", "contact_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    call_attempt_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("call_attempts.id", ondelete="CASCADE"), nullable=False
    )
    contact_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
    )
    campaign_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False
    )
    answers: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    completed: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))
    language: Mapped[str | None] = mapped_column(Text)
    # Why the respondent was screened out: "question:ID" or "quota:NAME".
    screened_out_by: Mapped[str | None] = mapped_column(Text)
    # A resumed interview continues an earlier attempt's response, which is then superseded:
    # the live rows hold one interview per contact.
    resumed_from_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("survey_responses.id", ondelete="SET NULL")
    )
    superseded: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
