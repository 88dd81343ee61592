"""The other ways of waiting: Prefer: wait long-polls and the event stream, and falling back."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from async_rest_client import Client, EventStream, LongPolling, Polling, RemoteOrder
from async_rest_client.waiting import EventParser, default_strategy
from tests.unit.client.conftest import (
    BASE,
    ORDER_ID,
    ORDER_PATH,
    FakeTime,
    Scripted,
    order_json,
    status_answer,
)

EVENTS_PATH = ORDER_PATH + "events/"


def stream(*events: str) -> httpx.Response:
    return httpx.Response(
        200, content="".join(events).encode(), headers={"Content-Type": "text/event-stream"}
    )


def order_event(status: str, progress: int, version: int) -> str:
    data = json.dumps(order_json(status, progress, version))
    return f"id: {version}\nevent: order\ndata: {data}\n\n"


@pytest.fixture
def auto(server: Scripted, fake_time: FakeTime) -> Iterator[Client]:
    """A client with the default strategy: event stream, then long-poll, then polling."""
    with Client(
        BASE,
        transport=httpx.MockTransport(server),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        waiting=default_strategy(),
    ) as made:
        yield made


def read_order(client: Client, server: Scripted) -> RemoteOrder:
    server.on("GET", ORDER_PATH, status_answer(order_json()))
    order = client.order(ORDER_ID)
    server.requests.clear()
    return order


def test_long_polling_asks_the_server_to_hold_the_answer(client: Client, server: Scripted) -> None:
    order = read_order(client, server)
    server.on("GET", ORDER_PATH, status_answer(order_json("completed", 100, 9)))
    order.wait(progress=False, strategy=LongPolling(wait=20))
    assert server.requests[0].headers["Prefer"] == "wait=20"


def test_long_polling_asks_no_longer_than_the_time_left(client: Client, server: Scripted) -> None:
    order = read_order(client, server)
    server.on("GET", ORDER_PATH, status_answer(order_json("completed", 100, 9)))
    order.wait(timeout=5, progress=False, strategy=LongPolling(wait=20))
    assert server.requests[0].headers["Prefer"] == "wait=5"


def test_when_the_server_held_the_answer_the_next_poll_follows_at_once(
    client: Client, server: Scripted, fake_time: FakeTime
) -> None:
    order = read_order(client, server)
    held = httpx.Response(304, headers={"Preference-Applied": "wait=20", "Retry-After": "1"})
    server.on("GET", ORDER_PATH, held, status_answer(order_json("completed", 100, 9)))
    order.wait(progress=False, strategy=LongPolling(wait=20))
    assert fake_time.slept == []


def test_a_server_that_does_not_hold_answers_is_polled_plainly(
    client: Client, server: Scripted, fake_time: FakeTime
) -> None:
    order = read_order(client, server)
    server.on(
        "GET",
        ORDER_PATH,
        status_answer(order_json("running", 60, 7)),  # no Preference-Applied
        status_answer(order_json("completed", 100, 9)),
    )
    order.wait(progress=False, strategy=LongPolling(wait=20))
    prefers = [r.headers.get("Prefer") for r in server.requests]
    assert (prefers, fake_time.slept) == (["wait=20", None], [1.0])


def test_an_event_stream_that_carries_the_order_ends_the_wait_without_polling(
    client: Client, server: Scripted
) -> None:
    order = read_order(client, server)
    server.on(
        "GET", EVENTS_PATH, stream(order_event("running", 60, 7), order_event("completed", 100, 9))
    )
    done = order.wait(progress=False, strategy=EventStream())
    assert (done.status, [r.url.path for r in server.requests]) == ("completed", [EVENTS_PATH])


def test_the_event_stream_is_asked_for_from_the_version_known(
    client: Client, server: Scripted
) -> None:
    order = read_order(client, server)
    server.on("GET", EVENTS_PATH, stream(order_event("completed", 100, 9)))
    order.wait(progress=False, strategy=EventStream())
    sent = server.requests[0].headers
    assert (sent["Accept"], sent["Last-Event-ID"]) == ("text/event-stream", "5")


def test_an_event_that_is_not_the_order_makes_the_client_read_the_order(
    client: Client, server: Scripted
) -> None:
    order = read_order(client, server)
    server.on("GET", EVENTS_PATH, stream('id: 9\nevent: Completed\ndata: {"version": 9}\n\n'))
    server.on("GET", ORDER_PATH, status_answer(order_json("completed", 100, 9)))
    assert order.wait(progress=False, strategy=EventStream()).status == "completed"


def test_a_stream_that_ends_early_is_reopened_after_reading_the_order(
    client: Client, server: Scripted, fake_time: FakeTime
) -> None:
    order = read_order(client, server)
    server.on(
        "GET",
        EVENTS_PATH,
        stream("retry: 2500\n", order_event("running", 60, 7)),
        stream(order_event("completed", 100, 9)),
    )
    server.on("GET", ORDER_PATH, status_answer(order_json("running", 60, 7)))
    order.wait(progress=False, strategy=EventStream())
    reopened = server.sent("GET", EVENTS_PATH)[1]
    assert (reopened.headers["Last-Event-ID"], fake_time.slept) == ("7", [2.5])


def test_a_server_without_an_event_stream_is_polled_and_not_asked_again(
    auto: Client, server: Scripted
) -> None:
    order = read_order(auto, server)
    server.on("GET", EVENTS_PATH, httpx.Response(404, text="Not Found"))
    server.on("GET", ORDER_PATH, status_answer(order_json("completed", 100, 9)))
    order.wait(progress=False)
    first = [r.url.path for r in server.requests]
    again = read_order(auto, server)
    server.on("GET", ORDER_PATH, status_answer(order_json("completed", 100, 9)))
    again.wait(progress=False)
    second = [r.url.path for r in server.requests]
    assert (first, second) == ([EVENTS_PATH, ORDER_PATH], [ORDER_PATH])


def test_an_answer_that_is_not_an_event_stream_falls_back_to_polling(
    client: Client, server: Scripted
) -> None:
    order = read_order(client, server)
    server.on("GET", EVENTS_PATH, httpx.Response(200, json=order_json()))
    server.on("GET", ORDER_PATH, status_answer(order_json("completed", 100, 9)))
    assert order.wait(progress=False, strategy=default_strategy()).status == "completed"


def test_polling_is_the_strategy_of_last_resort(client: Client, server: Scripted) -> None:
    order = read_order(client, server)
    server.on("GET", ORDER_PATH, status_answer(order_json("completed", 100, 9)))
    assert order.wait(progress=False, strategy=Polling()).status == "completed"


def test_the_event_parser_joins_data_lines_and_skips_comments() -> None:
    parser = EventParser()
    lines = [": keep-alive", "event: order", "id: 7", "data: {", 'data: "a": 1}', ""]
    events = [parser.feed(line) for line in lines]
    last = events[-1]
    assert events[:-1] == [None] * 5
    assert last is not None and (last.event, last.id, json.loads(last.data)) == (
        "order",
        "7",
        {"a": 1},
    )


def test_the_event_parser_reads_the_reconnection_delay_in_milliseconds() -> None:
    parser = EventParser()
    parser.feed("retry: 1500")
    parser.feed("data: x")
    event = parser.feed("")
    assert event is not None and event.retry == 1.5
