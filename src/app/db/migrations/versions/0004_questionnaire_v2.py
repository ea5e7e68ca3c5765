"""Questionnaire v2: languages per contact and call, screened-out respondents, quotas

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTACT_STATES = (
    "pending", "in_progress", "completed", "refused", "partial", "not_reached", "failed",
    "do_not_call",
)  # fmt: skip
OUTCOMES = (
    "completed", "partial", "refused", "opted_out", "hangup", "no_answer", "busy", "machine",
    "fax", "failed", "invalid_number", "canceled", "provider_error", "stale",
)  # fmt: skip


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.add_column("contacts", sa.Column("language", sa.Text(), nullable=True))
    op.add_column("call_attempts", sa.Column("language", sa.Text(), nullable=True))
    op.add_column("survey_responses", sa.Column("language", sa.Text(), nullable=True))
    op.add_column("survey_responses", sa.Column("screened_out_by", sa.Text(), nullable=True))
    op.drop_constraint(op.f("ck_contacts_state"), "contacts", type_="check")
    op.create_check_constraint("state", "contacts", _in("state", (*CONTACT_STATES, "screened_out")))
    op.drop_constraint(op.f("ck_call_attempts_outcome"), "call_attempts", type_="check")
    op.create_check_constraint(
        "outcome",
        "call_attempts",
        f"outcome IS NULL OR {_in('outcome', (*OUTCOMES, 'screened_out'))}",
    )
    op.create_table(
        "campaign_quotas",
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("completes", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("target >= 1", name=op.f("ck_campaign_quotas_target_positive")),
        sa.CheckConstraint(
            "completes >= 0", name=op.f("ck_campaign_quotas_completes_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_quotas_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "name", name=op.f("pk_campaign_quotas")),
    )


def downgrade() -> None:
    op.drop_table("campaign_quotas")
    op.drop_constraint(op.f("ck_call_attempts_outcome"), "call_attempts", type_="check")
    op.create_check_constraint(
        "outcome", "call_attempts", f"outcome IS NULL OR {_in('outcome', OUTCOMES)}"
    )
    op.drop_constraint(op.f("ck_contacts_state"), "contacts", type_="check")
    op.create_check_constraint("state", "contacts", _in("state", CONTACT_STATES))
    op.drop_column("survey_responses", "screened_out_by")
    op.drop_column("survey_responses", "language")
    op.drop_column("call_attempts", "language")
    op.drop_column("contacts", "language")
