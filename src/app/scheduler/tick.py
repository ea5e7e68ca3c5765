"""One scheduler tick: recover, dispatch, finish. Every step is safe to run twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.deliveries.deliverer import DeliveryPolicy
from app.scheduler.dispatch import DispatchLimits, dispatch
from app.scheduler.ending import close_ended_campaigns
from app.scheduler.recovery import RecoveryPolicy, finish_campaigns, recover_stale
from app.suppression import retention
from app.telephony.base import TelephonyProvider
from app.telephony.callbacks import CallUrls


@dataclass(frozen=True)
class TickContext:
    sessions: async_sessionmaker[AsyncSession]
    provider: TelephonyProvider
    limits: DispatchLimits
    urls: CallUrls
    recovery: RecoveryPolicy
    retention_days: int | None = None  # unset: personal data is kept
    # The results webhook's deliverer, which runs beside the ticks (SchedulerLoop starts it).
    results: DeliveryPolicy = field(default_factory=DeliveryPolicy)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        provider: TelephonyProvider,
    ) -> TickContext:
        return cls(
            sessions=sessions,
            provider=provider,
            limits=DispatchLimits(
                batch_size=settings.dispatch_batch_size,
                calls_per_second=settings.calls_per_second,
                interval_seconds=settings.scheduler_interval_seconds,
                ring_timeout_seconds=settings.ring_timeout_seconds,
            ),
            urls=CallUrls(settings.public_base_url),
            recovery=RecoveryPolicy(
                stale_seconds=settings.stale_attempt_seconds,
                margin_seconds=settings.recovery_margin_seconds,
            ),
            retention_days=settings.retention_days,
            results=DeliveryPolicy.from_settings(settings),
        )


@dataclass(frozen=True)
class TickReport:
    now: datetime
    recovered: int = 0
    dispatched: int = 0
    finished: int = 0
    lost_leadership: bool = False


async def db_now(sessions: async_sessionmaker[AsyncSession]) -> datetime:
    """The one clock every process agrees on."""
    async with sessions() as session:
        now: datetime = (await session.execute(text("SELECT now()"))).scalar_one()
    return now


async def run_tick(
    ctx: TickContext, still_leader: Callable[[], Awaitable[bool]] | None = None
) -> TickReport:
    """Run one tick; `still_leader` is asked again right before dispatching."""
    now = await db_now(ctx.sessions)
    recovered = await recover_stale(ctx.sessions, ctx.provider, now=now, policy=ctx.recovery)
    if still_leader is not None and not await still_leader():
        return TickReport(now=now, recovered=recovered, lost_leadership=True)
    dispatched = await dispatch(
        ctx.sessions, ctx.provider, now=now, limits=ctx.limits, urls=ctx.urls
    )
    await close_ended_campaigns(ctx.sessions, now=now)  # before finishing: it may complete them
    finished = await finish_campaigns(ctx.sessions)
    await retention.sweep(ctx.sessions, now=now, days=ctx.retention_days)
    return TickReport(now=now, recovered=recovered, dispatched=dispatched, finished=len(finished))
