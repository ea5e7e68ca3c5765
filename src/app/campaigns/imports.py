"""Contact import in bounded memory: the body is read piece by piece, each piece checked in a
worker thread and COPYed into a staging table; then one set-based statement moves the rows into
`contacts`, finding repeats and do-not-call numbers, and the rejected rows are read back.

All of it runs in the caller's transaction: the staging table goes with it (ON COMMIT DROP), and
an upload that fails or stops half way leaves nothing behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Callable, Sequence
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns.contacts import ContactRow, Normaliser, PreparedContacts
from app.campaigns.models import ContactState
from app.campaigns.schemas import REJECTIONS_LISTED, ImportReport, Rejection
from app.campaigns.uploads import UploadReader
from app.db.base import sql_literal
from app.db.copying import OverlappedCopy, copy_connection
from app.suppression.numbers import listed_hash_sql
from app.web.bodies import rechunk

# About 10,000 short rows: small enough to keep memory flat and the worker thread's turns
# short, large enough that each COPY round trip carries plenty.
PIECE_BYTES = 256 << 10

PENDING = sql_literal(ContactState.PENDING)
DO_NOT_CALL = sql_literal(ContactState.DO_NOT_CALL)

STAGING = "contact_import"
# A staging row is a contact (error NULL) or a rejection (only row_no and error). Contacts are
# COPYed straight from ContactRow tuples, so the columns follow its fields.
CONTACT_COLUMNS = ("row_no", *ContactRow._fields[1:])
REJECTION_COLUMNS = ("row_no", "error")
_CREATE_STAGING = text(f"""
CREATE TEMPORARY TABLE {STAGING} (
    row_no integer NOT NULL,
    phone_number text,
    external_id text,
    name text,
    timezone text,
    time_zone_candidates text[],
    attributes jsonb,
    language text,
    error text
) ON COMMIT DROP
""")

# The first row of each number is the candidate; later rows repeat it. Candidates go in in file
# order (so contacts are called in that order) and those the campaign already has are left out
# by ON CONFLICT; the rows of numbers given twice or already there are then recorded as
# rejections, in the same statement (only it sees what was inserted). Joins, not correlated
# subqueries: the sizes run to millions of rows.
_MERGE = text(f"""
WITH firsts AS (
    SELECT phone_number, min(row_no) AS first_row, count(*) AS copies
    FROM {STAGING} WHERE error IS NULL
    GROUP BY phone_number
), inserted AS (
    INSERT INTO contacts
        (campaign_id, phone_number, external_id, name, timezone, time_zone_candidates,
         attributes, language, state, next_attempt_at)
    SELECT :campaign_id, s.phone_number, s.external_id, s.name, s.timezone,
           s.time_zone_candidates, s.attributes, s.language,
           CASE WHEN EXISTS (SELECT 1 FROM do_not_call d WHERE d.phone_number IN (s.phone_number,
                    {listed_hash_sql("s.phone_number")}))
                THEN {DO_NOT_CALL} ELSE {PENDING} END,
           now()
    FROM {STAGING} s JOIN firsts f ON f.first_row = s.row_no
    ORDER BY s.row_no
    ON CONFLICT (campaign_id, phone_number) DO NOTHING
    RETURNING phone_number, state
), left_out AS (
    SELECT f.phone_number, f.first_row, i.phone_number IS NULL AS already
    FROM firsts f LEFT JOIN inserted i USING (phone_number)
    WHERE f.copies > 1 OR i.phone_number IS NULL
), rejected AS (
    INSERT INTO {STAGING} (row_no, error)
    SELECT s.row_no,
           CASE WHEN s.row_no = l.first_row THEN 'already in campaign'
                ELSE 'duplicate of row ' || l.first_row END
    FROM left_out l JOIN {STAGING} s ON s.phone_number = l.phone_number
    WHERE s.error IS NULL AND (s.row_no <> l.first_row OR l.already)
)
SELECT count(*) AS imported, count(*) FILTER (WHERE state = {DO_NOT_CALL}) AS do_not_call
FROM inserted
""")

# Temporary tables are never analysed automatically: without statistics the planner takes a
# staging table of a million rows for a few hundred, and picks plans fit for that.
_ANALYZE_STAGING = text(f"ANALYZE {STAGING}")

_REJECTED = text(f"""
SELECT row_no, error, count(*) OVER () AS total
FROM {STAGING} WHERE error IS NOT NULL
ORDER BY row_no
LIMIT :limit
""")


async def stage(
    session: AsyncSession,
    body: AsyncIterable[bytes],
    *,
    reader: UploadReader,
    normaliser: Normaliser,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Create the staging table and fill it with every row of `body`, checked, as it arrives.

    `progress`, when given, is told how many more bytes were checked after each piece.
    """
    await session.execute(_CREATE_STAGING)
    connection = await copy_connection(session)

    async def copy(batch: PreparedContacts) -> None:
        for records, columns in (batch.rows, CONTACT_COLUMNS), (batch.rejected, REJECTION_COLUMNS):
            if records:
                await connection.copy_records_to_table(STAGING, records=records, columns=columns)

    copier = OverlappedCopy(copy)
    try:
        async for piece in rechunk(body, PIECE_BYTES):
            await copier.send(await asyncio.to_thread(_check, reader, normaliser, piece))
            if progress is not None:
                progress(len(piece))
        await copier.send(await asyncio.to_thread(_check, reader, normaliser, None))
        await copier.drain()
    finally:
        await copier.settle()


async def merge(session: AsyncSession, *, campaign_id: int) -> ImportReport:
    """Move the staged contacts into the campaign; report what was left out and why."""
    await session.execute(_ANALYZE_STAGING)
    counts = (await session.execute(_MERGE, {"campaign_id": campaign_id})).one()
    rejected = (await session.execute(_REJECTED, {"limit": REJECTIONS_LISTED})).all()
    return build_report(counts, rejected)


def build_report(counts: Row[Any], rejected: Sequence[Row[Any]]) -> ImportReport:
    """The answer: counts, the first rejected rows in file order, and how many there were."""
    return ImportReport(
        imported=counts.imported,
        do_not_call=counts.do_not_call,
        rejected=[Rejection(row=r.row_no, error=r.error) for r in rejected],
        rejected_total=rejected[0].total if rejected else 0,
    )


def _check(reader: UploadReader, normaliser: Normaliser, piece: bytes | None) -> PreparedContacts:
    """The rows that `piece` completes, checked (None: the body has ended)."""
    return normaliser.batch(reader.close() if piece is None else reader.feed(piece))
