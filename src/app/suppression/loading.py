"""Load checked numbers into `do_not_call`: COPY into a staging table, then one set-based merge.

All of it runs in the caller's transaction: the staging table goes with it (ON COMMIT DROP), and
an upload that fails or stops half way leaves nothing behind. Each piece is COPYed while the next
one is being checked.

Why one merge for the whole upload, after measuring (bench/README.md): at ten million numbers
the primary key's index outgrows PostgreSQL's buffers, and merging a million-number chunk at a
time walked the whole index once per chunk (99 s); inserting every number in one sorted pass
walks it once (about 35 s). A plain INSERT after an anti-join writes two WAL records a row where
INSERT … ON CONFLICT DO NOTHING writes three, and took half the time (45 s against 92 s).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns.models import ContactState
from app.db.base import count_of, sql_literal
from app.db.copying import OverlappedCopy, copy_connection
from app.suppression.reading import Checked

STAGING = "dnc_import"
PENDING = sql_literal(ContactState.PENDING)
DO_NOT_CALL = sql_literal(ContactState.DO_NOT_CALL)

# No index and no WAL (a temporary table): COPY into it costs little more than the transfer.
_CREATE_STAGING = text(f"CREATE TEMPORARY TABLE {STAGING} (phone_number text) ON COMMIT DROP")
# Temporary tables are never analysed automatically: the anti-join's plan needs the real size.
_ANALYZE_STAGING = text(f"ANALYZE {STAGING}")
# The sort lets the insertions walk the index in order instead of reading its pages at random.
# It is by "C" (byte order) because that is cheaper than the database's collation and, for E.164
# text ("+" and digits), the same order in any common one; correctness does not depend on it.
# Sorting ten million numbers in memory takes about 800 MB of the server's, for this one
# statement (PostgreSQL takes only what the sort needs); with 256 MB it spills to disk and the
# load takes about 10 % longer.
SORT_MEMORY = text("SET LOCAL work_mem = '1GB'")
_INSERT = f"""
INSERT INTO do_not_call (phone_number, reason, source)
SELECT DISTINCT s.phone_number COLLATE "C", CAST(:reason AS text), CAST(:source AS text)
FROM {STAGING} s
WHERE NOT EXISTS (SELECT 1 FROM do_not_call d WHERE d.phone_number = s.phone_number)
ORDER BY 1
"""
_MERGE = text(_INSERT)
# Another transaction (an opt-out, another import) listed one of these numbers after the
# anti-join looked: the same merge again, settling each conflict on its own.
_MERGE_RACING = text(_INSERT + "ON CONFLICT (phone_number) DO NOTHING")


# The dispatcher never calls a listed number, but a pending contact it skips would keep its
# campaign from ever completing: such contacts take their final state now, as on an opt-out.
# Probing the list once per pending contact costs O(pending contacts), not O(list).
_SUPPRESS_PENDING = text(f"""
UPDATE contacts ct SET state = {DO_NOT_CALL}, updated_at = now()
WHERE ct.state = {PENDING}
  AND EXISTS (SELECT 1 FROM do_not_call d WHERE d.phone_number = ct.phone_number)
""")


async def stage(session: AsyncSession, pieces: AsyncIterator[Checked]) -> int:
    """Create the staging table and COPY every piece into it; return how many numbers."""
    await session.execute(_CREATE_STAGING)
    connection = await copy_connection(session)
    staged = 0

    async def copy(piece: Checked) -> None:
        nonlocal staged
        await connection.copy_to_table(STAGING, source=_once(piece.copy))
        staged += piece.numbers

    copier = OverlappedCopy(copy)
    try:
        async for piece in pieces:
            if piece.numbers:
                await copier.send(piece)
        await copier.drain()
    finally:
        await copier.settle()
    return staged


async def merge(session: AsyncSession, *, source: str, reason: str) -> int:
    """List the staged numbers not listed yet; return how many were added."""
    await session.execute(_ANALYZE_STAGING)
    await session.execute(SORT_MEMORY)
    values = {"source": source, "reason": reason}
    try:
        async with session.begin_nested():
            return count_of(await session.execute(_MERGE, values))
    except IntegrityError:
        return count_of(await session.execute(_MERGE_RACING, values))


async def suppress_pending_contacts(session: AsyncSession) -> int:
    """Give every pending contact whose number is listed its final state; return how many."""
    return count_of(await session.execute(_SUPPRESS_PENDING))


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
