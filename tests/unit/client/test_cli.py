"""The command line's exit statuses and output, against scripted answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from async_rest_client.cli import CANCELLED, FAILED, OK, PROBLEM, TIMEOUT, main
from async_rest_client.waiting import Polling
from tests.unit.client.conftest import (
    BASE,
    ORDER_ID,
    ORDER_PATH,
    FakeTime,
    Scripted,
    order_json,
    placed_answer,
    problem,
    status_answer,
)


@pytest.fixture
def options(server: Scripted, fake_time: FakeTime) -> dict[str, Any]:
    return {
        "transport": httpx.MockTransport(server),
        "sleep": fake_time.sleep,
        "clock": fake_time.clock,
        "waiting": Polling(),
    }


def place_and_wait(server: Scripted, options: dict[str, Any], final: dict[str, Any]) -> int:
    server.on("POST", "/async/regina/order/", placed_answer(order_json("queued", 0, 1)))
    server.on("GET", ORDER_PATH, status_answer(final))
    argv = ["--base-url", BASE, "place", "regina", "--context", '{"steps": 2}', "--wait"]
    return main([*argv, "--no-progress"], **options)


def test_a_completed_order_exits_0_and_prints_the_resource_url(
    server: Scripted, options: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code = place_and_wait(server, options, order_json("completed", 100, 9))
    assert (code, capsys.readouterr().out) == (OK, f"{BASE}/pizzeria/pizzas/1/\n")


def test_a_failed_order_exits_1_saying_why(
    server: Scripted, options: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    failure = {"message": "No more ingredients", "type": "OutOfIngredientsError"}
    code = place_and_wait(server, options, order_json("failed", 0, 4, error=failure))
    assert code == FAILED
    assert "failed (OutOfIngredientsError): No more ingredients" in capsys.readouterr().err


def test_a_cancelled_order_exits_2(server: Scripted, options: dict[str, Any]) -> None:
    assert place_and_wait(server, options, order_json("cancelled", 30, 6)) == CANCELLED


def test_a_wait_past_its_timeout_exits_3(server: Scripted, options: dict[str, Any]) -> None:
    server.on("GET", ORDER_PATH, *[status_answer(order_json())] * 2)
    argv = ["--base-url", BASE, "wait", ORDER_ID, "--timeout", "0.5", "--no-progress"]
    assert main(argv, **options) == TIMEOUT


def test_a_refused_request_exits_4_with_the_problem(
    server: Scripted, options: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    server.on("GET", ORDER_PATH, problem(404, "Not Found", f"No order {ORDER_ID}.", "uuid"))
    assert main(["--base-url", BASE, "status", ORDER_ID], **options) == PROBLEM
    assert "(field: uuid)" in capsys.readouterr().err


def test_a_context_that_is_not_a_json_object_is_a_usage_error_exiting_4() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["place", "regina", "--context", "[1, 2]"])
    assert caught.value.code == PROBLEM


def test_the_help_tells_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "3  --timeout passed before the order ended" in capsys.readouterr().out


def test_status_prints_one_line_about_the_order(
    server: Scripted, options: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    server.on("GET", ORDER_PATH, status_answer(order_json()))
    main(["--base-url", BASE, "status", ORDER_ID], **options)
    assert capsys.readouterr().out == (
        f"{ORDER_ID}  regina  running  30%  The pizza is in the oven  (3/10)\n"
    )
