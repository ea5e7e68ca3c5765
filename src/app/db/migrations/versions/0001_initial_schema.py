"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="draft", nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("caller_id", sa.Text(), nullable=True),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("call_window", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("retry_after_minutes", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("max_concurrent_calls", sa.Integer(), nullable=False),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'running', 'paused', 'completed', 'cancelled')",
            name=op.f("ck_campaigns_status"),
        ),
        sa.CheckConstraint("max_attempts >= 1", name=op.f("ck_campaigns_max_attempts_positive")),
        sa.CheckConstraint(
            "max_concurrent_calls >= 1", name=op.f("ck_campaigns_max_concurrent_calls_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("phone_number", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("state", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_outcome", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'in_progress', 'completed', 'refused', 'partial', 'not_reached', 'failed', 'do_not_call')",
            name=op.f("ck_contacts_state"),
        ),
        sa.CheckConstraint(
            "attempts_count >= 0", name=op.f("ck_contacts_attempts_count_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_contacts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint(
            "campaign_id", "phone_number", name=op.f("uq_contacts_campaign_id_phone_number")
        ),
    )
    op.create_index(
        "ix_contacts_campaign_state", "contacts", ["campaign_id", "state"], unique=False
    )
    op.create_index(
        "ix_contacts_due",
        "contacts",
        ["campaign_id", "next_attempt_at", "id"],
        unique=False,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index("ix_contacts_phone_number", "contacts", ["phone_number"], unique=False)
    op.create_table(
        "do_not_call",
        sa.Column("phone_number", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_do_not_call_campaign_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("phone_number", name=op.f("pk_do_not_call")),
    )
    op.create_table(
        "call_attempts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt_number", sa.Integer(), nullable=False),
        sa.Column("provider_call_id", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="dispatching", nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sequence_number", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.Text(), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("dialogue_state", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('completed', 'partial', 'refused', 'opted_out', 'hangup', 'no_answer', 'busy', 'machine', 'fax', 'failed', 'invalid_number', 'canceled', 'provider_error', 'stale')",
            name=op.f("ck_call_attempts_outcome"),
        ),
        sa.CheckConstraint(
            "status IN ('dispatching', 'queued', 'initiated', 'ringing', 'in-progress', 'completed', 'busy', 'no-answer', 'failed', 'canceled', 'error', 'stale')",
            name=op.f("ck_call_attempts_status"),
        ),
        sa.CheckConstraint(
            "attempt_number >= 1", name=op.f("ck_call_attempts_attempt_number_positive")
        ),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at",
            name=op.f("ck_call_attempts_ended_after_started"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_call_attempts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_call_attempts_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_attempts")),
        sa.UniqueConstraint(
            "contact_id", "attempt_number", name=op.f("uq_call_attempts_contact_id_attempt_number")
        ),
        sa.UniqueConstraint("provider_call_id", name=op.f("uq_call_attempts_provider_call_id")),
    )
    op.create_index(
        "ix_call_attempts_open_campaign",
        "call_attempts",
        ["campaign_id"],
        unique=False,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_index(
        "ix_call_attempts_open_last_event",
        "call_attempts",
        ["last_event_at"],
        unique=False,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_index("ix_call_attempts_started_at", "call_attempts", ["started_at"], unique=False)
    op.create_index(
        "uq_call_attempts_open_contact",
        "call_attempts",
        ["contact_id"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("call_attempt_id", sa.BigInteger(), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("answers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("completed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["call_attempt_id"],
            ["call_attempts.id"],
            name=op.f("fk_survey_responses_call_attempt_id_call_attempts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_survey_responses_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_survey_responses_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint("call_attempt_id", name=op.f("uq_survey_responses_call_attempt_id")),
    )
    op.create_index(
        "ix_survey_responses_campaign_id", "survey_responses", ["campaign_id"], unique=False
    )
    op.create_table(
        "telephony_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("call_attempt_id", sa.BigInteger(), nullable=True),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("provider_call_id", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("sequence_number", sa.Integer(), nullable=True),
        sa.Column("dedupe_key", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["call_attempt_id"],
            ["call_attempts.id"],
            name=op.f("fk_telephony_events_call_attempt_id_call_attempts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telephony_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_telephony_events_dedupe_key")),
    )
    op.create_index(
        "ix_telephony_events_call_attempt_id", "telephony_events", ["call_attempt_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_telephony_events_call_attempt_id", table_name="telephony_events")
    op.drop_table("telephony_events")
    op.drop_index("ix_survey_responses_campaign_id", table_name="survey_responses")
    op.drop_table("survey_responses")
    op.drop_index(
        "uq_call_attempts_open_contact",
        table_name="call_attempts",
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.drop_index("ix_call_attempts_started_at", table_name="call_attempts")
    op.drop_index(
        "ix_call_attempts_open_last_event",
        table_name="call_attempts",
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.drop_index(
        "ix_call_attempts_open_campaign",
        table_name="call_attempts",
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.drop_table("call_attempts")
    op.drop_table("do_not_call")
    op.drop_index("ix_contacts_phone_number", table_name="contacts")
    op.drop_index(
        "ix_contacts_due", table_name="contacts", postgresql_where=sa.text("state = 'pending'")
    )
    op.drop_index("ix_contacts_campaign_state", table_name="contacts")
    op.drop_table("contacts")
    op.drop_table("campaigns")
