#!/usr/bin/env python3
"""Contact import benchmark: rows/s and the service's peak memory for 100 k and 1 M rows.

Not a test: it prints a table and exits 0 (1 only when the run itself fails). For each size it
writes a CSV file, then:

- baseline: a bare `COPY ... FROM STDIN (FORMAT csv)` of that file into an unindexed table of
  four text columns, through asyncpg: what the database alone takes to ingest the same bytes;
- import: the real service (`uvicorn app.main:app` in a subprocess, scheduler off) receives the
  file as `POST /api/campaigns/{id}/contacts` over HTTP, streamed from disk, into a new campaign.
  The service process is fresh for each size, so its peak resident memory (VmHWM) is that
  import's. The CPU time of the service and of the embedded server during the request shows
  which side the time went to.

Run from the repository root, after `python3 dev.py test` (or anything else that created .venv):

    .venv/bin/python bench/import_bench.py [--sizes 100000,1000000] [--repeats 10000]

Uses DATABASE_URL when set (a fresh database is created on that server and dropped afterwards),
otherwise an embedded PostgreSQL in a temporary directory. See bench/README.md for the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from app.campaigns.contacts import Normaliser
from app.campaigns.uploads import CsvReader
from app.config import Settings
from app.db.engine import make_engine
from app.db.migrate import upgrade_to_head
from dispatch_bench import Server, admin, start_server, stop_server  # bench/ is sys.path[0]
from turn_latency_bench import BenchError, free_port, source_version, wait_ready

ROOT = Path(__file__).resolve().parent.parent
HEADER = "phone_number,name,external_id,segment\n"
CAMPAIGN = {
    "name": "import bench",
    "language": "it-IT",
    "caller_id": "+390212345678",
    "timezone": "Europe/Rome",
    "call_window": {"start": "09:00", "end": "20:00", "days": ["mon", "tue", "wed", "thu", "fri"]},
    "script": {
        "intro": "Buongiorno.",
        "consent": "Ha due minuti?",
        "refused": "Grazie.",
        "closing": "Arrivederci.",
    },
    "questions": [{"id": "recommend", "type": "yes_no", "text": "Ci consiglierebbe?"}],
}


# The service's own log line: how long the body took (read, checked and saved piece by piece,
# all but the last), then the last piece, the report and the commit.
PHASES = re.compile(
    r"checked and saved in ([\d.]+) s, last piece saved and committed in ([\d.]+) s"
)


@dataclass(frozen=True)
class Result:
    label: str
    rows: int
    megabytes: float
    baseline_seconds: float
    import_seconds: float
    phases: tuple[float, float]
    imported: int
    rejected: int
    idle_rss: int
    peak_rss: int
    # CPU seconds the import took in the service process and in the database server (all its
    # processes; 0 when the server is not the embedded one): where the time went.
    service_cpu: float
    server_cpu: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.import_seconds

    @property
    def ratio(self) -> float:
        return self.import_seconds / self.baseline_seconds


def write_csv(path: Path, rows: int, distinct: int | None) -> None:
    """Italian mobile numbers with a name, an id and one attribute; `distinct` makes repeats."""
    with path.open("w") as out:
        out.write(HEADER)
        for start in range(0, rows, 100_000):
            out.write(
                "".join(
                    f"+39 347 {i % (distinct or rows):07d},Contatto {i},ext-{i},gold\n"
                    for i in range(start, min(rows, start + 100_000))
                )
            )


@contextlib.asynccontextmanager
async def fresh_database(server: Server) -> AsyncIterator[str]:
    name = f"vs_import_{uuid.uuid4().hex[:10]}"
    await admin(server, f'CREATE DATABASE "{name}"')
    url = server.database_url(name)
    engine = make_engine(url, pool_size=1)
    try:
        await upgrade_to_head(engine)
        yield url
    finally:
        await engine.dispose()
        await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def bare_copy(url: str, path: Path) -> float:
    """Seconds for PostgreSQL alone to COPY the file into an unindexed table."""
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.execute(
            "CREATE TABLE bare_copy (phone_number text, name text, external_id text, segment text)"
        )
        started = time.perf_counter()
        await conn.copy_to_table("bare_copy", source=path, format="csv", header=True)
        elapsed = time.perf_counter() - started
        await conn.execute("DROP TABLE bare_copy")
        return elapsed
    finally:
        await conn.close()


@contextlib.contextmanager
def service(database_url: str, port: int, log: Path) -> Iterator[int]:
    """`python -m uvicorn app.main:app`, one process, scheduler off; yield its pid."""
    env = dict(os.environ)
    for name in Settings.model_fields:  # only what is set here reaches the service
        env.pop(name.upper(), None)
    env.update(
        DATABASE_URL=database_url,
        TELEPHONY_PROVIDER="mock",
        SCHEDULER_ENABLED="false",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        LOG_LEVEL="INFO",  # the import logs how long its two phases took
        PYTHONPATH=str(ROOT / "src"),
    )
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, cwd=log.parent, stdout=out, stderr=out)
    try:
        yield proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def memory(pid: int, field: str) -> int:
    """A `/proc/<pid>/status` memory figure (VmRSS, VmHWM) in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise BenchError(f"no {field} for process {pid}")


async def file_chunks(path: Path, size: int = 1 << 20) -> AsyncIterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(size):
            yield chunk


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(server: Server) -> float:
    """CPU seconds of the embedded server's processes alive now (0 for another server)."""
    if server.embedded_dir is None:
        return 0.0
    postmaster = int((server.embedded_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
    total = cpu_seconds(postmaster)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                total += cpu_seconds(int(stat.parent.name))
    return total


async def import_through_http(
    server: Server, url: str, path: Path, workdir: Path
) -> tuple[float, dict[str, int], int, int, tuple[float, float], tuple[float, float]]:
    port = free_port()
    with service(url, port, workdir / "uvicorn.log") as pid:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=900) as api:
            await wait_ready(api, pid, workdir / "uvicorn.log")
            created = await api.post("/api/campaigns", json=CAMPAIGN)
            if created.status_code != 201:
                raise BenchError(f"create campaign: {created.status_code} {created.text[:300]}")
            idle = memory(pid, "VmRSS")
            cpu_before = cpu_seconds(pid), server_cpu(server)
            started = time.perf_counter()
            response = await api.post(
                f"/api/campaigns/{created.json()['id']}/contacts",
                content=file_chunks(path),
                headers={"content-type": "text/csv"},
            )
            elapsed = time.perf_counter() - started
            peak = memory(pid, "VmHWM")
            cpu = cpu_seconds(pid) - cpu_before[0], server_cpu(server) - cpu_before[1]
    if response.status_code != 200:
        raise BenchError(f"import: HTTP {response.status_code} {response.text[:300]}")
    found = PHASES.search((workdir / "uvicorn.log").read_text(errors="replace"))
    phases = (float(found[1]), float(found[2])) if found else (0.0, 0.0)
    return elapsed, response.json(), idle, peak, phases, cpu


async def measure(server: Server, label: str, rows: int, distinct: int | None) -> Result:
    print(f"{label}: {rows:,} rows", flush=True)
    with tempfile.TemporaryDirectory(prefix="vs-import-bench-") as tmp:
        workdir = Path(tmp)
        path = workdir / "contacts.csv"
        write_csv(path, rows, distinct)
        async with fresh_database(server) as url:
            baseline = await bare_copy(url, path)
            seconds, report, idle, peak, phases, cpu = await import_through_http(
                server, url, path, workdir
            )
        size = path.stat().st_size / 1e6
    return Result(
        label,
        rows,
        size,
        baseline,
        seconds,
        phases,
        report["imported"],
        report["rejected_total"],
        idle,
        peak,
        *cpu,
    )


def checking_cost(rows: int = 50_000) -> float:
    """Microseconds per row to read and check distinct rows, in this process, no database."""
    body = HEADER + "".join(f"+39 347 {i:07d},Contatto {i},ext-{i},gold\n" for i in range(rows))
    started = time.perf_counter()
    reader = CsvReader()
    Normaliser(region="IT", default_zone="Europe/Rome").batch(
        reader.feed(body.encode()) + reader.close()
    )
    return (time.perf_counter() - started) / rows * 1e6


def print_results(results: list[Result], check_us: float) -> None:
    print()
    print(
        f"{'run':<12} {'rows':>10} {'MB':>6} {'bare COPY s':>11} {'import s':>9} {'rows/s':>8}"
        f" {'x bare':>7} {'body s':>7} {'end s':>6} {'imported':>9} {'rejected':>9}"
        f" {'idle RSS':>9} {'peak RSS':>9} {'svc CPU us/row':>14} {'db CPU us/row':>13}"
    )
    for r in results:
        print(
            f"{r.label:<12} {r.rows:>10,} {r.megabytes:>6.1f} {r.baseline_seconds:>11.2f}"
            f" {r.import_seconds:>9.2f} {r.rows_per_second:>8,.0f} {r.ratio:>7.1f}"
            f" {r.phases[0]:>7.1f} {r.phases[1]:>6.1f} {r.imported:>9,} {r.rejected:>9,}"
            f" {r.idle_rss / 2**20:>6.0f} MiB {r.peak_rss / 2**20:>6.0f} MiB"
            f" {r.service_cpu / r.rows * 1e6:>14.1f} {r.server_cpu / r.rows * 1e6:>13.1f}"
        )
    print(
        "  body s: body read, checked and saved piece by piece (all but the last);"
        " end s: the last piece, the rejected rows read back, the commit"
    )
    print(
        "  svc CPU, db CPU: CPU time of the service process and of the database server during"
        " the request, per row (the wall time per row is 1e6 / rows/s)"
    )
    print(f"  reading and checking a row alone (CSV, phone number, fields): {check_us:.1f} us")
    print("  targets: >= 50,000 valid rows/s and < 300 MiB peak RSS for 1,000,000 rows")


async def run(args: argparse.Namespace, server: Server) -> None:
    print(f"source: {source_version()}; {os.cpu_count()} cores; load {os.getloadavg()}", flush=True)
    results = [await measure(server, "distinct", n, None) for n in args.sizes]
    if args.repeats:
        rows = max(args.sizes)
        results.append(await measure(server, "repeats", rows, args.repeats))
    check_us = await asyncio.to_thread(checking_cost)
    print_results(results, check_us)
    print(f"load average at the end: {os.getloadavg()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(n) for n in s.split(",")],
        default=[100_000, 1_000_000],
        help="comma-separated row counts, each of distinct valid numbers (default 100000,1000000)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=10_000,
        help="also import the largest size cycling through this many numbers (0: skip)",
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
