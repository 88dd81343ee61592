"""Placing an order: one Idempotency-Key per order, kept across retries; the 302 read as is."""

from __future__ import annotations

import json
from uuid import UUID

import httpx
import pytest

from async_rest_client import Client, UnexpectedAnswer
from tests.unit.client.conftest import (
    ORDER_PATH,
    ORDER_URL,
    Scripted,
    etag,
    order_json,
    placed_answer,
    problem,
    status_answer,
)

PLACE_PATH = "/async/regina/order/"


def keys_sent(server: Scripted) -> list[str]:
    return [r.headers["Idempotency-Key"] for r in server.sent("POST", PLACE_PATH)]


def test_placing_reads_the_order_from_the_302_without_following_it(
    client: Client, server: Scripted
) -> None:
    server.on("POST", PLACE_PATH, placed_answer(order_json("queued", 0, 1)))
    order = client.place("regina", {"steps": 10})
    assert (order.state.status, order.url, len(server.requests)) == ("queued", ORDER_URL, 1)


def test_placing_sends_the_context_as_the_body(client: Client, server: Scripted) -> None:
    server.on("POST", PLACE_PATH, placed_answer(order_json("queued", 0, 1)))
    client.place("regina", {"steps": 10})
    assert json.loads(server.requests[0].content) == {"context": {"steps": 10}}


def test_each_order_placed_gets_a_new_random_key(client: Client, server: Scripted) -> None:
    server.on("POST", PLACE_PATH, *[placed_answer(order_json("queued", 0, 1))] * 2)
    client.place("regina")
    client.place("regina")
    first, second = keys_sent(server)
    assert first != second and UUID(first).version == UUID(second).version == 4


def test_a_key_given_by_the_caller_is_the_one_sent(client: Client, server: Scripted) -> None:
    server.on("POST", PLACE_PATH, placed_answer(order_json("queued", 0, 1)))
    order = client.place("regina", idempotency_key="import-2026-12-01")
    assert (keys_sent(server), order.key) == (["import-2026-12-01"], "import-2026-12-01")


def test_a_post_whose_answer_was_lost_is_sent_again_with_the_same_key(
    client: Client, server: Scripted
) -> None:
    server.on(
        "POST",
        PLACE_PATH,
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        placed_answer(order_json("queued", 0, 1), Idempotent_Replayed="true"),
    )
    order = client.place("regina")
    first, second = keys_sent(server)
    assert (first == second, order.replayed) == (True, True)


def test_a_post_whose_key_the_server_is_still_handling_is_retried_after_retry_after(
    client: Client, server: Scripted
) -> None:
    in_flight = problem(409, "Conflict", "Still being handled.", "Idempotency-Key", Retry_After="1")
    server.on("POST", PLACE_PATH, in_flight, placed_answer(order_json("queued", 0, 1)))
    assert client.place("regina").state.status == "queued"


def test_a_replay_holding_only_the_uuid_is_completed_by_reading_the_location(
    client: Client, server: Scripted
) -> None:
    partial = placed_answer({"uuid": order_json()["uuid"]}, Idempotent_Replayed="true")
    server.on("POST", PLACE_PATH, partial)
    server.on("GET", ORDER_PATH, status_answer(order_json("running", 40, 6)))
    order = client.place("regina")
    assert (order.state.progress, order.etag) == (40, etag(6))


def test_an_answer_to_the_post_that_is_not_a_redirect_is_unexpected(
    client: Client, server: Scripted
) -> None:
    server.on("POST", PLACE_PATH, httpx.Response(200, json=order_json("queued", 0, 1)))
    with pytest.raises(UnexpectedAnswer):
        client.place("regina")


def test_the_resource_name_is_escaped_in_the_url(client: Client, server: Scripted) -> None:
    server.on("POST", "/async/a b/c/order/", placed_answer(order_json("queued", 0, 1)))
    client.place("a b/c")
    assert server.requests[0].url.raw_path == b"/async/a%20b%2Fc/order/"


def test_a_base_url_that_already_ends_with_the_api_root_is_not_doubled(server: Scripted) -> None:
    server.on("POST", PLACE_PATH, placed_answer(order_json("queued", 0, 1)))
    with Client("http://orders.test/async/", transport=httpx.MockTransport(server)) as client:
        client.place("regina")
    assert str(server.requests[0].url) == "http://orders.test/async/regina/order/"
