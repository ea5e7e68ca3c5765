"""Table `result_deliveries`: the transactional outbox of the results webhook.

Rows are written only by the triggers of migration 0006, in the transaction that makes a
contact's interview final; the deliverer updates them. One row per contact, ever.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, created_at_column


class ResultDelivery(Base):
    __tablename__ = "result_deliveries"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        # One interview, one delivery key: a second final state (none exists today) or a
        # campaign ending after the contact's own end writes nothing more.
        UniqueConstraint("contact_id"),
        # The claim: undelivered rows that are due, oldest due first (see service.claim_due).
        Index(
            "ix_result_deliveries_due",
            "next_attempt_at",
            "id",
            postgresql_where=text("delivered_at IS NULL"),
        ),
        # A campaign's counts (delivery_summary) read this index alone.
        Index("ix_result_deliveries_campaign", "campaign_id", "delivered_at"),
        # Its failing rows and latest error: only rows that ever failed are in it.
        Index(
            "ix_result_deliveries_errors",
            "campaign_id",
            "last_error_at",
            postgresql_where=text("last_error_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False
    )
    contact_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
    )
    # The moment the interview became final: the transaction that wrote the row.
    created_at: Mapped[datetime] = created_at_column()
    # Due time; while a send is in flight, the end of its lease.
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
