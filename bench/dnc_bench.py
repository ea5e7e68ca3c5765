#!/usr/bin/env python3
"""Do-not-call benchmark: load rate and peak memory for 10 M numbers, and one dispatch claim with
10 M numbers on the list against an empty list.

Not a test: it prints its figures and exits 0 (1 only when the run itself fails). It writes a file
of `--rows` distinct E.164 numbers (one per line, in scrambled order, as a register need not be
sorted), then, in a fresh database:

- baseline: a bare `COPY ... FROM` of that file into an unindexed one-column table, through
  asyncpg: what PostgreSQL alone takes to ingest the same bytes;
- load: `app.suppression.service.import_list` reads the file as `voicesurvey dnc import` does,
  in a child process of its own, so that its peak resident memory (VmHWM) is the load's; the
  child reports its resident memory before and after. Into the empty list the service builds a
  new table and swaps it in. The file is then loaded once more into the full list (all
  duplicates: the service's estimate must pick the merge in place), and, at the end, into a
  second fresh database with the swap turned off in the child (merged in place, as before the
  swap existed);
- claim: a running campaign of `--contacts` due contacts (none of them listed); `claim` of
  `app.scheduler.dispatch` takes `--batch` of them, rolled back, `--claims` times after one
  warm-up, with the whole file on the list and then with the list emptied.

Run from the repository root, after `python3 dev.py test` (or anything else that created .venv):

    .venv/bin/python bench/dnc_bench.py [--rows 10000000] [--contacts 1000000] [--batch 1000]

Uses DATABASE_URL when set (a fresh database is created on that server and dropped afterwards),
otherwise an embedded PostgreSQL in a temporary directory. See bench/README.md for the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy import text

from app.db.engine import make_engine, make_sessionmaker
from app.scheduler.dispatch import claim
from dispatch_bench import Server, start_server, stop_server  # bench/ is sys.path[0]
from import_bench import dsn, fresh_database, memory
from turn_latency_bench import BenchError, source_version

ROOT = Path(__file__).resolve().parent.parent
# Nine scrambled digits after +393: multiplying by a number prime to 10^9 permutes 0..10^9-1,
# so the numbers are distinct and in no useful order.
SPREAD = 10**9
SCRAMBLE = 999_999_937

_DAYS = '["mon", "tue", "wed", "thu", "fri", "sat", "sun"]'
_WINDOW = f'{{"start": "00:00", "end": "23:59:59", "days": {_DAYS}}}'
_CAMPAIGN = text(f"""
INSERT INTO campaigns (name, status, language, timezone, call_window, max_attempts,
                       retry_after_minutes, max_concurrent_calls, definition, started_at)
VALUES ('dnc bench', 'running', 'it-IT', 'UTC', CAST('{_WINDOW}' AS jsonb), 3, ARRAY[0],
        1000000, CAST('{{}}' AS jsonb), now())
RETURNING id
""")
# +392… numbers: never among the listed +393… ones, so every candidate is probed and kept.
_CONTACTS = text("""
INSERT INTO contacts (campaign_id, phone_number, timezone, next_attempt_at)
SELECT :campaign_id, '+392' || lpad(g::text, 9, '0'), 'UTC', now() - interval '1 minute'
FROM generate_series(1, :n) AS g
""")


# The service's own log line: how long reading, checking and staging took, then the merge, and
# which way it merged.
PHASES = re.compile(r"read and checked in ([\d.]+) s, saved in ([\d.]+) s \(([^)]*)\)")
# Child modes: the service as it is, or with the swap turned off (always merged in place).
AS_IS, IN_PLACE = "as-is", "in-place"


@dataclass(frozen=True)
class Load:
    seconds: float
    added: int
    duplicates: int
    rejected: int
    idle_rss: int
    peak_rss: int
    staged_seconds: float
    saved_seconds: float
    how: str


def write_numbers(path: Path, rows: int) -> None:
    with path.open("w") as out:
        for start in range(0, rows, 200_000):
            end = min(rows, start + 200_000)
            out.write("".join(f"+393{i * SCRAMBLE % SPREAD:09d}\n" for i in range(start, end)))


async def bare_copy(url: str, path: Path) -> float:
    """Seconds for PostgreSQL alone to COPY the file into an unindexed table."""
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.execute("CREATE TABLE bare_copy (phone_number text)")
        started = time.perf_counter()
        await conn.copy_to_table("bare_copy", source=path, format="text")
        elapsed = time.perf_counter() - started
        await conn.execute("DROP TABLE bare_copy")
        return elapsed
    finally:
        await conn.close()


def load_in_child(url: str, path: Path, mode: str = AS_IS) -> Load:
    """Run `child_load` in a process of its own and read what it reports."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT / 'bench'}"}
    command = [sys.executable, str(Path(__file__)), "--child-load", url, str(path), mode]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"load failed: {done.stderr.strip()[-2000:]}")
    return Load(**json.loads(done.stdout.strip().splitlines()[-1]))


async def child_load(url: str, path: Path, mode: str) -> None:
    """In the child: warm up, then load the file the way the command line does."""
    from app.suppression import service, swapping

    if mode == IN_PLACE:
        swapping.SWAP_MIN_ROWS = sys.maxsize

    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("app.suppression").addHandler(handler)
    logging.getLogger("app.suppression").setLevel(logging.INFO)
    engine = make_engine(url, pool_size=1)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session:
            await session.execute(text("SELECT 1"))  # connect, and import what a load uses
        idle = memory(os.getpid(), "VmRSS")
        started = time.perf_counter()
        async with sessions() as session:
            report = await service.import_list(
                session=session, body=_chunks(path), source="bench", reason="bench"
            )
        elapsed = time.perf_counter() - started
        peak = memory(os.getpid(), "VmHWM")
    finally:
        await engine.dispose()
    found = PHASES.search("\n".join(lines))
    staged, saved, how = (float(found[1]), float(found[2]), found[3]) if found else (0.0, 0.0, "?")
    load = Load(
        elapsed,
        report.added,
        report.duplicates,
        report.rejected_total,
        idle,
        peak,
        staged,
        saved,
        how,
    )
    print(json.dumps(load.__dict__))


async def _chunks(path: Path, size: int = 1 << 20) -> AsyncIterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(size):
            yield chunk


async def time_claims(url: str, contacts: int, batch: int, claims: int) -> list[float]:
    """Seconds of each `claim` of `batch` contacts, rolled back so every one finds the same."""
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            campaign_id = (await conn.execute(_CAMPAIGN)).scalar_one()
            await conn.execute(_CONTACTS, {"campaign_id": campaign_id, "n": contacts})
        await _analyze(engine)
        sessions = make_sessionmaker(engine)
        seconds = []
        for _ in range(claims + 1):
            async with sessions() as session:
                now = (await session.execute(text("SELECT now()"))).scalar_one()
                started = time.perf_counter()
                claimed, _ = await claim(
                    session, campaign_id, now=now, limit=batch, ring_timeout_seconds=30
                )
                seconds.append(time.perf_counter() - started)
                await session.rollback()
            if len(claimed) != batch:
                raise BenchError(f"a claim took {len(claimed)} contacts, expected {batch}")
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM campaigns WHERE id = :id"), {"id": campaign_id})
        return seconds[1:]  # the first warms the cache and the pool
    finally:
        await engine.dispose()


async def _analyze(engine: object) -> None:
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM (ANALYZE) do_not_call"))
        await conn.execute(text("VACUUM (ANALYZE) contacts"))


async def empty_list(url: str) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("TRUNCATE do_not_call"))
    finally:
        await engine.dispose()


def median_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


async def run(args: argparse.Namespace, server: Server) -> None:
    print(f"source: {source_version()}; {os.cpu_count()} cores; load {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="vs-dnc-bench-") as tmp:
        path = Path(tmp) / "numbers.txt"
        started = time.perf_counter()
        write_numbers(path, args.rows)
        size = path.stat().st_size
        print(
            f"wrote {args.rows:,} numbers ({size / 1e6:.0f} MB) in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        async with fresh_database(server) as url:
            baseline = await bare_copy(url, path)
            print(f"bare COPY: {baseline:.1f} s", flush=True)
            load = await asyncio.to_thread(load_in_child, url, path)
            print(f"load: {load.seconds:.1f} s ({load.how})", flush=True)
            again = await asyncio.to_thread(load_in_child, url, path)
            print(f"the same file again: {again.seconds:.1f} s ({again.how})", flush=True)
            full = await time_claims(url, args.contacts, args.batch, args.claims)
            await empty_list(url)
            empty = await time_claims(url, args.contacts, args.batch, args.claims)
        in_place = None
        if not args.no_in_place:
            # In a fresh database too, as the first load was: the same starting point.
            async with fresh_database(server) as url:
                in_place = await asyncio.to_thread(load_in_child, url, path, IN_PLACE)
            print(f"load merged in place: {in_place.seconds:.1f} s", flush=True)
    report(args, size, baseline, load, full, empty)
    report_more(args.rows, again, in_place)


def report(
    args: argparse.Namespace,
    size: int,
    baseline: float,
    load: Load,
    full: list[float],
    empty: list[float],
) -> None:
    rows = args.rows
    print()
    print(f"{'':<28} {'seconds':>8} {'rows/s':>11}")
    print(f"{'bare COPY (unindexed)':<28} {baseline:>8.1f} {rows / baseline:>11,.0f}")
    print(f"{'dnc import (service)':<28} {load.seconds:>8.1f} {rows / load.seconds:>11,.0f}")
    print(
        f"  x bare COPY: {load.seconds / baseline:.1f}; added {load.added:,}, duplicates "
        f"{load.duplicates:,}, rejected {load.rejected:,}; file {size / 2**20:.0f} MiB"
    )
    print(
        f"  read, checked and COPYed to staging {load.staged_seconds:.1f} s; merged and "
        f"committed {load.saved_seconds:.1f} s ({load.how})"
    )
    print(
        f"  loader RSS: idle {load.idle_rss / 2**20:.0f} MiB, peak {load.peak_rss / 2**20:.0f} "
        f"MiB (+{(load.peak_rss - load.idle_rss) / 2**20:.0f} MiB)"
    )
    print(f"claim of {args.batch:,} among {args.contacts:,} due contacts, {args.claims} runs:")
    print(
        f"  {rows:,} numbers listed: median {median_ms(full):.1f} ms, max {max(full) * 1000:.1f} ms"
    )
    print(
        f"  empty list:{' ' * max(0, len(f'{rows:,}') - 1)}        median "
        f"{median_ms(empty):.1f} ms, max {max(empty) * 1000:.1f} ms"
    )
    print(f"  ratio (listed / empty): {median_ms(full) / median_ms(empty):.2f}")
    print("  targets: >= 200,000 rows/s with flat memory; the claim O(batch), not O(list)")
    print(f"load average at the end: {os.getloadavg()}")


def report_more(rows: int, again: Load, in_place: Load | None) -> None:
    print(
        f"the same file again (all duplicates): {again.seconds:.1f} s, "
        f"{rows / again.seconds:,.0f} rows/s, added {again.added:,} ({again.how})"
    )
    if in_place is not None:
        print(
            f"the first load merged in place instead: {in_place.seconds:.1f} s, "
            f"{rows / in_place.seconds:,.0f} rows/s (staging {in_place.staged_seconds:.1f} s, "
            f"merge {in_place.saved_seconds:.1f} s; RSS {in_place.idle_rss / 2**20:.0f} -> "
            f"{in_place.peak_rss / 2**20:.0f} MiB)"
        )


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--child-load":
        asyncio.run(child_load(sys.argv[2], Path(sys.argv[3]), sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="numbers in the file")
    parser.add_argument(
        "--contacts", type=int, default=1_000_000, help="due contacts to claim from"
    )
    parser.add_argument("--batch", type=int, default=1000, help="contacts per claim")
    parser.add_argument("--claims", type=int, default=15, help="timed claims per list size")
    parser.add_argument(
        "--no-in-place", action="store_true", help="skip timing the load merged in place"
    )
    args = parser.parse_args()
    server = start_server()
    try:
        asyncio.run(run(args, server))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        stop_server(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
