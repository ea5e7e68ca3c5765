"""Requests to the provider with a bound on how many are in flight at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Provider requests in flight at once from one scheduler: enough to keep a tick short, few
# enough that an outage of the provider's API is not answered with a flood.
PROVIDER_CONCURRENCY = 50


async def gather_bounded(
    items: Sequence[T], request: Callable[[T], Awaitable[R]], limit: int = PROVIDER_CONCURRENCY
) -> list[R]:
    """`request(item)` for every item, at most `limit` at a time; results in item order."""
    gate = asyncio.Semaphore(limit)

    async def one(item: T) -> R:
        async with gate:
            return await request(item)

    return list(await asyncio.gather(*(one(item) for item in items)))
