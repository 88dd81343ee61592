"""Error answers become typed exceptions; 429, 503 and lost connections are retried, bounded."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from async_rest_client import (
    Client,
    NetworkError,
    NotFound,
    ProblemError,
    ServerError,
    ServiceUnavailable,
    TooManyRequests,
)
from async_rest_client.protocol import retry_after
from tests.unit.client.conftest import (
    ORDER_ID,
    ORDER_PATH,
    FakeTime,
    Scripted,
    order_json,
    problem,
    status_answer,
)

CANCEL_PATH = ORDER_PATH + "cancel/"


def test_a_problem_answer_raises_the_exception_of_its_status_with_its_fields(
    client: Client, server: Scripted
) -> None:
    server.on("GET", ORDER_PATH, problem(404, "Not Found", f"No order {ORDER_ID}.", "uuid"))
    with pytest.raises(NotFound) as caught:
        client.order(ORDER_ID)
    error = caught.value
    assert (error.status, error.title, error.detail, error.field, error.instance) == (
        404,
        "Not Found",
        f"No order {ORDER_ID}.",
        "uuid",
        "/async/",
    )


def test_a_status_without_its_own_class_is_still_a_problem_error(
    client: Client, server: Scripted
) -> None:
    server.on("GET", ORDER_PATH, problem(418, "I'm a Teapot", "No coffee."))
    with pytest.raises(ProblemError) as caught:
        client.order(ORDER_ID)
    assert (type(caught.value), caught.value.status) == (ProblemError, 418)


def test_an_error_answer_that_is_not_problem_json_keeps_its_text_as_detail(
    client: Client, server: Scripted
) -> None:
    proxy_page = httpx.Response(
        502, text="<h1>Bad gateway</h1>", headers={"Content-Type": "text/html"}
    )
    server.on("GET", ORDER_PATH, proxy_page)
    with pytest.raises(ServerError) as caught:
        client.order(ORDER_ID)
    assert (caught.value.title, caught.value.detail) == ("Bad Gateway", "<h1>Bad gateway</h1>")


def test_every_request_carries_the_token(client: Client, server: Scripted) -> None:
    server.on("GET", ORDER_PATH, status_answer(order_json()))
    client.order(ORDER_ID)
    assert server.requests[0].headers["Authorization"] == "Token secret"


def test_a_503_is_retried_after_its_retry_after(
    client: Client, server: Scripted, fake_time: FakeTime
) -> None:
    server.on(
        "GET",
        ORDER_PATH,
        problem(503, "Service Unavailable", "The order store is unreachable.", Retry_After="5"),
        status_answer(order_json()),
    )
    order = client.order(ORDER_ID)
    assert (order.state.status, fake_time.slept) == ("running", [5.0])


def test_a_429_is_retried_after_its_retry_after(
    client: Client, server: Scripted, fake_time: FakeTime
) -> None:
    server.on(
        "POST",
        "/async/regina/order/",
        problem(429, "Too Many Requests", "Request was throttled.", Retry_After="2"),
        httpx.Response(302, json=order_json("queued", 0, 1), headers={"Location": "/x/"}),
    )
    client.place("regina")
    assert fake_time.slept == [2.0]


def test_retry_after_may_be_an_http_date() -> None:
    now = datetime(2026, 12, 1, 8, 0, 0, tzinfo=UTC)
    headers = {"Retry-After": "Tue, 01 Dec 2026 08:00:07 GMT"}
    assert retry_after(headers, now) == 7.0


def test_without_retry_after_the_wait_doubles_each_time(
    client: Client, server: Scripted, fake_time: FakeTime
) -> None:
    unavailable = problem(503, "Service Unavailable", "Down.")
    server.on("GET", ORDER_PATH, unavailable, unavailable, unavailable)
    server.on("GET", ORDER_PATH, status_answer(order_json()))
    client.order(ORDER_ID)
    assert fake_time.slept == [0.5, 1.0, 2.0]


def test_retrying_stops_after_the_last_attempt_and_raises_the_last_problem(
    client: Client, server: Scripted, fake_time: FakeTime
) -> None:
    unavailable = problem(503, "Service Unavailable", "Down.", Retry_After="1")
    server.on("GET", ORDER_PATH, *[unavailable] * 4)
    with pytest.raises(ServiceUnavailable):
        client.order(ORDER_ID)
    assert (len(server.requests), fake_time.slept) == (4, [1.0, 1.0, 1.0])


def test_a_retry_after_beyond_the_retry_budget_is_raised_at_once(
    client: Client, server: Scripted, fake_time: FakeTime
) -> None:
    server.on(
        "GET", ORDER_PATH, problem(429, "Too Many Requests", "Slow down.", Retry_After="3600")
    )
    with pytest.raises(TooManyRequests) as caught:
        client.order(ORDER_ID)
    assert (fake_time.slept, caught.value.headers["Retry-After"]) == ([], "3600")


def test_other_errors_are_not_retried(client: Client, server: Scripted) -> None:
    server.on("GET", ORDER_PATH, problem(404, "Not Found", "No order.", "uuid"))
    with pytest.raises(NotFound):
        client.order(ORDER_ID)
    assert len(server.requests) == 1


def test_a_get_whose_connection_dropped_before_its_answer_is_sent_again(
    client: Client, server: Scripted
) -> None:
    dropped = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    server.on("GET", ORDER_PATH, dropped, status_answer(order_json()))
    assert client.order(ORDER_ID).state.status == "running"


def test_a_cancel_is_not_sent_again_once_its_connection_was_lost_after_sending(
    client: Client, server: Scripted
) -> None:
    server.on("GET", ORDER_PATH, status_answer(order_json()))
    server.on("POST", CANCEL_PATH, httpx.ReadError("connection reset"))
    order = client.order(ORDER_ID)
    with pytest.raises(NetworkError):
        order.cancel()
    assert len(server.sent("POST", CANCEL_PATH)) == 1


def test_a_cancel_is_sent_again_when_no_connection_could_be_made(
    client: Client, server: Scripted
) -> None:
    server.on("GET", ORDER_PATH, status_answer(order_json()))
    server.on(
        "POST",
        CANCEL_PATH,
        httpx.ConnectError("connection refused"),
        httpx.Response(202, json=order_json(cancel_requested=True)),
    )
    assert client.order(ORDER_ID).cancel().cancel_requested is True


def test_a_lasting_network_failure_raises_network_error_from_the_httpx_error(
    client: Client, server: Scripted
) -> None:
    server.on("GET", ORDER_PATH, *[httpx.ConnectError("connection refused")] * 4)
    with pytest.raises(NetworkError) as caught:
        client.order(ORDER_ID)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(server.requests) == 4
