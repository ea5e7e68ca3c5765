"""Merge a load that is large next to the list by building the whole list anew and swapping it in.

Inserting ten million numbers into `do_not_call` one by one maintains its primary key's index,
writes WAL and fires the foreign key's trigger for every row: about 50 s (bench/README.md). When
the load brings at least as many new numbers as the list holds (the first load of a national
register, a register larger than the list), it is cheaper to write the old entries and the new
numbers, sorted, into a fresh table without any index, build the primary key once (a sorted
bulk build), add the foreign key (one validating scan), and swap the table in.

All of it runs in the caller's transaction. Writers wait on an EXCLUSIVE lock from the moment
the old entries are read, so no opt-out or removal made meanwhile is lost; readers (the
dispatcher's claims) go on reading the old table until the end. Pending contacts whose number
the new list holds are made final by the caller after the commit: only then does it see the
contacts of uploads that committed while the swap waited for its lock (checked against the old
list). At the end the short locks are taken, both together in tries of 200 ms: SHARE ROW
EXCLUSIVE on `campaigns` (what adding the foreign key needs; campaigns cannot be updated until
the commit) and ACCESS EXCLUSIVE on the old table (claims wait until the commit); then the
foreign key's validating scan (about a second at ten million numbers), the renames and the
commit. When the two locks cannot be had together within about 10 s (a contact upload, say,
reads the list until its own commit), the whole swap is rolled back to its savepoint and the
load is merged in place: no reader is ever queued for long behind the swap. Other sessions see
the old list or the whole new one: in READ COMMITTED a statement takes its snapshot after its
locks, and the new table's rows are committed by then. (A REPEATABLE READ transaction whose
snapshot is older than the swap would find the new table empty, as after any table rewrite in
PostgreSQL: nothing reads the list that way.) A second load waits on the EXCLUSIVE lock, then
works on the new table.

The old table is set aside under another name and dropped after the commit, in a transaction of
its own: dropping it takes ACCESS EXCLUSIVE on `campaigns` (its foreign key's triggers live
there), which inside the load could deadlock with a dispatcher that holds its campaign row and
waits to read the list. Until it is dropped it still holds plain numbers: erasure deletes the
person's number from it too (`forget_number`), and every later load tries the drop again.

The new table must be the old one under the same name: same columns in the same order, same
constraint and index names. It is made `LIKE` the old one (columns, defaults, NOT NULL and
CHECK constraints with their names), gets the primary key under the old key's name and every
foreign key from its own definition. A table with anything else hanging on it (another index,
a trigger, a view, a grant, a foreign key pointing at it…) is merged in place instead: this
module only swaps what it knows how to rebuild exactly.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass

from sqlalchemy import TextClause, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import count_of
from app.suppression.loading import SORT_MEMORY, STAGING

log = logging.getLogger(__name__)

TABLE = "do_not_call"
NEW_TABLE = "do_not_call_new"
NEW_KEY = "do_not_call_new_key"
# The old table goes aside under this prefix and its OID, and is dropped after the commit.
REPLACED = "do_not_call_replaced_"
# Below this many staged numbers the merge in place takes well under a second: not worth an
# exclusive lock on the list, however short the list is.
SWAP_MIN_ROWS = 100_000
# Staged numbers probed against the list to estimate how many of the load are new.
SAMPLE_ROWS = 2_000
# Swap when the load brings at least this many new numbers per number already listed. At 10 M
# new numbers into an empty list the swap merged in about half the time of the merge in place;
# rewriting an old entry costs about as much as writing a new one, so a load that only doubles
# the list is roughly even, and one that adds less is merged in place.
SWAP_RATIO = 1.0
# The swap waits for the readers of the old table to finish; readers arriving meanwhile queue
# behind it. Waiting in short tries, with pauses between them, lets the dispatcher's claims
# through instead of stalling them behind a long transaction that happens to read the list.
# After about 10 s of tries the swap gives way and the load is merged in place.
LOCK_TRY_MS = 200
LOCK_PAUSE_SECONDS = 0.3
LOCK_TRIES = 20
# Dropping the old table only frees disk space: fewer tries (about 10 s), then a later load.
DROP_TRIES = 20
_LOCK_NOT_AVAILABLE = "55P03"
_UNDEFINED_TABLE = "42P01"

# The columns the swap copies and writes: those of the model. A migration adding one makes
# `_SHAPE` false, and loads merge in place until this module knows the new column.
_COLUMNS = ("phone_number", "reason", "campaign_id", "created_at", "source")

_SAMPLE = text(f"""
WITH sample AS (SELECT phone_number FROM {STAGING} TABLESAMPLE SYSTEM (:percent))
SELECT count(*) AS sampled,
       count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM {TABLE} d
                                          WHERE d.phone_number = sample.phone_number)) AS new
FROM sample
""")
# Counting stops at `cap`: the answer is only compared with it, and the list may be long.
_LISTED_UP_TO = text(f"SELECT count(*) FROM (SELECT 1 FROM {TABLE} LIMIT :cap) AS listed")

_LOCK_WRITERS = text(f"LOCK TABLE {TABLE} IN EXCLUSIVE MODE")
_LOCK_TIMEOUT = text("SELECT current_setting('lock_timeout')")
_SET_LOCK_TIMEOUT = text("SELECT set_config('lock_timeout', :value, true)")

# Only what the swap rebuilds exactly: a plain table owned by this role, with no grants,
# options, policies, comment, rules, triggers of its own, other indexes, extended statistics,
# identity columns, publication, inheritance, or foreign keys pointing at it; its columns are
# `_COLUMNS` and its primary key is the phone number.
_SHAPE = text("""
SELECT c.relkind = 'r' AND NOT c.relispartition AND NOT c.relhassubclass
   AND c.relacl IS NULL AND c.reloptions IS NULL AND NOT c.relrowsecurity
   AND pg_has_role(c.relowner, 'MEMBER')
   AND obj_description(c.oid, 'pg_class') IS NULL
   AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid)
   AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal)
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.confrelid = c.oid)
   AND NOT EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid AND NOT x.indisprimary)
   AND NOT EXISTS (SELECT 1 FROM pg_statistic_ext s WHERE s.stxrelid = c.oid)
   AND NOT EXISTS (SELECT 1 FROM pg_publication_rel p WHERE p.prrelid = c.oid)
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                   WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid
                     AND d.classid = 'pg_rewrite'::regclass)
   AND (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
          AND a.attidentity = '' AND a.attgenerated = '')
       = CAST(:columns AS text[])
   AND (SELECT pg_get_constraintdef(k.oid) FROM pg_constraint k
        WHERE k.conrelid = c.oid AND k.contype = 'p') = 'PRIMARY KEY (phone_number)'
FROM pg_class c
WHERE c.oid = CAST(:table AS regclass)
""")
# The old table and its key's index step aside (index names are unique in a schema), then the
# new table takes the name, and its index becomes the key under the old key's name.
_SWAP = text(f"""
SELECT format('ALTER TABLE {TABLE} RENAME TO %I', '{REPLACED}' || c.oid),
       format('ALTER INDEX %I RENAME TO %I', k.conname, '{REPLACED}' || c.oid || '_key'),
       'ALTER TABLE {NEW_TABLE} RENAME TO {TABLE}',
       format('ALTER TABLE {TABLE} ADD CONSTRAINT %I PRIMARY KEY USING INDEX {NEW_KEY}',
              k.conname)
FROM pg_class c JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'
WHERE c.oid = CAST('{TABLE}' AS regclass)
""")
_REPLACED_TABLES = text(f"""
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE starts_with(c.relname, '{REPLACED}') AND c.relkind = 'r'
  AND n.nspname = current_schema()
ORDER BY c.oid
""")
_FOREIGN_KEYS = text(f"""
SELECT format('ALTER TABLE {NEW_TABLE} ADD CONSTRAINT %I %s', conname, pg_get_constraintdef(oid))
FROM pg_constraint
WHERE conrelid = CAST('{TABLE}' AS regclass) AND contype = 'f'
ORDER BY conname
""")

_CREATE = text(f"CREATE TABLE {NEW_TABLE} (LIKE {TABLE} INCLUDING ALL EXCLUDING INDEXES)")
_COUNT_OLD = text(f"SELECT count(*) FROM {TABLE}")
_COLUMN_LIST = ", ".join(_COLUMNS)
# The old entries as they are (source, reason, campaign and date kept), then each new number
# once, all in "C" (byte) order, so that the new table is written in key order and its key's
# index is built from presorted input. The anti-join compares the staged numbers as they are,
# in the list's own collation (its index applies); the new numbers are then sorted and made
# distinct by "C", which is cheap and narrow, and the planner merges both sorted streams.
# Grouping by the database's collation and sorting the whole by "C" afterwards took three
# times as long (48 s against 16 s at 10 M numbers).
_FILL = text(f"""
INSERT INTO {NEW_TABLE} ({_COLUMN_LIST})
SELECT d.phone_number COLLATE "C", d.reason, d.campaign_id, d.created_at, d.source
FROM {TABLE} d
UNION ALL
SELECT n.phone_number, CAST(:reason AS text), NULL, now(), CAST(:source AS text)
FROM (SELECT DISTINCT s.phone_number COLLATE "C" AS phone_number
      FROM {STAGING} s
      WHERE NOT EXISTS (SELECT 1 FROM {TABLE} d WHERE d.phone_number = s.phone_number)) AS n
ORDER BY 1
""")

# The index build sorts in memory up to this much, for this transaction only; with the default
# (64 MB) ten million keys spill to disk.
_INDEX_MEMORY = text("SET LOCAL maintenance_work_mem = '1GB'")
_BUILD_KEY = text(f"CREATE UNIQUE INDEX {NEW_KEY} ON {NEW_TABLE} (phone_number)")
# The claims' plans depend on the list's statistics (bench/README.md): the new table has them
# from its first moment, not after autovacuum comes by.
_ANALYZE = text(f"ANALYZE {NEW_TABLE}")
# Dropping a table whose foreign key points at campaigns takes ACCESS EXCLUSIVE on campaigns
# too. Inside the load's transaction that would deadlock with a dispatcher holding its campaign
# and waiting for the list; after the commit, alone, it only has to wait its turn.
_LOCK_CAMPAIGNS = text("LOCK TABLE campaigns IN ACCESS EXCLUSIVE MODE")
# What adding the new table's foreign key takes on campaigns, taken beforehand in short tries.
_LOCK_CAMPAIGNS_FOR_KEYS = text("LOCK TABLE campaigns IN SHARE ROW EXCLUSIVE MODE")
_LOCK_OLD = text(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")


@dataclass(frozen=True)
class Estimate:
    """How many of the staged numbers are likely new, and whether the list is shorter."""

    new: int
    list_shorter: bool


async def worth_swapping(session: AsyncSession, staged: int) -> bool:
    """Whether this load brings enough new numbers, next to the list's length, to swap."""
    if staged < SWAP_MIN_ROWS:
        return False
    estimate = await _estimate(session, staged)
    return estimate.new >= SWAP_MIN_ROWS and estimate.list_shorter


async def _estimate(session: AsyncSession, staged: int) -> Estimate:
    # Rolled back to its savepoint: the lock these reads take on the list goes with it. Held to
    # the end, it would deadlock with a concurrent swap waiting for its readers to finish.
    savepoint = await session.begin_nested()
    try:
        percent = min(100.0, 100.0 * SAMPLE_ROWS / staged)
        sample = (await session.execute(_SAMPLE, {"percent": percent})).one()
        new = staged if not sample.sampled else staged * sample.new // sample.sampled
        cap = math.ceil(new / SWAP_RATIO) + 1
        listed = (await session.execute(_LISTED_UP_TO, {"cap": cap})).scalar_one()
    finally:
        await savepoint.rollback()
    return Estimate(new=new, list_shorter=listed * SWAP_RATIO <= new)


async def merge(session: AsyncSession, *, source: str, reason: str) -> int | None:
    """List the staged numbers by swapping in a new table; return how many were added. None:
    the table cannot be swapped, or the old one could not be locked in time (the caller then
    merges in place; the EXCLUSIVE lock taken here keeps writers waiting until the commit
    either way)."""
    await session.execute(_LOCK_WRITERS)
    shape = {"table": TABLE, "columns": list(_COLUMNS)}
    if not (await session.execute(_SHAPE, shape)).scalar_one():
        return None
    foreign_keys = list((await session.execute(_FOREIGN_KEYS)).scalars())
    # Rolled back as a whole when the swap cannot take its locks: the new table goes with it.
    attempt = await session.begin_nested()
    try:
        added = await _build_and_swap(session, foreign_keys, source=source, reason=reason)
    except BaseException:
        await attempt.rollback()
        raise
    if added is None:
        await attempt.rollback()
        log.warning("Do-not-call: the list stayed busy; this load is merged in place instead")
        return None
    await attempt.commit()
    return added


async def _build_and_swap(
    session: AsyncSession, foreign_keys: list[str], *, source: str, reason: str
) -> int | None:
    added = await _fill(session, source=source, reason=reason)
    await session.execute(_INDEX_MEMORY)
    await session.execute(_BUILD_KEY)
    await session.execute(_ANALYZE)
    # Adding a foreign key locks the referenced table (SHARE ROW EXCLUSIVE: campaigns cannot
    # be updated) until the commit, so it comes last but one. Both locks are taken together in
    # short tries, each try letting go of both: holding one while waiting for the other would
    # stop claims (the list) or campaign changes and recovery (campaigns) for all the tries. A
    # reader holding the list for long (a slow contact upload reads it until its commit) makes
    # the swap give way, not stop every claim behind it.
    locks = [_LOCK_CAMPAIGNS_FOR_KEYS] if foreign_keys else []
    if not await _lock_out(session, *locks, _LOCK_OLD, tries=LOCK_TRIES):
        return None
    for statement in foreign_keys:  # one validating scan each, about a second at 10 M
        await session.execute(text(statement))
    for statement in (await session.execute(_SWAP)).one():
        await session.execute(text(statement))
    return added


async def drop_replaced(session: AsyncSession, *, tries: int = DROP_TRIES) -> int:
    """After a load's commit, drop the tables swaps set aside; return how many were dropped.

    A table left by a load that stopped after its commit, or while campaigns stayed busy, goes
    after a later load. Meanwhile erasure keeps it free of forgotten numbers (`forget_number`).
    """
    dropped = 0
    for table in list((await session.execute(_REPLACED_TABLES)).scalars()):
        if not await _lock_out(session, _LOCK_CAMPAIGNS, tries=tries):
            break
        # IF EXISTS: another load's drop may have come first.
        await session.execute(text(f"DROP TABLE IF EXISTS {table}"))
        await session.commit()
        dropped += 1
    await session.rollback()
    return dropped


async def forget_number(session: AsyncSession, number: str) -> None:
    """Delete a forgotten person's number from the tables swaps set aside and not dropped yet:
    they are old copies of the list, in plain numbers."""
    for table in list((await session.execute(_REPLACED_TABLES)).scalars()):
        savepoint = await session.begin_nested()
        try:
            await session.execute(
                text(f"DELETE FROM {table} WHERE phone_number = :n"), {"n": number}
            )
        except DBAPIError as exc:
            await savepoint.rollback()
            if getattr(exc.orig, "sqlstate", None) != _UNDEFINED_TABLE:
                raise
            continue  # dropped meanwhile: nothing left to forget there
        await savepoint.commit()


async def _fill(session: AsyncSession, *, source: str, reason: str) -> int:
    await session.execute(text(f"ANALYZE {STAGING}"))
    await session.execute(SORT_MEMORY)
    old = (await session.execute(_COUNT_OLD)).scalar_one()
    await session.execute(_CREATE)
    written = count_of(await session.execute(_FILL, {"source": source, "reason": reason}))
    return int(written - old)


async def _lock_out(session: AsyncSession, *locks: TextClause, tries: int) -> bool:
    """Take every one of `locks` in short tries, all or none in each; False when every try
    timed out (a try that fails lets go of what it took: its savepoint is rolled back)."""
    default = (await session.execute(_LOCK_TIMEOUT)).scalar_one()
    for _ in range(tries):
        savepoint = await session.begin_nested()
        try:
            await session.execute(_SET_LOCK_TIMEOUT, {"value": f"{LOCK_TRY_MS}ms"})
            for lock in locks:
                await session.execute(lock)
        except DBAPIError as exc:
            await savepoint.rollback()
            if getattr(exc.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
                raise
            await asyncio.sleep(LOCK_PAUSE_SECONDS)
            continue
        await savepoint.commit()
        await session.execute(_SET_LOCK_TIMEOUT, {"value": default})
        return True
    await session.execute(_SET_LOCK_TIMEOUT, {"value": default})
    return False
