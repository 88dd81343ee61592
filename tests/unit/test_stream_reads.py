"""Streams of one order woken together share one read of the store, never a stale one."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import pytest

from streams import views


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[UUID, int]]:
    made: list[tuple[UUID, int]] = []

    async def read(order_id: UUID, after: int) -> list[Any]:
        made.append((order_id, after))
        number = len(made)
        await asyncio.sleep(0.05)
        return [number]

    monkeypatch.setattr(views, "_read_events", read)
    return made


def test_streams_woken_before_a_read_began_share_it(reads: list[tuple[UUID, int]]) -> None:
    order_id = uuid4()

    async def woken_together() -> list[list[Any]]:
        woken = asyncio.get_running_loop().time()
        return await asyncio.gather(*(views.shared_read(order_id, 3, woken) for _ in range(100)))

    answers = asyncio.run(woken_together())
    assert (len(reads), answers) == (1, [[1]] * 100)


def test_a_stream_woken_after_a_read_began_does_not_join_it(
    reads: list[tuple[UUID, int]],
) -> None:
    order_id = uuid4()

    async def one_early_one_late() -> list[list[Any]]:
        loop = asyncio.get_running_loop()
        early = asyncio.ensure_future(views.shared_read(order_id, 3, loop.time()))
        await asyncio.sleep(0.01)  # the first read is under way
        late = await views.shared_read(order_id, 3, loop.time())
        return [await early, late]

    assert (asyncio.run(one_early_one_late()), len(reads)) == ([[1], [2]], 2)
