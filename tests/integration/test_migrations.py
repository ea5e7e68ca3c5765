"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.migrate import alembic_config, current_revision, head_revision, upgrade_to_head
from app.db.models import Base


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_has_no_drift_from_models(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []


async def test_upgrade_is_idempotent_and_reaches_head(engine: AsyncEngine) -> None:
    await upgrade_to_head(engine)
    await upgrade_to_head(engine)
    assert await current_revision(engine) == head_revision()


async def test_checklist_constraint_unique_contact_attempt_exists(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'call_attempts'::regclass AND contype = 'u'"
            )
        )
        definitions = set(rows.scalars())
    assert "UNIQUE (contact_id, attempt_number)" in definitions
    assert "UNIQUE (provider_call_id)" in definitions


async def test_the_newest_migration_downgrades_and_upgrades_again(engine: AsyncEngine) -> None:
    def downgrade(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), "-1")

    async with engine.begin() as conn:
        await conn.run_sync(downgrade)
    assert await current_revision(engine) != head_revision()

    await upgrade_to_head(engine)

    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
