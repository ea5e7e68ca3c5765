"""Prometheus metrics, and their exposition for one process or for all of uvicorn's workers.

`uvicorn --workers N` runs N processes, each with its own counters. Two ways to scrape them:

- PROMETHEUS_MULTIPROC_DIR unset: every process keeps its own registry, and a scrape of
  /metrics reports only the worker that happened to answer it. Fine with one worker; with
  several, counters jump between workers' values and only the leader's scheduler metrics move.
- PROMETHEUS_MULTIPROC_DIR set to a directory on the local disk, writable by every worker and
  emptied before the service starts: each process writes its values there, and any worker's
  /metrics adds them all up. prometheus_client reads the variable when it is first imported,
  so it must be in the environment uvicorn starts with, not set later. Gauges of processes
  that have exited are dropped at scrape time; counters keep their contributions.

No metric is computed by querying the database at scrape time: the leader counts open
attempts once per tick instead.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, ParamSpec, TypeVar

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from app.calls.models import Outcome

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# Twilio gives up on a webhook after 15 s; the buckets resolve the range that matters below it.
WEBHOOK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)
TICK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
WEBHOOK_ENDPOINTS = ("events", "voice", "inbound")
INBOUND_KINDS = ("survey", "message", "listed")


def _prepare_multiprocess_dir() -> None:
    # A missing directory would fail the first metric below with a traceback at import.
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        os.makedirs(path, exist_ok=True)


_prepare_multiprocess_dir()

CALLS_DISPATCHED = Counter(
    "voicesurvey_calls_dispatched", "Call attempts committed and handed to the provider."
)
CALL_OUTCOMES = Counter(
    "voicesurvey_call_outcomes",
    "Call attempts closed, by outcome (counted on commit).",
    ["outcome"],
)
ACTIVE_CALLS = Gauge(
    "voicesurvey_active_calls",
    "Open call attempts, as counted by the scheduler leader at its last tick.",
    multiprocess_mode="livemostrecent",
)
WEBHOOK_DURATION = Histogram(
    "voicesurvey_webhook_duration_seconds",
    "Time to answer a provider webhook.",
    ["endpoint"],
    buckets=WEBHOOK_BUCKETS,
)
TICK_DURATION = Histogram(
    "voicesurvey_scheduler_tick_duration_seconds",
    "Time of one scheduler tick (recover, dispatch, finish).",
    buckets=TICK_BUCKETS,
)
SCHEDULER_LEADER = Gauge(
    "voicesurvey_scheduler_leader",
    "1 while this process holds the scheduler leader lock, else 0.",
    multiprocess_mode="liveall",
)
STALE_RECOVERED = Counter(
    "voicesurvey_stale_attempts_recovered", "Silent call attempts closed by recovery."
)
RECOVERY_UNCONFIRMED = Counter(
    "voicesurvey_recovery_unconfirmed",
    "Times recovery could not get the provider's word on a silent call (it stays open).",
)
INBOUND_CALLS = Counter(
    "voicesurvey_inbound_calls",
    "Calls to the campaign number by what the caller got: the survey, the message (who calls "
    "and why), or listed (pressed 9 after the message).",
    ["kind"],
)
RESULTS_DELIVERED = Counter(
    "voicesurvey_results_delivered",
    "Interviews delivered to their results webhook (a 2xx answer), each counted once.",
)
RESULTS_FAILED_ATTEMPTS = Counter(
    "voicesurvey_results_failed_attempts",
    "Results webhook sends that failed (an answer not 2xx, a timeout, no connection); each is "
    "tried again later.",
)
RESULTS_PENDING = Gauge(
    "voicesurvey_results_pending",
    "Interviews not delivered to their results webhook yet, as counted by the leader's deliverer.",
    multiprocess_mode="livemostrecent",
)

# Every label value shows from the start, at 0, so that rate() sees the first increment.
for _outcome in Outcome:
    CALL_OUTCOMES.labels(outcome=_outcome.value)
for _endpoint in WEBHOOK_ENDPOINTS:
    WEBHOOK_DURATION.labels(endpoint=_endpoint)
for _kind in INBOUND_KINDS:
    INBOUND_CALLS.labels(kind=_kind)


def render() -> bytes:
    """The metrics of this process, or of every process sharing PROMETHEUS_MULTIPROC_DIR."""
    path = os.environ.get(MULTIPROC_ENV)
    if not path:
        return generate_latest(REGISTRY)
    _forget_dead_processes(path)
    registry = CollectorRegistry()
    # prometheus_client leaves this module unannotated.
    multiprocess.MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def _forget_dead_processes(path: str) -> None:
    # uvicorn has no hook when a worker dies, so drop the live gauges of gone pids here.
    for name in os.listdir(path):
        match = _LIVE_GAUGE_FILE.fullmatch(name)
        if match and not _alive(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError):  # another worker got there first
                # prometheus_client leaves this module unannotated.
                multiprocess.mark_process_dead(int(match.group(1)), path)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


P = ParamSpec("P")
R = TypeVar("R")


def timed_webhook(
    endpoint: str,
) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], Callable[P, Coroutine[Any, Any, R]]]:
    """Time an async webhook handler into voicesurvey_webhook_duration_seconds{endpoint}."""
    histogram = WEBHOOK_DURATION.labels(endpoint=endpoint)

    def decorate(
        handler: Callable[P, Coroutine[Any, Any, R]],
    ) -> Callable[P, Coroutine[Any, Any, R]]:
        @functools.wraps(handler)  # FastAPI reads the wrapped signature for its dependencies
        async def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            with histogram.time():
                return await handler(*args, **kwargs)

        return timed

    return decorate


def count_inbound(kind: str) -> None:
    """Count one call to the campaign number (after its request committed)."""
    INBOUND_CALLS.labels(kind=kind).inc()


_OPEN_ATTEMPTS = text("SELECT count(*) FROM call_attempts WHERE ended_at IS NULL")


async def refresh_active_calls(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Set voicesurvey_active_calls from a count of open attempts (a partial index covers it)."""
    async with sessions() as session:
        ACTIVE_CALLS.set((await session.execute(_OPEN_ATTEMPTS)).scalar_one())


_PENDING_OUTCOMES = "voicesurvey.pending_outcomes"


def count_outcomes_on_commit(session: AsyncSession, outcomes: Iterable[str]) -> None:
    """Count these closed attempts' outcomes when the session commits; a rollback drops them."""
    session.sync_session.info.setdefault(_PENDING_OUTCOMES, []).extend(outcomes)


@event.listens_for(Session, "after_commit")
def _count_committed_outcomes(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released; the enclosing transaction may still roll back
    for outcome in session.info.pop(_PENDING_OUTCOMES, ()):
        CALL_OUTCOMES.labels(outcome=outcome).inc()


@event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted_outcomes(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING_OUTCOMES, None)
