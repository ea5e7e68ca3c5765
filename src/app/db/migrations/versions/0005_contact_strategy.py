"""Contact strategy and compliance: appointments, resumed interviews, retry rules, campaign
dates, inbound calls, voicemail, suppression sources, erasure and an audit trail

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = (
    "completed", "partial", "refused", "opted_out", "hangup", "no_answer", "busy", "machine",
    "fax", "failed", "invalid_number", "canceled", "provider_error", "stale", "screened_out",
)  # fmt: skip


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    _campaigns()
    _contacts()
    _attempts()
    _responses()
    op.add_column(
        "do_not_call", sa.Column("source", sa.Text(), server_default="opt_out", nullable=False)
    )
    _contact_events()


def _campaigns() -> None:
    op.add_column(
        "campaigns",
        sa.Column(
            "retry_rules",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column("campaigns", sa.Column("not_before", sa.Date(), nullable=True))
    op.add_column("campaigns", sa.Column("not_after", sa.Date(), nullable=True))
    op.add_column(
        "campaigns",
        sa.Column("resume_partials", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )
    op.create_check_constraint(
        "dates_in_order",
        "campaigns",
        "not_before IS NULL OR not_after IS NULL OR not_before <= not_after",
    )


def _contacts() -> None:
    op.add_column(
        "contacts", sa.Column("dial_rank", sa.SmallInteger(), server_default="1", nullable=False)
    )
    op.add_column("contacts", sa.Column("appointment_at", sa.DateTime(timezone=True)))
    op.add_column(
        "contacts",
        sa.Column("appointments_count", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("contacts", sa.Column("voicemail_left_at", sa.DateTime(timezone=True)))
    op.add_column("contacts", sa.Column("erased_at", sa.DateTime(timezone=True)))
    op.create_check_constraint("dial_rank_known", "contacts", "dial_rank IN (0, 1)")
    op.create_check_constraint(
        "appointments_count_non_negative", "contacts", "appointments_count >= 0"
    )
    op.drop_index("ix_contacts_due", table_name="contacts")
    op.create_index(
        "ix_contacts_due",
        "contacts",
        ["campaign_id", "dial_rank", "next_attempt_at", "id"],
        unique=False,
        postgresql_where=sa.text("state = 'pending'"),
    )
    # Finished campaigns' contacts not yet erased: the retention sweep's batches.
    op.create_index(
        "ix_contacts_not_erased",
        "contacts",
        ["campaign_id", "id"],
        unique=False,
        postgresql_where=sa.text("erased_at IS NULL"),
    )


def _attempts() -> None:
    op.add_column(
        "call_attempts",
        sa.Column("direction", sa.Text(), server_default="outbound", nullable=False),
    )
    op.add_column("call_attempts", sa.Column("callback_at", sa.DateTime(timezone=True)))
    op.add_column("call_attempts", sa.Column("dial_zones", postgresql.ARRAY(sa.Text())))
    op.add_column("call_attempts", sa.Column("dial_window", sa.Text()))
    op.create_check_constraint("direction", "call_attempts", "direction IN ('outbound', 'inbound')")
    op.drop_constraint(op.f("ck_call_attempts_outcome"), "call_attempts", type_="check")
    op.create_check_constraint(
        "outcome",
        "call_attempts",
        f"outcome IS NULL OR {_in('outcome', (*OUTCOMES, 'callback_requested'))}",
    )


def _responses() -> None:
    op.add_column(
        "survey_responses",
        sa.Column("superseded", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("survey_responses", sa.Column("resumed_from_id", sa.BigInteger()))
    op.create_foreign_key(
        op.f("fk_survey_responses_resumed_from_id_survey_responses"),
        "survey_responses",
        "survey_responses",
        ["resumed_from_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(
        "ix_survey_responses_contact_id", "survey_responses", ["contact_id"], unique=False
    )


def _contact_events() -> None:
    op.create_table(
        "contact_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("call_attempt_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["call_attempt_id"],
            ["call_attempts.id"],
            name=op.f("fk_contact_events_call_attempt_id_call_attempts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_contact_events_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_events_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_events")),
    )
    op.create_index("ix_contact_events_contact_id", "contact_events", ["contact_id"], unique=False)


def downgrade() -> None:
    op.drop_table("contact_events")
    op.drop_column("do_not_call", "source")
    op.drop_index("ix_survey_responses_contact_id", table_name="survey_responses")
    op.drop_constraint(
        op.f("fk_survey_responses_resumed_from_id_survey_responses"),
        "survey_responses",
        type_="foreignkey",
    )
    op.drop_column("survey_responses", "resumed_from_id")
    op.drop_column("survey_responses", "superseded")
    op.drop_constraint(op.f("ck_call_attempts_outcome"), "call_attempts", type_="check")
    op.create_check_constraint(
        "outcome", "call_attempts", f"outcome IS NULL OR {_in('outcome', OUTCOMES)}"
    )
    op.drop_constraint(op.f("ck_call_attempts_direction"), "call_attempts", type_="check")
    for column in ("dial_window", "dial_zones", "callback_at", "direction"):
        op.drop_column("call_attempts", column)
    op.drop_index("ix_contacts_not_erased", table_name="contacts")
    op.drop_index("ix_contacts_due", table_name="contacts")
    op.create_index(
        "ix_contacts_due",
        "contacts",
        ["campaign_id", "next_attempt_at", "id"],
        unique=False,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.drop_constraint(op.f("ck_contacts_appointments_count_non_negative"), "contacts", "check")
    op.drop_constraint(op.f("ck_contacts_dial_rank_known"), "contacts", type_="check")
    for column in ("erased_at", "voicemail_left_at", "appointments_count", "appointment_at",
                   "dial_rank"):  # fmt: skip
        op.drop_column("contacts", column)
    op.drop_constraint(op.f("ck_campaigns_dates_in_order"), "campaigns", type_="check")
    for column in ("resume_partials", "not_after", "not_before", "retry_rules"):
        op.drop_column("campaigns", column)
