"""The deliverer: POSTs the outbox's due rows to their campaigns' webhooks, at least once.

It runs as an asyncio task of its own beside the scheduler loop of the leader (started and
stopped by `SchedulerLoop`), so a slow or hanging receiver never delays a tick, hence a call.
Each step claims as many due rows as it has free send slots (the lease is committed first),
builds their bodies from the current data, starts the sends, waits for the first to finish
(or a short idle time), and records the finished ones in one transaction.

Correctness does not rest on there being one deliverer: rows are claimed with SKIP LOCKED, and a
deliverer that dies mid-send (SIGKILL, lost leadership) leaves its rows leased; they are sent
again once the lease is over. The receiver may so see a delivery twice, with the same key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import metrics
from app.config import Settings
from app.deliveries import service
from app.deliveries.backoff import Backoff
from app.deliveries.service import NO_SECRET, Failure, Job
from app.deliveries.signing import (
    ATTEMPT_HEADER,
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    delivery_key,
    sign,
)
from app.logs import mask_numbers, one_line

log = logging.getLogger(__name__)

USER_AGENT = "VoiceSurveyAgent-results/1"
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class DeliveryPolicy:
    # None: hold every result (nothing unsigned is sent). Never in a repr, hence in no log.
    secret: bytes | None = field(default=None, repr=False)
    # A send not answered by then has failed (whatever the receiver did with it).
    timeout_seconds: float = 10.0
    concurrency: int = 8  # sends in flight at once
    per_campaign: int = 4  # of which one campaign's at most: a hanging receiver keeps its share
    idle_seconds: float = 1.0  # wait when nothing finishes or nothing is due
    # The lease covers the send (bounded by the timeout) and recording its answer.
    lease_margin_seconds: float = 5.0
    backoff: Backoff = field(default_factory=Backoff)
    pending_every_seconds: float = 10.0  # how often the pending gauge is counted

    @property
    def lease_seconds(self) -> float:
        return self.timeout_seconds + self.lease_margin_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        secret = settings.results_webhook_secret
        return cls(secret=None if secret is None else secret.get_secret_value().encode())


@dataclass(frozen=True)
class SendResult:
    job: Job
    error: str | None  # None: the receiver answered 2xx


class Deliverer:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        policy: DeliveryPolicy,
    ) -> None:
        self._sessions = sessions
        self._policy = policy
        self._in_flight: dict[asyncio.Task[SendResult], Job] = {}
        self._random = random.Random()
        self._counted_at = -float("inf")
        self._error_logged = False

    async def run(self) -> None:
        """Deliver until cancelled; without a secret, only count and hold the results."""
        if self._policy.secret is None:
            await self._hold()
            return
        log.info(
            "Results deliverer started: %d sends at once, %g s timeout",
            self._policy.concurrency,
            self._policy.timeout_seconds,
        )
        async with self._client() as client:
            try:
                while True:
                    await self._step_safely(client, self._policy.secret)
            finally:
                await self._abandon()

    async def _step_safely(self, client: httpx.AsyncClient, secret: bytes) -> None:
        try:
            await self.step(client, secret)
        except Exception as exc:  # the database is away: try again, never die
            if not self._error_logged:
                log.error("Results delivery step failed: %s; retrying", one_line(exc))
                self._error_logged = True
            await asyncio.sleep(self._policy.idle_seconds)
        else:
            self._error_logged = False

    async def step(self, client: httpx.AsyncClient, secret: bytes) -> None:
        """Claim and start what fits in the free slots, wait a little, record what finished."""
        for job in await self._claim_jobs():
            task = asyncio.create_task(self._send(client, secret, job), name="results send")
            self._in_flight[task] = job
        finished = await self._wait()
        await self._record(finished)
        await self._count_pending()

    async def _claim_jobs(self) -> list[Job]:
        busy = Counter(job.claimed.campaign_id for job in self._in_flight.values())
        async with self._sessions() as session:
            async with session.begin():  # the lease is committed before anything is sent
                claimed = await service.claim_due(
                    session,
                    free=self._policy.concurrency - len(self._in_flight),
                    per_campaign=self._policy.per_campaign,
                    busy=busy,
                    lease_seconds=self._policy.lease_seconds,
                )
            return await service.load_jobs(session, claimed)

    async def _wait(self) -> list[SendResult]:
        if not self._in_flight:
            await asyncio.sleep(self._policy.idle_seconds)
            return []
        done, _ = await asyncio.wait(
            self._in_flight, timeout=self._policy.idle_seconds, return_when=asyncio.FIRST_COMPLETED
        )
        for task in done:
            del self._in_flight[task]
        return [task.result() for task in done]

    async def _send(self, client: httpx.AsyncClient, secret: bytes, job: Job) -> SendResult:
        if job.error is not None:
            return SendResult(job, job.error)
        if job.url is None:
            return SendResult(job, "the campaign has no results_webhook_url")
        claimed = job.claimed
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            DELIVERY_HEADER: delivery_key(claimed.campaign_id, claimed.contact_id),
            ATTEMPT_HEADER: str(claimed.attempt),
            SIGNATURE_HEADER: sign(secret, job.body),
        }
        try:
            # httpx bounds each phase; this bounds the whole send, a trickling answer included.
            async with asyncio.timeout(self._policy.timeout_seconds):
                async with client.stream("POST", job.url, content=job.body, headers=headers) as r:
                    status = r.status_code  # the answer's body is never read
        except TimeoutError:
            return SendResult(job, f"no answer within {self._policy.timeout_seconds:g} s")
        except Exception as exc:  # any failure to send is a failed attempt, never a dead loop
            return SendResult(job, _error_text(one_line(exc)))
        return SendResult(job, None if 200 <= status < 300 else f"HTTP {status}")

    async def _record(self, results: list[SendResult]) -> None:
        if not results:
            return
        delivered = [r.job.claimed.id for r in results if r.error is None]
        failed = [self._failure(r) for r in results if r.error is not None]
        async with self._sessions() as session, session.begin():
            first_time = await service.record_results(session, delivered=delivered, failed=failed)
        metrics.RESULTS_DELIVERED.inc(first_time)  # counted once committed
        metrics.RESULTS_FAILED_ATTEMPTS.inc(len(failed))
        _log_failures(r for r in results if r.error is not None)

    def _failure(self, result: SendResult) -> Failure:
        claimed = result.job.claimed
        delay = self._policy.backoff.delay(claimed.attempt, self._random.random())
        return Failure(claimed.id, result.error or "", delay)

    async def _count_pending(self, *, now: bool = False) -> int | None:
        due = time.monotonic() - self._counted_at >= self._policy.pending_every_seconds
        if not (now or due):
            return None
        async with self._sessions() as session:
            pending = await service.count_pending(session)
        self._counted_at = time.monotonic()
        metrics.RESULTS_PENDING.set(pending)
        return pending

    async def _hold(self) -> None:
        """No secret: send nothing, say so once when results are waiting, keep the gauge."""
        told = False
        while True:
            try:
                pending = await self._count_pending(now=True)
            except Exception as exc:  # the database is away: count again later
                if not self._error_logged:
                    log.error("Results delivery cannot count the outbox: %s", one_line(exc))
                    self._error_logged = True
                pending = None
            if pending and not told:
                log.error("Results webhook: %d results waiting, none sent. %s", pending, NO_SECRET)
                told = True
            await asyncio.sleep(self._policy.pending_every_seconds)

    async def _abandon(self) -> None:
        # Their rows stay leased: whoever delivers next sends them again after the lease.
        tasks = list(self._in_flight)
        self._in_flight.clear()
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)

    def _client(self) -> httpx.AsyncClient:
        timeout = httpx.Timeout(self._policy.timeout_seconds)
        limits = httpx.Limits(max_connections=self._policy.concurrency)
        # Redirects are not followed (a 3xx is a failure): the signed body goes where the
        # campaign says, nowhere else. Proxy variables are not read, like every client here.
        return httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False)


def _error_text(text: str) -> str:
    # An error may quote what the receiver sent back; keep it short and number-free.
    return mask_numbers(text)[:MAX_ERROR_CHARS]


def _log_failures(failures: Iterable[SendResult]) -> None:
    by_campaign: dict[int, list[str]] = {}
    for result in failures:
        by_campaign.setdefault(result.job.claimed.campaign_id, []).append(result.error or "")
    for campaign_id, errors in sorted(by_campaign.items()):
        log.warning(
            "Results webhook of campaign %s: %d sends failed (%s); each is tried again later",
            campaign_id,
            len(errors),
            errors[-1],
        )
