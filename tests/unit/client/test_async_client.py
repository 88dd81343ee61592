"""The asyncio client runs the same plans: placing with retries, waiting, streams, pages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
import pytest

from async_rest_client import AsyncClient, EventStream, OrderFailed, Polling
from tests.unit.client.conftest import (
    BASE,
    ORDER_PATH,
    FakeTime,
    Scripted,
    order_json,
    placed_answer,
    status_answer,
)

T = TypeVar("T")
PLACE_PATH = "/async/regina/order/"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def make_client(server: Scripted, fake_time: FakeTime, **options: Any) -> AsyncClient:
    return AsyncClient(
        BASE,
        transport=httpx.MockTransport(server),
        sleep=fake_time.asleep,
        clock=fake_time.clock,
        **{"waiting": Polling(), **options},
    )


def test_the_async_client_places_and_waits_for_the_completed_order(
    server: Scripted, fake_time: FakeTime
) -> None:
    server.on("POST", PLACE_PATH, placed_answer(order_json("queued", 0, 1)))
    server.on(
        "GET",
        ORDER_PATH,
        status_answer(order_json("running", 50, 6)),
        status_answer(order_json("completed", 100, 9)),
    )

    async def scenario() -> str | None:
        async with make_client(server, fake_time) as client:
            order = await client.place("regina", {"steps": 10})
            return (await order.wait(progress=False)).resource_url

    assert run(scenario()) == f"{BASE}/pizzeria/pizzas/1/"
    assert fake_time.slept == [1.0]


def test_the_async_client_sends_a_lost_post_again_with_the_same_key(
    server: Scripted, fake_time: FakeTime
) -> None:
    server.on(
        "POST",
        PLACE_PATH,
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        placed_answer(order_json("queued", 0, 1), Idempotent_Replayed="true"),
    )

    async def scenario() -> bool:
        async with make_client(server, fake_time) as client:
            return (await client.place("regina")).replayed

    assert run(scenario()) is True
    first, second = (r.headers["Idempotency-Key"] for r in server.requests)
    assert first == second


def test_the_async_client_raises_order_failed(server: Scripted, fake_time: FakeTime) -> None:
    server.on("POST", PLACE_PATH, placed_answer(order_json("queued", 0, 1)))
    failure = {"message": "No more ingredients", "type": "OutOfIngredientsError"}
    server.on("GET", ORDER_PATH, status_answer(order_json("failed", 0, 4, error=failure)))

    async def scenario() -> None:
        async with make_client(server, fake_time) as client:
            await (await client.place("regina")).wait(progress=False)

    with pytest.raises(OrderFailed, match="No more ingredients"):
        run(scenario())


def test_the_async_client_follows_an_event_stream(server: Scripted, fake_time: FakeTime) -> None:
    server.on("POST", PLACE_PATH, placed_answer(order_json("queued", 0, 1)))
    data = json.dumps(order_json("completed", 100, 9))
    events = httpx.Response(
        200,
        content=f"id: 9\ndata: {data}\n\n".encode(),
        headers={"Content-Type": "text/event-stream"},
    )
    server.on("GET", ORDER_PATH + "events/", events)

    async def scenario() -> str:
        async with make_client(server, fake_time, waiting=EventStream()) as client:
            return (await (await client.place("regina")).wait(progress=False)).status

    assert run(scenario()) == "completed"


def test_the_async_client_iterates_every_page_of_history(
    server: Scripted, fake_time: FakeTime
) -> None:
    server.on("POST", PLACE_PATH, placed_answer(order_json("queued", 0, 1)))
    stamp = "2026-12-01T08:09:30+00:00"
    pages = [
        {"count": 2, "next": f"{BASE}{ORDER_PATH}history/?page=2", "previous": None,
         "results": [{"version": 1, "type": "Queued", "timestamp": stamp}]},
        {"count": 2, "next": None, "previous": None,
         "results": [{"version": 2, "type": "Dispatched", "timestamp": stamp}]},
    ]  # fmt: skip
    server.on("GET", ORDER_PATH + "history/", *[httpx.Response(200, json=p) for p in pages])

    async def scenario() -> list[str]:
        async with make_client(server, fake_time) as client:
            order = await client.place("regina")
            return [event.type async for event in order.history()]

    assert run(scenario()) == ["Queued", "Dispatched"]
