"""Calls that provably end: a time limit per campaign, the limits each attempt was placed with,
and what recovery noted while the provider could not answer

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "campaigns",
        sa.Column("max_call_minutes", sa.Integer(), server_default="15", nullable=False),
    )
    op.create_check_constraint(
        "max_call_minutes_range", "campaigns", "max_call_minutes BETWEEN 1 AND 240"
    )
    # Attempts placed before this revision carried no time limit and the ring timeout of the
    # day: the defaults are the provider's maxima (600 s of ringing, a 4-hour call), so recovery
    # never believes such a call over too early.
    op.add_column(
        "call_attempts",
        sa.Column("ring_timeout_seconds", sa.Integer(), server_default="600", nullable=False),
    )
    op.add_column(
        "call_attempts",
        sa.Column("time_limit_seconds", sa.Integer(), server_default="14400", nullable=False),
    )
    op.create_check_constraint(
        "call_limits_positive",
        "call_attempts",
        "ring_timeout_seconds > 0 AND time_limit_seconds > 0",
    )
    op.add_column(
        "call_attempts", sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "call_attempts", sa.Column("unconfirmed_since", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("call_attempts", "unconfirmed_since")
    op.drop_column("call_attempts", "checked_at")
    op.drop_constraint(
        op.f("ck_call_attempts_call_limits_positive"), "call_attempts", type_="check"
    )
    op.drop_column("call_attempts", "time_limit_seconds")
    op.drop_column("call_attempts", "ring_timeout_seconds")
    op.drop_constraint(op.f("ck_campaigns_max_call_minutes_range"), "campaigns", type_="check")
    op.drop_column("campaigns", "max_call_minutes")
