"""wait() by polling: ETags, Retry-After, the typed end of an order, the timeout, the bar."""

from __future__ import annotations

import io

import httpx
import pytest

from async_rest_client import (
    Client,
    OrderCancelled,
    OrderFailed,
    OrderTimeout,
    ProgressBar,
    RemoteOrder,
)
from tests.unit.client.conftest import (
    ORDER_ID,
    ORDER_PATH,
    FakeTime,
    Scripted,
    etag,
    order_json,
    status_answer,
)


@pytest.fixture
def running(client: Client, server: Scripted) -> RemoteOrder:
    """An order read once, running at 30% (version 5); the server's next answers are scripted."""
    server.on("GET", ORDER_PATH, status_answer(order_json()))
    order = client.order(ORDER_ID)
    server.requests.clear()
    return order


def test_wait_returns_the_completed_order(running: RemoteOrder, server: Scripted) -> None:
    server.on(
        "GET",
        ORDER_PATH,
        status_answer(order_json("running", 60, 7)),
        status_answer(order_json("completed", 100, 9)),
    )
    done = running.wait(progress=False)
    assert (done.status, done.resource_url) == (
        "completed",
        "http://orders.test/pizzeria/pizzas/1/",
    )


def test_wait_leaves_the_newest_state_on_the_order(running: RemoteOrder, server: Scripted) -> None:
    server.on("GET", ORDER_PATH, status_answer(order_json("completed", 100, 9)))
    running.wait(progress=False)
    assert (running.state.version, running.etag) == (9, etag(9))


def test_wait_polls_with_the_last_etag_and_a_304_keeps_the_state(
    running: RemoteOrder, server: Scripted
) -> None:
    server.on("GET", ORDER_PATH, status_answer(order_json("running", 60, 7)))
    server.on("GET", ORDER_PATH, httpx.Response(304, headers={"ETag": etag(7)}))
    server.on("GET", ORDER_PATH, status_answer(order_json("completed", 100, 9)))
    running.wait(progress=False)
    sent = [r.headers.get("If-None-Match") for r in server.requests]
    assert sent == [etag(5), etag(7), etag(7)]


def test_wait_sleeps_what_retry_after_says_between_polls(
    running: RemoteOrder, server: Scripted, fake_time: FakeTime
) -> None:
    server.on(
        "GET",
        ORDER_PATH,
        status_answer(order_json("running", 60, 7), Retry_After="3"),
        status_answer(order_json("running", 80, 8), Retry_After="3"),
        status_answer(order_json("completed", 100, 9)),
    )
    running.wait(progress=False)
    assert fake_time.slept == [3.0, 3.0]


def test_a_retry_after_of_zero_does_not_make_a_busy_loop(
    running: RemoteOrder, server: Scripted, fake_time: FakeTime
) -> None:
    server.on(
        "GET",
        ORDER_PATH,
        status_answer(order_json("running", 60, 7), Retry_After="0"),
        status_answer(order_json("completed", 100, 9)),
    )
    running.wait(progress=False)
    assert fake_time.slept == [0.1]


def test_a_failed_order_raises_order_failed_with_its_message_and_error_type(
    running: RemoteOrder, server: Scripted
) -> None:
    failure = {"message": "No more ingredients", "type": "OutOfIngredientsError"}
    failed = order_json("failed", 0, 4, message="No more ingredients", error=failure)
    server.on("GET", ORDER_PATH, status_answer(failed))
    with pytest.raises(OrderFailed) as caught:
        running.wait(progress=False)
    error = caught.value
    assert (error.message, error.error_type, error.order.status) == (
        "No more ingredients",
        "OutOfIngredientsError",
        "failed",
    )


def test_a_cancelled_order_raises_order_cancelled(running: RemoteOrder, server: Scripted) -> None:
    server.on("GET", ORDER_PATH, status_answer(order_json("cancelled", 30, 6)))
    with pytest.raises(OrderCancelled) as caught:
        running.wait(progress=False)
    assert caught.value.order.status == "cancelled"


def test_wait_gives_up_after_its_timeout_with_the_last_state_seen(
    running: RemoteOrder, server: Scripted, fake_time: FakeTime
) -> None:
    server.on("GET", ORDER_PATH, *[status_answer(order_json("running", 40, 6))] * 3)
    with pytest.raises(OrderTimeout) as caught:
        running.wait(timeout=2.5, progress=False)
    assert (caught.value.order.progress, fake_time.slept) == (40, [1.0, 1.0, 0.5])


def test_an_order_timeout_is_a_timeout_error(running: RemoteOrder, server: Scripted) -> None:
    server.on("GET", ORDER_PATH, status_answer(order_json("running", 40, 6)))
    with pytest.raises(TimeoutError):
        running.wait(timeout=0.5, progress=False)


def test_waiting_on_an_order_already_ended_asks_the_server_nothing(
    client: Client, server: Scripted
) -> None:
    server.on("GET", ORDER_PATH, status_answer(order_json("completed", 100, 9)))
    order = client.order(ORDER_ID)
    server.requests.clear()
    order.wait(progress=False)
    assert server.requests == []


def test_the_bar_shows_the_percent_the_message_and_the_items(
    running: RemoteOrder, server: Scripted
) -> None:
    server.on("GET", ORDER_PATH, status_answer(order_json("completed", 100, 9)))
    out = io.StringIO()
    running.wait(progress=ProgressBar(file=out))
    drawn = out.getvalue()
    assert "The pizza is in the oven:  30%" in drawn and "3/10" in drawn
    assert drawn.rstrip().endswith("10/10]")


def test_the_bar_says_the_status_while_the_order_has_no_message(
    running: RemoteOrder, server: Scripted
) -> None:
    queued = order_json("queued", 0, 1, message=None, current=None, total=None)
    server.on("GET", ORDER_PATH, status_answer(queued))
    server.on("GET", ORDER_PATH, status_answer(order_json("completed", 100, 9)))
    out = io.StringIO()
    running.wait(progress=ProgressBar(file=out))
    assert "queued:   0%" in out.getvalue()
