"""Reading orders: refresh, replay at a version or moment, history and the list over every page."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from async_rest_client import Client, Conflict, RemoteOrder
from tests.unit.client.conftest import (
    BASE,
    ORDER_ID,
    ORDER_PATH,
    ORDER_URL,
    Scripted,
    etag,
    order_json,
    problem,
    status_answer,
)

HISTORY_PATH = ORDER_PATH + "history/"


@pytest.fixture
def order(client: Client, server: Scripted) -> RemoteOrder:
    server.on("GET", ORDER_PATH, status_answer(order_json()))
    read = client.order(ORDER_ID)
    server.requests.clear()
    return read


def event(version: int, kind: str, **fields: object) -> dict[str, object]:
    return {"version": version, "type": kind, "timestamp": "2026-12-01T08:09:30+00:00", **fields}


def test_refresh_reads_the_newer_state(order: RemoteOrder, server: Scripted) -> None:
    server.on("GET", ORDER_PATH, status_answer(order_json("running", 70, 8)))
    assert (order.refresh().progress, order.etag) == (70, etag(8))


def test_refresh_answered_304_keeps_the_state(order: RemoteOrder, server: Scripted) -> None:
    server.on("GET", ORDER_PATH, httpx.Response(304, headers={"ETag": etag(5)}))
    assert order.refresh() is order.state


def test_an_order_can_be_named_by_its_url(client: Client, server: Scripted) -> None:
    server.on("GET", ORDER_PATH, status_answer(order_json()))
    assert client.order(ORDER_URL).id.hex == ORDER_ID.replace("-", "")


def test_an_order_id_that_is_not_a_uuid_is_refused_before_any_request(
    client: Client, server: Scripted
) -> None:
    with pytest.raises(ValueError):
        client.order("not-a-uuid")
    assert server.requests == []


def test_at_a_version_asks_for_that_version(order: RemoteOrder, server: Scripted) -> None:
    server.on(
        "GET", ORDER_PATH, httpx.Response(200, json=order_json("queued", 0, 3, replayed_version=3))
    )
    replayed = order.at(version=3)
    assert (server.requests[0].url.params["version"], replayed.replayed_version) == ("3", 3)


def test_at_a_moment_sends_it_in_iso_8601(order: RemoteOrder, server: Scripted) -> None:
    server.on("GET", ORDER_PATH, httpx.Response(200, json=order_json(replayed_version=4)))
    order.at(moment=datetime(2026, 12, 1, 8, 9, 31, tzinfo=UTC))
    assert server.requests[0].url.params["at"] == "2026-12-01T08:09:31+00:00"


def test_at_takes_exactly_one_of_version_and_moment(order: RemoteOrder) -> None:
    with pytest.raises(ValueError):
        order.at()


def test_cancel_sends_the_reason_and_returns_the_new_state(
    order: RemoteOrder, server: Scripted
) -> None:
    server.on(
        "POST", ORDER_PATH + "cancel/", httpx.Response(202, json=order_json(cancel_requested=True))
    )
    state = order.cancel("changed my mind")
    assert (server.requests[0].content, state.cancel_requested) == (
        b'{"reason":"changed my mind"}',
        True,
    )


def test_cancelling_an_ended_order_is_a_conflict_naming_the_status(
    order: RemoteOrder, server: Scripted
) -> None:
    ended = problem(409, "Conflict", "The order is completed.", "status")
    server.on("POST", ORDER_PATH + "cancel/", ended)
    with pytest.raises(Conflict) as caught:
        order.cancel()
    assert caught.value.field == "status"


def test_history_iterates_every_page(order: RemoteOrder, server: Scripted) -> None:
    first = {
        "count": 3,
        "next": f"{BASE}{HISTORY_PATH}?page=2&page_size=2",
        "previous": None,
        "results": [event(1, "Queued", resource_name="regina"), event(2, "Started", attempt=1)],
    }
    last = {
        "count": 3,
        "next": None,
        "previous": None,
        "results": [event(3, "Progressed", percent=10)],
    }
    server.on("GET", HISTORY_PATH, httpx.Response(200, json=first), httpx.Response(200, json=last))
    events = list(order.history(page_size=2))
    assert [(e.version, e.type) for e in events] == [
        (1, "Queued"),
        (2, "Started"),
        (3, "Progressed"),
    ]
    assert str(server.requests[1].url).endswith("?page=2&page_size=2")


def test_orders_iterate_every_cursor_page_with_the_filters(
    client: Client, server: Scripted
) -> None:
    next_page = f"{BASE}/async/orders/?cursor=cD0y&status=running"
    server.on(
        "GET",
        "/async/orders/",
        httpx.Response(200, json={"next": next_page, "previous": None, "results": [order_json()]}),
        httpx.Response(200, json={"next": None, "previous": None, "results": [order_json()]}),
    )
    listed = list(client.orders(status="running", resource="regina", page_size=1))
    first, second = server.requests
    assert (len(listed), dict(first.url.params), str(second.url)) == (
        2,
        {"status": "running", "resource": "regina", "page_size": "1"},
        next_page,
    )


def test_a_listed_order_can_be_followed_without_reading_it_again(
    client: Client, server: Scripted
) -> None:
    server.on(
        "GET",
        "/async/orders/",
        httpx.Response(200, json={"next": None, "previous": None, "results": [order_json()]}),
    )
    listed = next(client.orders())
    assert (client.order(listed).state, len(server.requests)) == (listed, 1)
