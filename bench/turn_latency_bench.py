#!/usr/bin/env python3
"""Voice turn latency benchmark: p50/p99 of each webhook request with 100 concurrent calls.

Not a test: it prints a table and exits 0 (1 only when the run itself fails). Twilio waits 15 s
for the answer to a voice webhook. The script runs the real service (uvicorn in a subprocess,
mock provider, scheduler on), lets the scheduler dispatch a campaign of the SPEC's example
survey, then plays every call as a provider would: status callbacks (ringing, in-progress), the
call answered, consent, the four answers, and the final `completed` callback. Every request is
timed on its own. Run from the repository root, after `python3 dev.py test` (or anything else
that created .venv):

    .venv/bin/python bench/turn_latency_bench.py [--workers 1,2] [--calls 100] [--rounds 3]

Uses DATABASE_URL when set (a fresh database is created on that server and dropped afterwards),
otherwise an embedded PostgreSQL in a temporary directory. See bench/README.md for the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db.engine import asyncpg_dsn, make_engine
from app.db.migrate import upgrade_to_head
from dispatch_bench import (  # bench/ is the script's sys.path[0]
    Server,
    admin,
    start_server,
    stop_server,
)

ROOT = Path(__file__).resolve().parent.parent
TWILIO_TIMEOUT_SECONDS = 15.0
VOICE = "/webhooks/telephony/voice"
EVENTS = "/webhooks/telephony/events"

# The SPEC's example campaign (tests/support/factories.py: campaign_document), with a call
# window open all day every day, no retry delay, and room for every call at once.
_SCRIPT = {
    "intro": "Buongiorno, sono l'assistente automatico di ACME.",
    "consent": "Ha due minuti per tre brevi domande? Risponda sì o no.",
    "refused": "Nessun problema. Grazie e buona giornata.",
    "closing": "Grazie per il suo tempo. Arrivederci.",
}
_QUESTIONS = [
    {
        "id": "satisfaction",
        "type": "scale",
        "text": "Da 1 a 10, quanto è soddisfatto?",
        "min": 1,
        "max": 10,
    },
    {"id": "recommend", "type": "yes_no", "text": "Ci consiglierebbe?"},
    {
        "id": "channel",
        "type": "choice",
        "text": "Preferisce telefono, email o negozio?",
        "choices": ["telefono", "email", "negozio"],
    },
    {"id": "comment", "type": "free_text", "text": "Cosa potremmo migliorare?", "required": False},
]


def campaign_document(max_concurrent_calls: int) -> dict[str, Any]:
    return {
        "name": "Soddisfazione clienti Q4 (bench)",
        "language": "it-IT",
        "caller_id": "+390212345678",
        "timezone": "Europe/Rome",
        "call_window": {
            "start": "00:00",
            "end": "23:59:59",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        },
        "max_attempts": 3,
        "retry_after_minutes": [0],
        "max_concurrent_calls": max_concurrent_calls,
        "script": _SCRIPT,
        "questions": _QUESTIONS,
    }


# What every respondent says after the call is answered (the intro asks for consent).
ANSWERS = [
    ("consent 'sì'", "sì"),
    ("q1 scale 'otto'", "otto"),
    ("q2 yes/no 'sì'", "sì"),
    ("q3 choice 'email'", "email"),
    ("q4 free text (then goodbye)", "più personale nei negozi"),
]
ANSWERED = "call answered (intro)"
LABELS = [
    "event ringing",
    "event in-progress",
    ANSWERED,
    *(label for label, _ in ANSWERS),
    "event completed",
]
VOICE_LABELS = [ANSWERED, *(label for label, _ in ANSWERS)]


class BenchError(Exception):
    """The run cannot go on; the message says why."""


@dataclass
class Timings:
    by_label: dict[str, list[float]] = field(default_factory=dict)
    by_round: dict[int, list[float]] = field(default_factory=dict)  # voice turns only
    failures: list[str] = field(default_factory=list)

    def add(self, label: str, seconds: float, round_no: int) -> None:
        self.by_label.setdefault(label, []).append(seconds)
        if label in VOICE_LABELS:
            self.by_round.setdefault(round_no, []).append(seconds)

    def merged(self, labels: list[str]) -> list[float]:
        return [s for label in labels for s in self.by_label.get(label, [])]


def percentile(values: list[float], pct: int) -> float:
    """Nearest-rank percentile, as in dispatch_bench.py."""
    ordered = sorted(values)
    return ordered[max(0, -(-pct * len(ordered) // 100) - 1)]


@dataclass
class CpuSnapshot:
    uvicorn: float
    postgres: float | None
    client: float

    def __sub__(self, other: CpuSnapshot) -> CpuSnapshot:
        pg = (
            None
            if self.postgres is None or other.postgres is None
            else self.postgres - other.postgres
        )
        return CpuSnapshot(self.uvicorn - other.uvicorn, pg, self.client - other.client)

    def __add__(self, other: CpuSnapshot) -> CpuSnapshot:
        pg = (
            None
            if self.postgres is None or other.postgres is None
            else self.postgres + other.postgres
        )
        return CpuSnapshot(self.uvicorn + other.uvicorn, pg, self.client + other.client)


@dataclass
class RunResult:
    workers: int
    calls: int
    rounds: int
    think_ms: int
    client_kind: str
    timings: Timings
    drive_seconds: float  # wall time of the conversations, summed over the rounds
    requests: int
    cpu: CpuSnapshot  # CPU seconds spent while the calls were played (rounds summed)
    activity: Counter[str]
    activity_samples: int
    completed_responses: int
    dispatched: int
    loads: list[float]  # 1-minute load average before the run and after each round
    rss_mib: list[float] = field(default_factory=list)  # each worker's largest VmRSS seen
    bare: BareResult | None = None  # the bare baseline, same uvicorn, same clients


@dataclass
class BareResult:
    """The bare endpoint (bench/bare_webhook.py) driven like the service: same calls, same
    requests per call, one client per call."""

    requests: int
    seconds: float
    latencies: list[float]
    uvicorn_cpu: float
    failures: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


# --- processes and CPU ---------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields from `state` (field 3) on


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            kids += [int(k) for k in (task / "children").read_text().split()]
    return kids


def tree_cpu(pid: int, *, reaped: bool = False) -> float:
    """CPU seconds of a process and its live descendants (plus its reaped children if asked)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: children already waited
    return ticks / _TICK + sum(tree_cpu(k) for k in _children(pid))


async def postmaster_pid(engine: AsyncEngine) -> int | None:
    """The local postmaster (parent of our backend), or None if the server is not on this host."""
    async with engine.connect() as conn:
        backend = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return _local_parent(int(backend))


def _local_parent(backend: int) -> int | None:
    fields = _stat(backend)
    if fields is None:
        return None
    parent = int(fields[1])
    try:
        comm = Path(f"/proc/{parent}/comm").read_text()
    except OSError:
        return None
    return parent if "postgres" in comm or "postmaster" in comm else None


def cpu_now(uvicorn_pid: int, postmaster: int | None) -> CpuSnapshot:
    return CpuSnapshot(
        uvicorn=tree_cpu(uvicorn_pid),
        postgres=None if postmaster is None else tree_cpu(postmaster, reaped=True),
        client=time.process_time(),
    )


def rss_mib(pid: int) -> float:
    """Resident memory of one process, MiB (0 when it is gone)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def worker_pids(pid: int, workers: int) -> list[int]:
    """The processes that serve requests: uvicorn itself with one worker, else its workers."""
    if workers == 1:
        return [pid]
    kids = []
    for kid in _children(pid):
        with contextlib.suppress(OSError):
            if b"resource_tracker" not in Path(f"/proc/{kid}/cmdline").read_bytes():
                kids.append(kid)
    return kids


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Uvicorn:
    """How uvicorn runs, the same for the service and the bare baseline."""

    workers: int
    loop: str = "auto"  # auto: uvloop when installed
    http: str = "auto"  # auto: httptools when installed
    src: Path = ROOT / "src"  # the service's source (another checkout's, for a before/after)

    profile: Path | None = None  # cProfile output of the service (one worker)

    def command(self, app: str, port: int) -> list[str]:
        profiler = [] if self.profile is None else ["-m", "cProfile", "-o", str(self.profile)]
        return [
            sys.executable,
            *profiler,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(self.workers),
            "--loop",
            self.loop,
            "--http",
            self.http,
            "--log-level",
            "warning",
            "--no-access-log",
        ]


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in Settings.model_fields:  # only what is set here reaches the service
        env.pop(name.upper(), None)
    return env


@contextlib.contextmanager
def uvicorn_server(database_url: str, server: Uvicorn, port: int, log: Path) -> Iterator[int]:
    """Run `python -m uvicorn app.main:app` on loopback; yield its pid; stop it with SIGTERM."""
    env = _clean_env()
    env.update(
        DATABASE_URL=database_url,
        TELEPHONY_PROVIDER="mock",
        SCHEDULER_ENABLED="true",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(server.src),
    )
    # uvicorn raises the signal again once shut down; after SIGINT cProfile still writes.
    stop = signal.SIGTERM if server.profile is None else signal.SIGINT
    with _process(server.command("app.main:app", port), env, log, stop) as pid:
        yield pid


@contextlib.contextmanager
def bare_server(database_url: str, server: Uvicorn, port: int, log: Path) -> Iterator[int]:
    """Run the bare baseline (bench/bare_webhook.py) the same way; yield its pid."""
    env = _clean_env()
    env.update(
        BARE_DATABASE_URL=asyncpg_dsn(database_url),
        PYTHONPATH=os.pathsep.join([str(ROOT / "bench"), str(ROOT / "src")]),
    )
    command = replace(server, profile=None).command("bare_webhook:app", port)
    with _process(command, env, log) as pid:
        yield pid


@contextlib.contextmanager
def _process(
    command: list[str], env: dict[str, str], log: Path, stop: int = signal.SIGTERM
) -> Iterator[int]:
    with log.open("wb") as out:
        # cwd is the log's temporary directory, so no `.env` of the checkout is read.
        proc = subprocess.Popen(command, env=env, cwd=log.parent, stdout=out, stderr=out)
    try:
        yield proc.pid
    finally:
        if proc.poll() is None:
            proc.send_signal(stop)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


async def wait_ready(client: httpx.AsyncClient, pid: int, log: Path, patience: float = 90) -> None:
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        state = _stat(pid)
        if state is None or state[0] == "Z":
            raise BenchError(f"uvicorn exited during start-up:\n{_tail(log)}")
        with contextlib.suppress(httpx.TransportError):
            if (await client.get("/readyz")).status_code == 200:
                return
        await asyncio.sleep(0.2)
    raise BenchError(f"uvicorn not ready after {patience:.0f} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"


# --- the database ----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def fresh_database(server: Server) -> AsyncIterator[tuple[str, AsyncEngine]]:
    """A new database migrated to head (before the workers start, so they never race on it)."""
    name = f"vs_turns_{uuid.uuid4().hex[:10]}"
    await admin(server, f'CREATE DATABASE "{name}"')
    url = server.database_url(name)
    engine = make_engine(url, pool_size=2)
    try:
        await upgrade_to_head(engine)
        yield url, engine
    finally:
        await engine.dispose()
        await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_DISPATCHED = text("""
SELECT id, provider_call_id FROM call_attempts
WHERE provider_call_id IS NOT NULL AND ended_at IS NULL AND NOT (id = ANY(CAST(:seen AS bigint[])))
ORDER BY id
""")


async def wait_for_calls(
    engine: AsyncEngine, n: int, seen: set[int], patience: float = 60
) -> list[tuple[int, str]]:
    """Poll until the scheduler has placed `n` calls not driven yet; return (id, call id)."""
    deadline = time.monotonic() + patience
    found: list[tuple[int, str]] = []
    while time.monotonic() < deadline:
        async with engine.connect() as conn:
            rows = (await conn.execute(_DISPATCHED, {"seen": sorted(seen)})).all()
        found = [(int(r[0]), str(r[1])) for r in rows]
        if len(found) >= n:
            return found[:n]
        await asyncio.sleep(0.2)
    raise BenchError(f"only {len(found)} of {n} calls were dispatched after {patience:.0f} s")


_ACTIVITY = text("""
SELECT state, coalesce(wait_event_type || ':' || wait_event, 'CPU') AS waiting
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND application_name = 'voicesurvey' AND state IS NOT NULL
""")


async def sample_activity(engine: AsyncEngine, stop: asyncio.Event, into: Counter[str]) -> int:
    """Every 50 ms, what the service's DB connections are doing; returns the sample count.

    `into` counts busy connections by state and wait event, and keeps the largest number of
    open connections seen under the key "max open".
    """
    samples = 0
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        while not stop.is_set():
            rows = (await conn.execute(_ACTIVITY)).all()
            into["max open"] = max(into["max open"], len(rows))
            for state, waiting in rows:
                if state != "idle":
                    into[f"{state} / {waiting}"] += 1
            samples += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)
    return samples


# --- one call --------------------------------------------------------------------------------


def next_turn(reply: dict[str, Any]) -> str:
    """The path and query the reply listens at (loopback server, any public base URL)."""
    listen = reply.get("listen")
    if not listen or not listen.get("next"):
        raise BenchError(f"the reply does not listen: {str(reply)[:300]}")
    parts = urlsplit(str(listen["next"]))
    return f"{parts.path}?{parts.query}"


def hangs_up(reply: dict[str, Any]) -> bool:
    return reply.get("listen") is None


@dataclass
class Call:
    client: httpx.AsyncClient
    attempt_id: int
    call_id: str
    timings: Timings
    round_no: int
    think: float  # mean pause before each answer, in seconds; 0 for none
    rng: random.Random

    async def post(self, label: str, url: str, expect: int, **kwargs: Any) -> httpx.Response:
        started = time.perf_counter()
        response = await self.client.post(url, **kwargs)
        elapsed = time.perf_counter() - started
        self.timings.add(label, elapsed, self.round_no)
        if response.status_code != expect:
            raise BenchError(f"{label}: HTTP {response.status_code} {response.text[:200]}")
        return response

    async def event(self, status: str, sequence: int, **extra: Any) -> None:
        body = {"provider_call_id": self.call_id, "status": status, "sequence_number": sequence}
        url = f"{EVENTS}?attempt_id={self.attempt_id}"
        await self.post(f"event {status}", url, 204, json={**body, **extra})

    async def play(self) -> None:
        """Ringing, answered, consent and four answers, then the final status callback."""
        if self.think:  # paced: calls start spread over one mean pause
            await asyncio.sleep(self.rng.uniform(0, self.think))
        await self.event("ringing", 1)
        if self.think:  # the phone rings; answering sends in-progress and the voice webhook
            await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.think)
        await self.event("in-progress", 2)
        answered = await self.post(ANSWERED, f"{VOICE}?attempt_id={self.attempt_id}", 200, json={})
        reply = answered.json()
        for label, said in ANSWERS:
            if self.think:  # the respondent listens to the prompt, then answers
                await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.think)
            body = {"speech": said, "confidence": 0.92}
            reply = (await self.post(label, next_turn(reply), 200, json=body)).json()
        if not hangs_up(reply):
            raise BenchError(f"attempt {self.attempt_id}: no goodbye after the last answer")
        await self.event("completed", 3, duration=60)


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, BenchError) else f"{type(exc).__name__}: {exc!r}"


def new_client(base_url: str, **options: Any) -> httpx.AsyncClient:
    """A client for plain HTTP on loopback, built before any timing starts.

    verify=False: no TLS is involved, and loading the CA bundle costs ~40 ms of blocking CPU
    per client, which would stall every request in flight on the benchmark's event loop.
    """
    return httpx.AsyncClient(base_url=base_url, timeout=60, verify=False, **options)


# --- one server configuration ------------------------------------------------------------------


async def setup_campaign(client: httpx.AsyncClient, calls: int, contacts: int) -> None:
    response = await client.post("/api/campaigns", json=campaign_document(calls))
    if response.status_code != 201:
        raise BenchError(f"create campaign: HTTP {response.status_code} {response.text[:300]}")
    campaign_id = response.json()["id"]
    # Valid Italian mobile numbers, one per contact.
    body = "phone_number\n" + "".join(f"+39 347 {i:07d}\n" for i in range(1, contacts + 1))
    response = await client.post(
        f"/api/campaigns/{campaign_id}/contacts",
        content=body.encode(),
        headers={"content-type": "text/csv"},
    )
    imported = response.json().get("imported") if response.status_code == 200 else None
    if imported != contacts:
        raise BenchError(f"import: {response.status_code} {response.text[:300]}")
    response = await client.post(f"/api/campaigns/{campaign_id}/start")
    if response.status_code != 200:
        raise BenchError(f"start: HTTP {response.status_code} {response.text[:300]}")


# A Twilio-style form, as the bare endpoint reads it: what Twilio posts after a <Gather>.
_TWILIO_FORM = {
    "AccountSid": "AC" + "0" * 32,
    "ApiVersion": "2010-04-01",
    "CallSid": "CA" + "1" * 32,
    "CallStatus": "in-progress",
    "Called": "+393470000001",
    "Caller": "+390212345678",
    "Confidence": "0.92",
    "Direction": "outbound-api",
    "From": "+390212345678",
    "Language": "it-IT",
    "SpeechResult": "più personale nei negozi",
    "To": "+393470000001",
}


async def bare_call(client: httpx.AsyncClient, attempt_id: int, requests: int) -> list[float]:
    """One closed-loop "call" against the bare endpoint: `requests` posts, one after another."""
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = await client.post(f"/bare/voice?attempt_id={attempt_id}", data=_TWILIO_FORM)
        timings.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise BenchError(f"bare endpoint: HTTP {response.status_code} {response.text[:200]}")
    return timings


async def measure_bare(
    url: str, server: Uvicorn, attempt_ids: list[int], rounds: int
) -> BareResult:
    """The bare endpoint under the service's load shape: `rounds` rounds of one client per
    call, each sending as many requests as a call of the service does."""
    logdir = Path(tempfile.mkdtemp(prefix="vs-bare-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    latencies: list[float] = []
    seconds = cpu = 0.0
    failures = 0
    try:
        with bare_server(url, server, port, logdir / "bare.log") as pid:
            async with new_client(base) as probe:
                await wait_ready(probe, pid, logdir / "bare.log")
            for _ in range(rounds):
                clients = [new_client(base) for _ in attempt_ids]
                before = tree_cpu(pid)
                started = time.perf_counter()
                results = await asyncio.gather(
                    *(
                        bare_call(c, a, len(LABELS))
                        for c, a in zip(clients, attempt_ids, strict=True)
                    ),
                    return_exceptions=True,
                )
                seconds += time.perf_counter() - started
                cpu += tree_cpu(pid) - before
                await asyncio.gather(*(c.aclose() for c in clients))
                for r in results:
                    if isinstance(r, BaseException):
                        failures += 1
                    else:
                        latencies += r
    finally:
        shutil.rmtree(logdir, ignore_errors=True)
    return BareResult(len(latencies), seconds, latencies, cpu, failures)


async def measure(server: Server, args: argparse.Namespace, workers: int) -> RunResult:
    calls, rounds = args.calls, args.rounds
    uvicorn = Uvicorn(
        workers, loop=args.loop, http=args.http, src=args.src.resolve(), profile=args.profile
    )
    rss = [0.0] * workers
    print(
        f"workers={workers}: {rounds} round(s) of {calls} concurrent calls "
        f"(load average {os.getloadavg()[0]:.2f})",
        flush=True,
    )
    timings = Timings()
    activity: Counter[str] = Counter()
    drive_seconds = 0.0
    samples = 0
    cpu = CpuSnapshot(0.0, 0.0, 0.0)
    loads = [os.getloadavg()[0]]
    rng = random.Random(20261126)
    async with fresh_database(server) as (url, engine):
        postmaster = await postmaster_pid(engine)
        logdir = Path(tempfile.mkdtemp(prefix="vs-turns-"))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        limits = httpx.Limits(max_connections=calls + 10, max_keepalive_connections=calls + 10)
        try:
            with uvicorn_server(url, uvicorn, port, logdir / "uvicorn.log") as pid:
                async with new_client(base, limits=limits) as client:
                    await wait_ready(client, pid, logdir / "uvicorn.log")
                    await setup_campaign(client, calls, calls * rounds)
                    seen: set[int] = set()
                    for round_no in range(1, rounds + 1):
                        placed = await wait_for_calls(engine, calls, seen)
                        seen.update(a for a, _ in placed)
                        stop = asyncio.Event()
                        sampler = asyncio.create_task(sample_activity(engine, stop, activity))
                        sizer = asyncio.create_task(track_rss(pid, workers, stop, rss))
                        before = cpu_now(pid, postmaster)
                        own = [] if args.shared_client else [new_client(base) for _ in placed]
                        clients = own or [client] * len(placed)
                        think = args.think_ms / 1000
                        players = [
                            Call(http, a, c, timings, round_no, think, rng).play()
                            for http, (a, c) in zip(clients, placed, strict=True)
                        ]
                        started = time.perf_counter()
                        results = await asyncio.gather(*players, return_exceptions=True)
                        elapsed = time.perf_counter() - started
                        drive_seconds += elapsed
                        await asyncio.gather(*(c.aclose() for c in own))
                        stop.set()
                        samples += await sampler
                        await sizer
                        # CPU between rounds (waiting for the next dispatch) is left out.
                        cpu = cpu + (cpu_now(pid, postmaster) - before)
                        timings.failures += [
                            _describe(r) for r in results if isinstance(r, Exception)
                        ]
                        loads.append(os.getloadavg()[0])
                        voice = timings.by_round[round_no]
                        p50, worst = percentile(voice, 50) * 1000, max(voice) * 1000
                        print(
                            f"  round {round_no}: {len(placed)} calls in {elapsed:.1f} s, "
                            f"voice p50 {p50:.0f} ms, max {worst:.0f} ms",
                            flush=True,
                        )
                        if timings.failures:  # their attempts stay open and hold call slots
                            print("  a call failed: no further round", flush=True)
                            break
            async with engine.connect() as conn:
                completed = (
                    await conn.execute(
                        text("SELECT count(*) FROM survey_responses WHERE completed")
                    )
                ).scalar_one()
                dispatched = (
                    await conn.execute(text("SELECT count(*) FROM call_attempts"))
                ).scalar_one()
            bare = None
            # The baseline is a closed loop: it compares throughput, so only the burst model.
            if not args.no_bare and not args.think_ms:
                print("  bare baseline (bench/bare_webhook.py), same load", flush=True)
                bare = await measure_bare(url, uvicorn, sorted(seen)[:calls], len(timings.by_round))
        finally:
            shutil.rmtree(logdir, ignore_errors=True)
    requests = sum(len(v) for v in timings.by_label.values())
    return RunResult(
        workers=workers,
        calls=calls,
        rounds=len(timings.by_round),
        think_ms=args.think_ms,
        client_kind="one shared client" if args.shared_client else "one client per call",
        timings=timings,
        drive_seconds=drive_seconds,
        requests=requests,
        cpu=cpu,
        activity=activity,
        activity_samples=samples,
        completed_responses=int(completed),
        dispatched=int(dispatched),
        loads=loads,
        rss_mib=rss,
        bare=bare,
    )


async def track_rss(pid: int, workers: int, stop: asyncio.Event, into: list[float]) -> None:
    """Every 0.5 s, the resident memory of each worker; keeps each one's largest."""
    while not stop.is_set():
        sizes = sorted((rss_mib(w) for w in worker_pids(pid, workers)), reverse=True)
        for i, size in enumerate(sizes[: len(into)]):
            into[i] = max(into[i], size)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


# --- report ----------------------------------------------------------------------------------


def print_result(r: RunResult) -> None:
    t = r.timings
    voice = t.merged(VOICE_LABELS)
    events = t.merged([label for label in LABELS if label.startswith("event ")])
    print()
    print(
        f"--workers {r.workers}: {r.rounds} x {r.calls} concurrent calls, think time "
        f"{r.think_ms} ms, {r.client_kind}; {r.requests:,} requests in {r.drive_seconds:.2f} s "
        f"({r.requests / r.drive_seconds:,.0f} req/s, "
        f"voice turns {len(voice) / r.drive_seconds:,.0f}/s)"
    )
    print(
        f"  {'request':<30} {'count':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'>15 s':>6}"
    )
    rows = [(label, t.by_label.get(label, [])) for label in LABELS]
    rows += [("all voice turns", voice), ("all status callbacks", events)]
    for label, values in rows:
        if not values:
            continue
        over = sum(1 for v in values if v > TWILIO_TIMEOUT_SECONDS)
        print(
            f"  {label:<30} {len(values):>6} {percentile(values, 50) * 1000:>8.1f} "
            f"{percentile(values, 90) * 1000:>8.1f} {percentile(values, 99) * 1000:>8.1f} "
            f"{max(values) * 1000:>8.1f} {over:>6}"
        )
    per_round = "; ".join(
        f"{n}: {percentile(v, 50) * 1000:.0f}/{percentile(v, 99) * 1000:.0f}/{max(v) * 1000:.0f}"
        for n, v in sorted(t.by_round.items())
    )
    print(f"  voice turns per round (p50/p99/max ms): {per_round}")
    wall, cpu = r.drive_seconds, r.cpu
    pg = "n/a (server not local)"
    if cpu.postgres is not None:
        pg = f"{cpu.postgres:.1f} s ({cpu.postgres / wall:.0%})"
    print(
        f"  CPU while calls played (% of one core): uvicorn {cpu.uvicorn:.1f} s "
        f"({cpu.uvicorn / wall:.0%}), postgres {pg}, bench client {cpu.client:.1f} s "
        f"({cpu.client / wall:.0%}); wall {wall:.1f} s, {os.cpu_count()} cores"
    )
    per = f"uvicorn {cpu.uvicorn / r.requests * 1000:.1f} ms"
    if cpu.postgres is not None:
        per += f", postgres {cpu.postgres / r.requests * 1000:.1f} ms"
    print(f"  CPU per request: {per}, bench client {cpu.client / r.requests * 1000:.1f} ms")
    load = " ".join(f"{x:.2f}" for x in r.loads)
    print(f"  1-min load average before the run, then after each round: {load}")
    if r.activity_samples:
        busy_states = Counter({k: v for k, v in r.activity.items() if k != "max open"})
        busy = sum(busy_states.values()) / r.activity_samples
        top = ", ".join(f"{k} {v / r.activity_samples:.1f}" for k, v in busy_states.most_common(3))
        print(
            f"  service's DB connections: at most {r.activity['max open']} open; busy ones, mean "
            f"per 50 ms sample: {busy:.1f} ({top})"
        )
    rss = ", ".join(f"{m:.0f}" for m in r.rss_mib)
    print(f"  resident memory per worker, largest seen while calls played (MiB): {rss}")
    if r.bare is not None:
        print_bare(r)
    print(
        f"  check: {r.completed_responses} complete survey responses for {r.calls * r.rounds} "
        f"calls played ({r.dispatched} attempts placed); {len(t.failures)} failed call(s)"
    )
    for failure in t.failures[:5]:
        print(f"    {failure}")


def print_bare(r: RunResult) -> None:
    """The bare endpoint's figures and the service's share of its throughput."""
    b = r.bare
    assert b is not None
    lat = b.latencies or [0.0]
    print(
        f"  bare endpoint, same uvicorn and load: {b.requests:,} requests in {b.seconds:.2f} s "
        f"({b.per_second:,.0f} req/s), p50 {percentile(lat, 50) * 1000:.1f} ms, "
        f"p99 {percentile(lat, 99) * 1000:.1f} ms, uvicorn CPU "
        f"{b.uvicorn_cpu / max(1, b.requests) * 1000:.2f} ms/request; {b.failures} failed call(s)"
    )
    service = r.requests / r.drive_seconds
    print(
        f"  RATIO service / bare: {service:,.0f} / {b.per_second:,.0f} req/s = "
        f"{service / b.per_second:.0%} (target >= 50 %)"
    )


def verdict(results: list[RunResult]) -> None:
    print()
    for r in results:
        values = r.timings.merged(LABELS)
        worst = max(values)
        head = (
            f"--workers {r.workers}: slowest of {len(values):,} requests {worst:.3f} s "
            f"against Twilio's {TWILIO_TIMEOUT_SECONDS:.0f} s:"
        )
        if r.timings.failures:
            print(f"{head} {len(r.timings.failures)} call(s) FAILED (see above)")
        elif worst >= TWILIO_TIMEOUT_SECONDS:
            print(f"{head} NOT within the limit")
        else:
            print(f"{head} within the limit ({TWILIO_TIMEOUT_SECONDS / worst:.1f}x margin)")


def source_version() -> str:
    """The commit measured, and whether the working tree differed from it."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return f"{head}{' with uncommitted changes in src/' if dirty else ''}"


async def run(args: argparse.Namespace, server: Server) -> None:
    print(
        f"source: {source_version()}; {os.cpu_count()} cores; service from {args.src}", flush=True
    )
    installed = {m: importlib.util.find_spec(m) is not None for m in ("uvloop", "httptools")}
    print(
        f"uvicorn --loop {args.loop} --http {args.http}; installed: "
        + ", ".join(f"{m} {'yes' if ok else 'no'}" for m, ok in installed.items()),
        flush=True,
    )
    results = [await measure(server, args, w) for w in args.workers]
    for r in results:
        print_result(r)
    verdict(results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workers",
        type=lambda s: [int(w) for w in s.split(",")],
        default=[1, 2],
        help="comma-separated uvicorn --workers values, one server run each (default 1,2)",
    )
    parser.add_argument("--calls", type=int, default=100, help="concurrent calls per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --calls calls")
    parser.add_argument(
        "--shared-client",
        action="store_true",
        help="one httpx.AsyncClient (one pool of connections) for all calls, not one per call",
    )
    parser.add_argument(
        "--think-ms",
        type=int,
        default=0,
        help="mean pause before each answer, drawn from 0.5x-1.5x, and calls start spread over "
        "one pause (0, the default: every call starts at once and answers as soon as the reply "
        "arrives)",
    )
    parser.add_argument(
        "--loop", default="auto", help="uvicorn --loop: auto (uvloop when installed), asyncio"
    )
    parser.add_argument(
        "--http", default="auto", help="uvicorn --http: auto (httptools when installed), h11"
    )
    parser.add_argument(
        "--src",
        type=Path,
        default=ROOT / "src",
        help="the service's source directory (e.g. an export of an older commit, to compare)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="write a cProfile of the service (use with --workers 1) to this file",
    )
    parser.add_argument(
        "--no-bare", action="store_true", help="skip the bare baseline (bench/bare_webhook.py)"
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
