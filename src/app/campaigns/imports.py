"""Contact import in bounded memory, saving while checking.

The body is read piece by piece; each piece is checked in a worker thread while the piece
before it is saved: its contacts COPYed into a small staging table and inserted into
`contacts` from there, in file order, the numbers the campaign already has left out by
ON CONFLICT. Every checked row is also kept, narrow (row, number or reason), in a second staging
table, so that the rows left out can be told apart at the end: the first row of a number that
was not inserted is "already in campaign", every later row of it a "duplicate of row N".

All of it runs in the caller's transaction: the staging tables go with it (ON COMMIT DROP), and
an upload that fails or stops half way leaves nothing behind. Imports into one campaign take
turns (a transaction-level advisory lock, from their first insert to their commit): two at once
would wait on each other's numbers, in opposite orders, and could deadlock; one after the other,
each sees the numbers of those committed before it as already in the campaign.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterable, Callable
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns.contacts import ContactRow, Normaliser
from app.campaigns.models import ContactState
from app.campaigns.schemas import REJECTIONS_LISTED, ImportReport, Rejection
from app.campaigns.uploads import UploadReader
from app.db.base import count_of, sql_literal
from app.db.copying import OverlappedCopy, copy_connection
from app.suppression.numbers import listed_sql
from app.web.bodies import rechunk

# About 11,000 short rows. A checked piece takes about ten times its size in Python objects,
# and up to three are held at once (one being saved, one waiting, one being checked): about
# 10 MiB more at the peak, whatever the size of the body. Large enough that each piece's few
# round trips, and waits for the worker thread to let go of the GIL, carry plenty of rows.
PIECE_BYTES = 512 << 10
# Checked pieces waiting while one is saved: the check and the save take turns unevenly (the
# server's WAL flushes, the thread's scheduling), and one piece of slack absorbs that.
PIECES_WAITING = 1

PENDING = sql_literal(ContactState.PENDING)
DO_NOT_CALL = sql_literal(ContactState.DO_NOT_CALL)
# The advisory lock key space of contact imports: (this, campaign id) as two integers, apart
# from the single-integer keys of the scheduler's leader and the migrations.
LOCK_SPACE = 0x56530003

PIECE = "contact_import_piece"
STAGING = "contact_import"
# The piece's contacts are COPYed straight from ContactRow tuples, so the columns follow its
# fields. The numbers of a piece are distinct: its repeats go to the narrow table directly.
CONTACT_COLUMNS = ("row_no", *ContactRow._fields[1:])
NARROW_COLUMNS = ("row_no", "phone_number", "error", "left_out")
_CREATE_PIECE = text(f"""
CREATE TEMPORARY TABLE {PIECE} (
    row_no integer NOT NULL,
    phone_number text NOT NULL,
    external_id text,
    name text,
    timezone text,
    time_zone_candidates text,
    attributes jsonb,
    language text
) ON COMMIT DROP
""")
# A row with a number (left out or not), or a rejected row with its reason.
_CREATE_STAGING = text(f"""
CREATE TEMPORARY TABLE {STAGING} (
    row_no integer NOT NULL,
    phone_number text,
    error text,
    left_out boolean NOT NULL DEFAULT false
) ON COMMIT DROP
""")
_TAKE_TURN = text("SELECT pg_advisory_xact_lock(:space, :key)")
_EMPTY_PIECE = text(f"TRUNCATE {PIECE}")

# Contacts go in in file order (so they are called in that order); those the campaign already
# has, or this upload has given in an earlier piece, are left out by ON CONFLICT and marked so.
_SAVE_PIECE = text(f"""
WITH inserted AS (
    INSERT INTO contacts
        (campaign_id, phone_number, external_id, name, timezone, time_zone_candidates,
         attributes, language, state, next_attempt_at)
    SELECT :campaign_id, s.phone_number, s.external_id, s.name, s.timezone,
           coalesce(s.time_zone_candidates::text[], '{{}}'), s.attributes, s.language,
           CASE WHEN {listed_sql("s.phone_number")} THEN {DO_NOT_CALL} ELSE {PENDING} END,
           now()
    FROM {PIECE} s
    ORDER BY s.row_no
    ON CONFLICT (campaign_id, phone_number) DO NOTHING
    RETURNING phone_number, state
), kept AS (
    INSERT INTO {STAGING} (row_no, phone_number, left_out)
    SELECT s.row_no, s.phone_number, i.phone_number IS NULL
    FROM {PIECE} s LEFT JOIN inserted i USING (phone_number)
)
SELECT count(*) AS imported, count(*) FILTER (WHERE state = {DO_NOT_CALL}) AS do_not_call
FROM inserted
""")

# A number listed while the upload was read (an opt-out, a do-not-call load) after the piece
# holding it was saved: the list's own step that suppresses pending contacts could not see this
# upload's uncommitted rows, so they are looked at again once all pieces are in (the last one was
# checked just now). Left pending, such a contact would never be called nor ever be final.
_LISTED_SINCE = text(f"""
WITH listed AS MATERIALIZED (
    SELECT s.phone_number FROM {STAGING} s
    WHERE NOT s.left_out AND s.phone_number IS NOT NULL AND {listed_sql("s.phone_number")}
)
UPDATE contacts ct SET state = {DO_NOT_CALL}, updated_at = now()
FROM listed l
WHERE ct.campaign_id = :campaign_id AND ct.phone_number = l.phone_number AND ct.state = {PENDING}
""")

# Temporary tables are never analysed automatically: without statistics the planner takes a
# staging table of a million rows for a few hundred, and picks plans fit for that.
_ANALYZE_STAGING = text(f"ANALYZE {STAGING}")

# Each left-out row against the first valid row of its number in the whole upload.
_REJECTED = text(f"""
WITH left_out AS (
    SELECT row_no, phone_number FROM {STAGING} WHERE left_out
), firsts AS (
    SELECT s.phone_number, min(s.row_no) AS first_row
    FROM {STAGING} s
    WHERE s.phone_number IN (SELECT phone_number FROM left_out)
    GROUP BY s.phone_number
)
SELECT l.row_no,
       CASE WHEN l.row_no = f.first_row THEN 'already in campaign'
            ELSE 'duplicate of row ' || f.first_row END AS error
FROM left_out l JOIN firsts f USING (phone_number)
UNION ALL
SELECT row_no, error FROM {STAGING} WHERE error IS NOT NULL
ORDER BY row_no
LIMIT :limit
""")


@dataclass
class Piece:
    """A checked piece: contacts with distinct numbers, and the rows for the narrow table
    (repeats of a number earlier in the piece, rejected rows with their reason)."""

    contacts: list[ContactRow] = field(default_factory=list)
    narrow: list[tuple[int, str | None, str | None, bool]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.contacts) + len(self.narrow)


@dataclass
class Counts:
    imported: int = 0
    do_not_call: int = 0
    rejected: int = 0


class Import:
    """One upload into one campaign: `stage` reads, checks and saves all but the last piece
    (the caller then locks the campaign), `finish` saves that one and reports."""

    def __init__(
        self,
        session: AsyncSession,
        *,
        campaign_id: int,
        reader: UploadReader,
        normaliser: Normaliser,
    ) -> None:
        self.session = session
        self.campaign_id = campaign_id
        self.reader = reader
        self.normaliser = normaliser
        self.counts = Counts()
        self._last: Piece | None = None
        self._turn_taken = False
        self._pieces_saved = 0
        self._connection: asyncpg.Connection | None = None

    async def stage(
        self, body: AsyncIterable[bytes], progress: Callable[[int], None] | None = None
    ) -> None:
        """Read, check and save the body's pieces, all but the last, as they arrive.

        `progress`, when given, is told how many more bytes were checked after each piece.
        """
        await self.session.execute(_CREATE_PIECE)
        await self.session.execute(_CREATE_STAGING)
        self._connection = await copy_connection(self.session)
        saver = OverlappedCopy(self._save, waiting=PIECES_WAITING)
        chunks = ReadAhead(rechunk(body, PIECE_BYTES))
        try:
            while (chunk := await chunks.next()) is not None:
                # More of the body has come: the piece checked before it is not the last one.
                if self._last is not None:
                    await saver.send(self._last)
                self._last = await asyncio.to_thread(_check, self.reader, self.normaliser, chunk)
                if progress is not None:
                    progress(len(chunk))
            end = await asyncio.to_thread(_check, self.reader, self.normaliser, None)
            self._last = _joined(self._last, end)
            await saver.drain()
            # Before the caller locks the campaign row: waiting for another import's turn while
            # holding that lock would keep the dispatcher and a pause or cancel off the campaign
            # for as long as the other upload takes. (An upload with no contact left to save
            # inserts nothing, and needs no turn.)
            if self._last is not None and self._last.contacts:
                await self._take_turn()
        finally:
            await chunks.close()
            await saver.settle()

    async def finish(self) -> ImportReport:
        """Save the last piece (the campaign is locked by now) and report what was left out."""
        if self._last is not None:
            await self._save(self._last)
        if self._pieces_saved > 1 or self.counts.rejected:
            await self.session.execute(_ANALYZE_STAGING)
        if self._pieces_saved > 1:
            values = {"campaign_id": self.campaign_id}
            listed = await self.session.execute(_LISTED_SINCE, values)
            self.counts.do_not_call += count_of(listed)
        rejected: list[Rejection] = []
        if self.counts.rejected:
            rows = await self.session.execute(_REJECTED, {"limit": REJECTIONS_LISTED})
            rejected = [Rejection(row=r.row_no, error=r.error) for r in rows]
        return build_report(self.counts, rejected)

    async def _save(self, piece: Piece) -> None:
        connection = self._connection
        if connection is None:
            raise RuntimeError("stage() has not begun")
        if piece.narrow:
            await connection.copy_records_to_table(
                STAGING, records=piece.narrow, columns=NARROW_COLUMNS
            )
        self.counts.rejected += len(piece.narrow)
        if piece.contacts:
            await self._take_turn()
            if self._pieces_saved:
                await self.session.execute(_EMPTY_PIECE)
            await connection.copy_records_to_table(
                PIECE, records=piece.contacts, columns=CONTACT_COLUMNS
            )
            saved = (
                await self.session.execute(_SAVE_PIECE, {"campaign_id": self.campaign_id})
            ).one()
            self._pieces_saved += 1
            self.counts.imported += saved.imported
            self.counts.do_not_call += saved.do_not_call
            self.counts.rejected += len(piece.contacts) - saved.imported

    async def _take_turn(self) -> None:
        if not self._turn_taken:
            key = self.campaign_id & 0x7FFFFFFF  # two int4 keys; a collision only waits
            await self.session.execute(_TAKE_TURN, {"space": LOCK_SPACE, "key": key})
            self._turn_taken = True


class ReadAhead:
    """The next piece of the body is read while this one is checked: the event loop takes the
    bytes in whenever the worker thread lets go, instead of only once the check is done (a
    server stops reading a client it is not asked for more, and getting it going again takes
    round trips)."""

    def __init__(self, pieces: AsyncGenerator[bytes, None]) -> None:
        self._pieces = pieces
        self._next: asyncio.Future[bytes | None] | None = None

    async def next(self) -> bytes | None:
        """The next piece (None: the body has ended); the one after it is asked for at once."""
        future = self._next or asyncio.ensure_future(anext(self._pieces, None))
        piece = await future
        self._next = None if piece is None else asyncio.ensure_future(anext(self._pieces, None))
        return piece

    async def close(self) -> None:
        """Stop reading: after an error, or once the body has ended."""
        ahead, self._next = self._next, None
        if ahead is not None and not ahead.done():
            ahead.cancel()
        elif ahead is not None and not ahead.cancelled():
            ahead.exception()  # seen, so not logged: the import has failed for its own reason
        with contextlib.suppress(Exception):  # still running, if just cancelled: left to the GC
            await self._pieces.aclose()


def build_report(counts: Counts, rejected: list[Rejection]) -> ImportReport:
    """The answer: counts, the first rejected rows in file order, and how many there were."""
    return ImportReport(
        imported=counts.imported,
        do_not_call=counts.do_not_call,
        rejected=rejected,
        rejected_total=counts.rejected,
    )


def _check(reader: UploadReader, normaliser: Normaliser, chunk: bytes | None) -> Piece:
    """The rows that `chunk` completes, checked (None: the body has ended)."""
    checked = normaliser.batch(reader.close() if chunk is None else reader.feed(chunk))
    piece = Piece(narrow=[(row, None, error, False) for row, error in checked.rejected])
    _add_contacts(piece, checked.rows)
    return piece


def _add_contacts(piece: Piece, contacts: list[ContactRow]) -> None:
    """Add contacts to the piece, those whose number it already has as repeats: left out, to
    be told apart at the end against the whole upload."""
    seen = {c.phone_number for c in piece.contacts}
    for contact in contacts:
        if contact.phone_number in seen:
            piece.narrow.append((contact.row, contact.phone_number, None, True))
        else:
            seen.add(contact.phone_number)
            piece.contacts.append(contact)


def _joined(piece: Piece | None, end: Piece) -> Piece | None:
    """The last piece and the rows the end of the body completed (rarely more than a line),
    as one piece; None when there are no rows at all."""
    if piece is None:
        return end if len(end) else None
    _add_contacts(piece, end.contacts)
    piece.narrow.extend(end.narrow)
    return piece
