"""The live updates' pieces without I/O: Prefer parsing, the SSE format, the hub's fan-out."""

from __future__ import annotations

import asyncio
import threading
from uuid import uuid4

import pytest

from async_rest_client.waiting import EventParser
from streams import sse
from streams.hub import AsyncWaiter, Hub, ThreadWaiter, Written
from streams.longpoll import preferred_wait
from streams.sources import parse_payload


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("wait=10", 10),
        ("respond-async, wait=5", 5),
        ("WAIT = 7", 7),
        ('wait="3"', 3),
        ("handling=lenient, wait=0", 0),
        ("wait=12; foo=bar", 12),
    ],
)
def test_the_wait_preference_is_read_from_the_prefer_header(header: str, seconds: int) -> None:
    assert preferred_wait(header) == seconds


@pytest.mark.parametrize("header", [None, "", "respond-async", "wait=", "wait=-1", "wait=1.5"])
def test_a_prefer_header_without_a_valid_wait_asks_for_nothing(header: str | None) -> None:
    assert preferred_wait(header) is None


def test_a_frame_is_read_back_by_a_client_as_the_same_event() -> None:
    data = {"version": 3, "type": "Progressed", "message": "line\nbreak \u2028 and \ud800"}
    parser = EventParser()
    events = [parser.feed(line) for line in sse.frame(3, "Progressed", data).decode().split("\n")]
    (event,) = [e for e in events if e is not None]
    assert (event.id, event.event) == ("3", "Progressed")
    assert '"version":3' in event.data and "\n" not in event.data


def test_a_comment_is_no_event_for_a_client() -> None:
    parser = EventParser()
    assert [parser.feed(line) for line in sse.comment("keep-alive").decode().split("\n")] == [
        None,
        None,
        None,
    ]


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), ("0", 0), (" 17 ", 17)])
def test_last_event_id_is_a_non_negative_integer_or_nothing(
    value: str | None, expected: int | None
) -> None:
    assert sse.last_event_id(value) == expected


@pytest.mark.parametrize("value", ["-1", "x", "1e3", "٣", "9" * 19])
def test_a_junk_last_event_id_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        sse.last_event_id(value)


def test_a_notification_payload_is_position_order_and_version() -> None:
    order_id = uuid4()
    assert parse_payload(f"42 {order_id} 7") == Written(42, order_id, 7)
    assert parse_payload("junk") is None


def test_a_write_wakes_the_waiters_of_its_order_and_the_firehose_only() -> None:
    hub = Hub()
    mine, other = uuid4(), uuid4()
    waiting = hub.subscribe(ThreadWaiter(mine))
    elsewhere = hub.subscribe(ThreadWaiter(other))
    firehose = hub.subscribe(ThreadWaiter(None))
    hub.publish([Written(1, mine, 1)])
    assert (waiting.event.is_set(), elsewhere.event.is_set(), firehose.event.is_set()) == (
        True,
        False,
        True,
    )


def test_an_unsubscribed_waiter_is_no_longer_woken_nor_counted() -> None:
    hub = Hub()
    order_id = uuid4()
    waiter = hub.subscribe(ThreadWaiter(order_id))
    hub.unsubscribe(waiter)
    hub.publish([Written(1, order_id, 1)])
    assert (waiter.event.is_set(), hub.count()) == (False, 0)


def test_the_source_starts_once_with_the_first_waiter() -> None:
    started: list[Hub] = []
    hub = Hub(started.append)
    hub.subscribe(ThreadWaiter(uuid4()))
    hub.subscribe(ThreadWaiter(None))
    assert started == [hub]


def test_a_write_published_from_another_thread_wakes_a_waiting_coroutine() -> None:
    hub = Hub()
    order_id = uuid4()

    async def wait() -> bool:
        waiter = hub.subscribe(AsyncWaiter(order_id))
        threading.Timer(0.05, hub.publish, [[Written(1, order_id, 1)]]).start()
        return await waiter.wait(5)

    assert asyncio.run(wait()) is True


def test_a_waiting_coroutine_that_nothing_wakes_times_out() -> None:
    async def wait() -> bool:
        return await Hub().subscribe(AsyncWaiter(uuid4())).wait(0.05)

    assert asyncio.run(wait()) is False


def test_everyone_is_woken_when_notifications_may_have_been_missed() -> None:
    hub = Hub()
    waiters = [hub.subscribe(ThreadWaiter(uuid4())) for _ in range(3)]
    hub.publish_everyone()
    assert all(w.event.is_set() for w in waiters)
