"""Tables `campaigns`, `contacts` and `do_not_call`."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, EnumText, created_at_column, in_list, sql_literal


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class ContactState(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REFUSED = "refused"
    PARTIAL = "partial"
    NOT_REACHED = "not_reached"
    FAILED = "failed"
    DO_NOT_CALL = "do_not_call"
    SCREENED_OUT = "screened_out"  # not among the people the survey is for (or quota full)


FINAL_CONTACT_STATES = frozenset(ContactState) - {ContactState.PENDING, ContactState.IN_PROGRESS}


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint(in_list("status", tuple(CampaignStatus)), name="status"),
        CheckConstraint("max_attempts >= 1", name="max_attempts_positive"),
        CheckConstraint("max_concurrent_calls >= 1", name="max_concurrent_calls_positive"),
        CheckConstraint("max_call_minutes BETWEEN 1 AND 240", name="max_call_minutes_range"),
        CheckConstraint(
            "not_before IS NULL OR not_after IS NULL OR not_before <= not_after",
            name="dates_in_order",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[CampaignStatus] = mapped_column(
        EnumText(CampaignStatus), nullable=False, server_default="draft"
    )
    language: Mapped[str] = mapped_column(Text, nullable=False)
    caller_id: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(Text, nullable=False)
    call_window: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    retry_after_minutes: Mapped[list[int]] = mapped_column(ARRAY(Integer), nullable=False)
    max_concurrent_calls: Mapped[int] = mapped_column(Integer, nullable=False)
    # Every call is placed with this time limit, so it provably ends (see scheduler/recovery).
    max_call_minutes: Mapped[int] = mapped_column(Integer, nullable=False, server_default="15")
    # Minutes to wait per outcome (a number, or a list read like retry_after_minutes); an
    # outcome without a rule waits retry_after_minutes.
    retry_rules: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    # No call before / after these dates, read in each contact's own time zone.
    not_before: Mapped[date | None] = mapped_column(Date)
    not_after: Mapped[date | None] = mapped_column(Date)
    # A hang-up after consent is called back to finish the interview while attempts remain.
    resume_partials: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("true")
    )
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    # Where each contact's result is POSTed (app.deliveries): read from the document itself, so
    # it can never disagree with it; the outbox triggers test it without reading the document.
    results_webhook_url: Mapped[str | None] = mapped_column(
        Text, Computed("definition ->> 'results_webhook_url'", persisted=True)
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        CheckConstraint(in_list("state", tuple(ContactState)), name="state"),
        CheckConstraint("attempts_count >= 0", name="attempts_count_non_negative"),
        CheckConstraint("dial_rank IN (0, 1)", name="dial_rank_known"),
        CheckConstraint("appointments_count >= 0", name="appointments_count_non_negative"),
        UniqueConstraint("campaign_id", "phone_number"),
        # The dispatch query: due pending contacts of one campaign, appointments first, then in
        # (next_attempt_at, id) order, which a bulk import leaves tied on next_attempt_at: `id`
        # keeps the index ordered so a claim reads `LIMIT n` rows instead of sorting the campaign.
        Index(
            "ix_contacts_due",
            "campaign_id",
            "dial_rank",
            "next_attempt_at",
            "id",
            postgresql_where=text(f"state = {sql_literal(ContactState.PENDING)}"),
        ),
        # The retention sweep: contacts of a finished campaign not erased yet, in batches.
        Index(
            "ix_contacts_not_erased",
            "campaign_id",
            "id",
            postgresql_where=text("erased_at IS NULL"),
        ),
        # Counting by state (stats, "is the campaign finished?").
        Index("ix_contacts_campaign_state", "campaign_id", "state"),
        # Opt-outs mark every pending contact with the same number.
        Index("ix_contacts_phone_number", "phone_number"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False
    )
    phone_number: Mapped[str] = mapped_column(Text, nullable=False)
    external_id: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(Text, nullable=False)
    # Set when the number alone spans several zones: the window must be open in all of them.
    time_zone_candidates: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")
    )
    attributes: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    state: Mapped[ContactState] = mapped_column(
        EnumText(ContactState), nullable=False, server_default="pending"
    )
    attempts_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    last_outcome: Mapped[str | None] = mapped_column(Text)
    # The contact's language (one of the dialogue's): the call speaks it when the survey does.
    language: Mapped[str | None] = mapped_column(Text)
    # 0 while an appointment is pending (dialled before anyone else), else 1.
    dial_rank: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="1")
    # The time the respondent asked to be called back, while that call is still to be made.
    appointment_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Appointments made: each earns one attempt beyond max_attempts, up to two.
    appointments_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    # The voicemail message is left once per contact.
    voicemail_left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when the person's data was erased (on request, or by retention): the row keeps counts.
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class DoNotCall(Base):
    __tablename__ = "do_not_call"

    phone_number: Mapped[str] = mapped_column(Text, primary_key=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    # Where the entry came from: opt_out, import, api, erasure.
    source: Mapped[str] = mapped_column(Text, nullable=False, server_default="opt_out")
    campaign_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("campaigns.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at_column()


class CampaignQuota(Base):
    """A quota of the campaign's survey: completes counted as they happen, atomically."""

    __tablename__ = "campaign_quotas"
    __table_args__ = (
        CheckConstraint("target >= 1", name="target_positive"),
        CheckConstraint("completes >= 0", name="completes_non_negative"),
    )

    campaign_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    target: Mapped[int] = mapped_column(Integer, nullable=False)
    completes: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")


class ContactEvent(Base):
    """The audit trail of a contact: consent, opt-outs, appointments, voicemail, erasure."""

    __tablename__ = "contact_events"
    __table_args__ = (Index("ix_contact_events_contact_id", "contact_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
    )
    campaign_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False
    )
    call_attempt_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("call_attempts.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    at: Mapped[datetime] = created_at_column()
