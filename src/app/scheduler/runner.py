"""The loop every worker runs: elect, and when leader, tick; the leader also runs the results
deliverer, as a task of its own so that a slow webhook receiver never delays a tick."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app import metrics
from app.deliveries.deliverer import Deliverer
from app.logs import one_line
from app.scheduler.leader import LeaderElection
from app.scheduler.tick import TickContext, run_tick

log = logging.getLogger(__name__)


class SchedulerLoop:
    def __init__(
        self, ctx: TickContext, election: LeaderElection, interval: float, election_interval: float
    ) -> None:
        self._ctx = ctx
        self._election = election
        self._interval = interval
        self._election_interval = election_interval
        self._stop = asyncio.Event()
        self._standby_logged = False
        self._db_error_logged = False
        self._deliverer: asyncio.Task[None] | None = None

    @property
    def is_leader(self) -> bool:
        return self._election.is_leader

    async def run(self) -> None:
        log.info("Scheduler enabled")
        try:
            while not self._stop.is_set():
                await self._step()
                await self._sleep(self._interval if self.is_leader else self._election_interval)
        finally:
            await self._stop_deliverer()
            await self._election.release()
            metrics.SCHEDULER_LEADER.set(0)

    def stop(self) -> None:
        self._stop.set()

    async def _step(self) -> None:
        leading = await self._ensure_leader()
        metrics.SCHEDULER_LEADER.set(int(leading))
        if not leading:
            return
        self._keep_deliverer()
        try:
            with metrics.TICK_DURATION.time():
                report = await run_tick(self._ctx, self._still_leader)
            await metrics.refresh_active_calls(self._ctx.sessions)
        except Exception as exc:  # a failed tick is retried next interval, never fatal
            log.error("Scheduler tick failed: %s", one_line(exc))
            return
        if report.lost_leadership:
            self._lost()

    async def _ensure_leader(self) -> bool:
        if self.is_leader:
            if await self._election.still_held():
                return True
            self._lost()
        if await self._election.try_acquire():
            log.info("Scheduler leader lock acquired")
            self._standby_logged = self._db_error_logged = False
            return True
        if self._election.last_error is not None:
            if not self._db_error_logged:
                log.error(
                    "Scheduler cannot reach the database (%s); retrying", self._election.last_error
                )
                self._db_error_logged = True
            return False
        self._db_error_logged = False
        if not self._standby_logged:
            log.info("Scheduler leader lock busy; standby")
            self._standby_logged = True
        return False

    async def _still_leader(self) -> bool:
        return await self._election.still_held()

    def _lost(self) -> None:
        log.warning("Scheduler leader lock lost; dispatch stopped, re-entering election")
        metrics.SCHEDULER_LEADER.set(0)
        self._standby_logged = False
        if self._deliverer is not None:
            # Its sends in flight stay leased; the next leader sends them again after the lease.
            self._deliverer.cancel()

    def _keep_deliverer(self) -> None:
        """Start the results deliverer, or start it again if it stopped on an error."""
        task = self._deliverer
        if task is not None and not task.done():
            return
        error = None if task is None or task.cancelled() else task.exception()
        if error is not None:
            log.error("Results deliverer stopped: %s; restarting it", one_line(error))
        deliverer = Deliverer(self._ctx.sessions, self._ctx.results)
        self._deliverer = asyncio.create_task(deliverer.run(), name="results deliverer")

    async def _stop_deliverer(self) -> None:
        task, self._deliverer = self._deliverer, None
        if task is None:
            return
        task.cancel()
        # Whatever it ended with (cancelled, or an error already logged by its own loop).
        await asyncio.gather(task, return_exceptions=True)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)
