"""Do-not-call rules: load lists of any size, page through the list, take a number off it.

Every function takes the session as a keyword argument, commits what it writes, and raises the
errors of `app.campaigns.errors`; the caller's session context rolls back anything else.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Executable, delete, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns.errors import Conflict, InvalidInput, NotFound
from app.campaigns.models import DoNotCall
from app.campaigns.schemas import Rejection
from app.logs import mask_phone, one_line
from app.suppression import loading, swapping
from app.suppression.numbers import (
    E164,
    HASH_PREFIX,
    NumberCheck,
    RowError,
    check_region,
    listed_hash,
)
from app.suppression.reading import Checked, NumberListReader, Rejections, json_numbers
from app.suppression.schemas import DoNotCallEntry, DoNotCallPage, DoNotCallReport
from app.web.bodies import rechunk

log = logging.getLogger(__name__)

# Each piece is checked in a worker thread while the previous one is COPYed: about 150,000
# numbers, enough that a COPY round trip carries plenty, small enough to keep memory flat.
PIECE_BYTES = 2 << 20

# How the log line says the numbers were merged (tests and the benchmark read it).
MERGED_IN_PLACE = "merged in place"
MERGED_BY_SWAP = "merged into a new table, swapped in"

_SEPARATORS = re.compile(r"[\s().-]")
_DIGITS_PREFIX = re.compile(r"\+?[0-9]{1,15}")
_HASH_SEARCH = re.compile(HASH_PREFIX + r"[0-9a-f]{0,64}")


async def import_list(
    *,
    session: AsyncSession,
    body: AsyncIterable[bytes],
    source: str,
    reason: str,
    region: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> DoNotCallReport:
    """List the numbers of a plain list or CSV in one transaction, reading it as it arrives.

    `progress`, when given, is told how many more bytes of the body were checked.
    """
    reader = NumberListReader(NumberCheck(_region(region)))
    pieces = _read(body, reader, progress)
    return await _import(session, pieces, reader.rejections, source=source, reason=reason)


async def import_numbers(
    *,
    session: AsyncSession,
    numbers: list[object],
    source: str,
    reason: str,
    region: str | None = None,
) -> DoNotCallReport:
    """List the numbers of a JSON upload in one transaction; item i is row i."""
    rejections = Rejections()
    checked = json_numbers(numbers, NumberCheck(_region(region)), rejections)
    return await _import(session, _in_thread(checked), rejections, source=source, reason=reason)


async def _import(
    session: AsyncSession,
    pieces: AsyncIterator[Checked],
    rejections: Rejections,
    *,
    source: str,
    reason: str,
) -> DoNotCallReport:
    started = time.monotonic()
    valid = await loading.stage(session, pieces)
    staged = time.monotonic()
    added, how = await _merge(session, valid, source=source, reason=reason)
    swapped = how == MERGED_BY_SWAP
    if not swapped:
        suppressed = await loading.suppress_pending_contacts(session)
    await session.commit()
    if swapped:
        # After the commit: a contact upload that committed while the swap waited for its lock
        # was checked against the old list, and only now are its contacts visible. (Should the
        # process stop in between, the leader's tick makes such contacts final: recovery.py.)
        suppressed = await loading.suppress_pending_contacts(session)
        await session.commit()
    # Every load, not only a swap, tries to drop a table an earlier swap could not; briefly
    # when this load swapped nothing (each try holds up campaign readers for up to 200 ms).
    await _drop_replaced(session, tries=swapping.DROP_TRIES if swapped else 2)
    log.info(
        "Do-not-call import from %s: %d numbers added, %d already listed or repeated, "
        "%d rows rejected, %d pending contacts suppressed; read and checked in %.1f s, "
        "saved in %.1f s (%s)",
        source,
        added,
        valid - added,
        rejections.total,
        suppressed,
        staged - started,
        time.monotonic() - staged,
        how,
    )
    return DoNotCallReport(
        added=added,
        duplicates=valid - added,
        contacts_suppressed=suppressed,
        rejected=[Rejection(row=row, error=error) for row, error in rejections.listed],
        rejected_total=rejections.total,
    )


async def _merge(
    session: AsyncSession, staged: int, *, source: str, reason: str
) -> tuple[int, str]:
    """Add the staged numbers; return how many were new, and which way they were merged."""
    if await swapping.worth_swapping(session, staged):
        added = await swapping.merge(session, source=source, reason=reason)
        if added is not None:
            return added, MERGED_BY_SWAP
    return await loading.merge(session, source=source, reason=reason), MERGED_IN_PLACE


async def _drop_replaced(session: AsyncSession, *, tries: int) -> None:
    try:
        await swapping.drop_replaced(session, tries=tries)
    except Exception as exc:  # the list is committed: the old table can go after a later load
        await session.rollback()
        log.warning("Do-not-call: the replaced list stays until a later load: %s", one_line(exc))


async def _read(
    body: AsyncIterable[bytes], reader: NumberListReader, progress: Callable[[int], None] | None
) -> AsyncIterator[Checked]:
    async for piece in rechunk(body, PIECE_BYTES):
        yield await asyncio.to_thread(reader.feed, piece)
        if progress is not None:
            progress(len(piece))
    yield await asyncio.to_thread(reader.close)


async def _in_thread(pieces: Iterator[Checked]) -> AsyncIterator[Checked]:
    # phonenumbers is pure Python: checking runs off the event loop, a piece at a time.
    while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
        yield piece


def _region(region: str | None) -> str | None:
    try:
        return check_region(region)
    except ValueError as exc:
        raise InvalidInput(f"region: {exc}", ("query", "region")) from None


@dataclass(frozen=True)
class _Search:
    """Entries from `low` (inclusive) to `high` (exclusive) that start with `low`; `exact` too."""

    low: str
    high: str | None
    exact: str | None


_COLUMNS = (
    DoNotCall.phone_number,
    DoNotCall.source,
    DoNotCall.reason,
    DoNotCall.campaign_id,
    DoNotCall.created_at,
)


async def list_entries(
    *, session: AsyncSession, search: str | None = None, limit: int = 100, after: str | None = None
) -> DoNotCallPage:
    """A page of the list in number order, after the cursor `after`; `search` narrows it."""
    rows = (await session.execute(_page(search, after, limit))).all()
    entries = [DoNotCallEntry.model_validate(row, from_attributes=True) for row in rows]
    full = len(entries) == limit
    return DoNotCallPage(entries=entries, next=entries[-1].phone_number if full else None)


def _page(search: str | None, after: str | None, limit: int) -> Executable:
    wanted = parse_search(search) if search and search.strip() else None
    parts = [select(*_COLUMNS)]
    if wanted is not None:
        # A range the primary key's index walks, and LIKE to be exact whatever the collation.
        parts[0] = parts[0].where(
            DoNotCall.phone_number >= wanted.low, DoNotCall.phone_number.like(wanted.low + "%")
        )
        if wanted.high is not None:
            parts[0] = parts[0].where(DoNotCall.phone_number < wanted.high)
        if wanted.exact is not None:
            # A whole number also finds its hash entry: the person asked to be forgotten.
            parts.append(select(*_COLUMNS).where(DoNotCall.phone_number == wanted.exact))
    if after is not None:
        parts = [part.where(DoNotCall.phone_number > after) for part in parts]
    parts = [part.order_by(DoNotCall.phone_number).limit(limit) for part in parts]
    if len(parts) == 1:
        return parts[0]
    both = union_all(*parts).subquery()
    return select(both).order_by(both.c.phone_number).limit(limit)


def parse_search(search: str) -> _Search:
    given = search.strip().lower()
    if _HASH_SEARCH.fullmatch(given):
        return _Search(given, next_prefix(given, "0123456789abcdef"), None)
    digits = _SEPARATORS.sub("", given)
    if not _DIGITS_PREFIX.fullmatch(digits):
        raise InvalidInput(
            "search: a number in international format, or its first digits (+3902…)",
            ("query", "search"),
        )
    prefix = "+" + digits.removeprefix("+")
    exact = listed_hash(prefix) if E164.fullmatch(prefix) else None
    return _Search(prefix, next_prefix(prefix, "0123456789"), exact)


def next_prefix(prefix: str, alphabet: str) -> str | None:
    """The first text after every text that starts with `prefix` (None: there is none)."""
    kept = prefix.rstrip(alphabet[-1])
    if not kept or kept[-1] not in alphabet:
        return None
    return kept[:-1] + alphabet[alphabet.index(kept[-1]) + 1]


async def remove(*, session: AsyncSession, number: str) -> None:
    """Take a number off the list; a forgotten person's hash entry stays."""
    e164 = _number(number)
    removed = await session.scalar(
        delete(DoNotCall).where(DoNotCall.phone_number == e164).returning(DoNotCall.phone_number)
    )
    if removed is None:
        hashed = await session.scalar(
            select(DoNotCall.phone_number).where(DoNotCall.phone_number == listed_hash(e164))
        )
        if hashed is not None:
            raise Conflict(
                "the person with this number asked to be forgotten: the number stays listed, "
                "as a hash"
            )
        raise NotFound("this number is not on the do-not-call list")
    await session.commit()
    log.info("Removed %s from the do-not-call list", mask_phone(e164))


def _number(number: str) -> str:
    try:
        return NumberCheck()(number)
    except RowError as exc:
        raise InvalidInput(f"number: {exc}", ("path", "number")) from None
