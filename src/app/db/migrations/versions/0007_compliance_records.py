"""Compliance records: when the claim that created an attempt checked the do-not-call list, the
appointments of a campaign for its export, and the provider callbacks that match no attempt
(inbound callers' numbers) for erasure and retention

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNLINKED = "call_attempt_id IS NULL AND payload <> '{}'::jsonb"


def upgrade() -> None:
    # NULL on the rows written before: nothing recorded that the list was checked for them.
    op.add_column(
        "call_attempts",
        sa.Column("do_not_call_checked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_call_attempts_appointments",
        "call_attempts",
        ["campaign_id"],
        unique=False,
        postgresql_where=sa.text("callback_at IS NOT NULL"),
    )
    op.create_index(
        "ix_telephony_events_unlinked_payload",
        "telephony_events",
        ["payload"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"payload": "jsonb_path_ops"},
        postgresql_where=sa.text(UNLINKED),
    )
    op.create_index(
        "ix_telephony_events_unlinked_received_at",
        "telephony_events",
        ["received_at"],
        unique=False,
        postgresql_where=sa.text(UNLINKED),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_telephony_events_unlinked_received_at",
        table_name="telephony_events",
        postgresql_where=sa.text(UNLINKED),
    )
    op.drop_index(
        "ix_telephony_events_unlinked_payload",
        table_name="telephony_events",
        postgresql_using="gin",
        postgresql_where=sa.text(UNLINKED),
    )
    op.drop_index(
        "ix_call_attempts_appointments",
        table_name="call_attempts",
        postgresql_where=sa.text("callback_at IS NOT NULL"),
    )
    op.drop_column("call_attempts", "do_not_call_checked_at")
