"""Provider requests in flight at once stay under the bound; every item is asked once, and the
answers come back in the items' order."""

from __future__ import annotations

import asyncio

import pytest

from app.scheduler.bounded import gather_bounded


@pytest.mark.parametrize(("items", "limit"), [(0, 3), (1, 3), (7, 3), (50, 50), (120, 7)])
async def test_every_item_once_in_order_never_more_than_the_limit_at_once(
    items: int, limit: int
) -> None:
    in_flight, most, asked = 0, 0, []

    async def request(item: int) -> str:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        asked.append(item)
        await asyncio.sleep(0.001 * (item % 3))  # answers come back out of order
        in_flight -= 1
        return f"answer {item}"

    answers = await gather_bounded(list(range(items)), request, limit=limit)

    assert answers == [f"answer {i}" for i in range(items)]
    assert sorted(asked) == list(range(items))
    assert most == min(limit, items)


async def test_a_failing_request_fails_the_whole_call() -> None:
    async def request(item: int) -> int:
        if item == 2:
            raise ValueError("refused")
        return item

    with pytest.raises(ValueError, match="refused"):
        await gather_bounded([1, 2, 3], request, limit=2)
