"""Results out: the campaign's results webhook URL and the outbox of its deliveries, written by
triggers in the transaction that makes a contact's interview final

Revision ID: 0006
Revises: 0005
Create Date: 2027-01-11
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FINAL_STATES = (
    "completed", "refused", "partial", "not_reached", "failed", "do_not_call", "screened_out",
)  # fmt: skip
UNFINISHED = ("pending", "in_progress")
FINISHED_CAMPAIGN = ("completed", "cancelled")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.add_column(
        "campaigns",
        sa.Column(
            "results_webhook_url",
            sa.Text(),
            sa.Computed("definition ->> 'results_webhook_url'", persisted=True),
            nullable=True,
        ),
    )
    _outbox()
    _triggers()


def _outbox() -> None:
    op.create_table(
        "result_deliveries",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "attempts >= 0", name=op.f("ck_result_deliveries_attempts_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_result_deliveries_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_result_deliveries_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_deliveries")),
        sa.UniqueConstraint("contact_id", name=op.f("uq_result_deliveries_contact_id")),
    )
    # The deliverer's claim: due rows not delivered yet, in (next_attempt_at, id) order.
    op.create_index(
        "ix_result_deliveries_due",
        "result_deliveries",
        ["next_attempt_at", "id"],
        unique=False,
        postgresql_where=sa.text("delivered_at IS NULL"),
    )
    # A campaign's counts, and (below) its failing rows and latest error.
    op.create_index(
        "ix_result_deliveries_campaign",
        "result_deliveries",
        ["campaign_id", "delivered_at"],
        unique=False,
    )
    op.create_index(
        "ix_result_deliveries_errors",
        "result_deliveries",
        ["campaign_id", "last_error_at"],
        unique=False,
        postgresql_where=sa.text("last_error_at IS NOT NULL"),
    )


# Triggers rather than SQL added to each statement: a contact becomes final in close_attempts,
# at the end of a campaign's dates, on an opt-out (its other pending contacts too), on "press 9",
# on a do-not-call load, on erasure, and at import (a listed number) — and in any statement
# written later. Row-level with a WHEN clause: the condition is tested without calling the
# function, so dispatch claims, imports of pending contacts and retries pay nothing; the
# function runs only for a row that has just become final (one primary-key probe, one insert).
# It writes only for campaigns with a results webhook URL.
_CONTACT_FUNCTION = """
CREATE FUNCTION result_deliveries_contact_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO result_deliveries (campaign_id, contact_id)
    SELECT c.id, NEW.id FROM campaigns c
    WHERE c.id = NEW.campaign_id AND c.results_webhook_url IS NOT NULL
    ON CONFLICT (contact_id) DO NOTHING;
    RETURN NULL;
END
$$
"""

# A cancel, or a campaign completed because its quotas are full, leaves contacts unfinished for
# good. Those ever called (a refusal, a broken-off interview waiting to be resumed...) get their
# delivery now; one in a call is sent once the call has ended (the deliverer waits for it).
# Contacts never called have no interview to report.
_CAMPAIGN_FUNCTION = f"""
CREATE FUNCTION result_deliveries_campaign_over() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO result_deliveries (campaign_id, contact_id)
    SELECT NEW.id, ct.id FROM contacts ct
    WHERE ct.campaign_id = NEW.id AND {_in("ct.state", UNFINISHED)} AND ct.attempts_count > 0
    ON CONFLICT (contact_id) DO NOTHING;
    RETURN NULL;
END
$$
"""

_TRIGGERS = (
    f"""
CREATE TRIGGER result_deliveries_on_final_state
AFTER UPDATE OF state ON contacts FOR EACH ROW
WHEN ({_in("NEW.state", FINAL_STATES)} AND {_in("OLD.state", UNFINISHED)})
EXECUTE FUNCTION result_deliveries_contact_final()
""",
    f"""
CREATE TRIGGER result_deliveries_on_final_insert
AFTER INSERT ON contacts FOR EACH ROW
WHEN ({_in("NEW.state", FINAL_STATES)})
EXECUTE FUNCTION result_deliveries_contact_final()
""",
    f"""
CREATE TRIGGER result_deliveries_on_campaign_over
AFTER UPDATE OF status ON campaigns FOR EACH ROW
WHEN ({_in("NEW.status", FINISHED_CAMPAIGN)} AND NOT {_in("OLD.status", FINISHED_CAMPAIGN)}
      AND NEW.results_webhook_url IS NOT NULL)
EXECUTE FUNCTION result_deliveries_campaign_over()
""",
)


def _triggers() -> None:
    op.execute(_CONTACT_FUNCTION)
    op.execute(_CAMPAIGN_FUNCTION)
    for statement in _TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER result_deliveries_on_campaign_over ON campaigns")
    op.execute("DROP TRIGGER result_deliveries_on_final_insert ON contacts")
    op.execute("DROP TRIGGER result_deliveries_on_final_state ON contacts")
    op.execute("DROP FUNCTION result_deliveries_campaign_over()")
    op.execute("DROP FUNCTION result_deliveries_contact_final()")
    op.drop_index(
        "ix_result_deliveries_errors",
        table_name="result_deliveries",
        postgresql_where=sa.text("last_error_at IS NOT NULL"),
    )
    op.drop_index("ix_result_deliveries_campaign", table_name="result_deliveries")
    op.drop_index(
        "ix_result_deliveries_due",
        table_name="result_deliveries",
        postgresql_where=sa.text("delivered_at IS NULL"),
    )
    op.drop_table("result_deliveries")
    op.drop_column("campaigns", "results_webhook_url")
