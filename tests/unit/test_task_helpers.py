"""order_task and fail_on_error: what a task body gets and what it records."""

from __future__ import annotations

import pytest

from orders.domain import Status
from orders.helpers import OrderHandle, fail_on_error, order_task
from orders.tracker import OrderTracker


class OutOfDoughError(RuntimeError):
    pass


def event_types(tracker: OrderTracker, order_id) -> list[str]:
    return [type(e).__name__ for e in tracker.order_events(order_id)]


def test_a_task_records_started_then_completes_with_the_returned_url(
    memory_tracker: OrderTracker,
) -> None:
    order_id = memory_tracker.place("regina", {"size": "L"}, owner=None)
    order_task(lambda order: f"/pizzas/{order.context['size']}/")(str(order_id))
    assert event_types(memory_tracker, order_id) == ["Queued", "Started", "Completed"]
    assert memory_tracker.get_order(order_id).resource_url == "/pizzas/L/"


def test_an_unhandled_error_fails_the_order_and_is_reraised(
    memory_tracker: OrderTracker,
) -> None:
    def body(order: OrderHandle) -> None:
        raise OutOfDoughError("no dough")

    order_id = memory_tracker.place("regina", {}, owner=None)
    with pytest.raises(OutOfDoughError):
        order_task(body)(str(order_id))
    order = memory_tracker.get_order(order_id)
    assert (order.status, order.message, order.error_type) == (
        Status.FAILED,
        "no dough",
        "OutOfDoughError",
    )


def test_fail_on_error_records_its_message_type_and_traceback(
    memory_tracker: OrderTracker,
) -> None:
    def body(order: OrderHandle) -> None:
        with fail_on_error(order, "No more ingredients"):
            raise OutOfDoughError("flour: 0 kg")

    order_id = memory_tracker.place("regina", {}, owner=None)
    with pytest.raises(OutOfDoughError):
        order_task(body)(str(order_id))
    order = memory_tracker.get_order(order_id)
    assert (order.message, order.error_type) == ("No more ingredients", "OutOfDoughError")
    assert "flour: 0 kg" in (order.traceback or "")
    assert event_types(memory_tracker, order_id) == ["Queued", "Started", "Failed"]


def test_fail_on_error_lets_a_clean_block_through(memory_tracker: OrderTracker) -> None:
    order = OrderHandle(memory_tracker.place("regina", {}, owner=None), memory_tracker)
    order.start()
    with fail_on_error(order, "never"):
        order.progress(10)
    assert order.state.status == Status.RUNNING


def test_a_task_returning_without_completing_fails_the_order(
    memory_tracker: OrderTracker,
) -> None:
    def forgetful(order: OrderHandle) -> None:
        order.progress(90)

    order_id = memory_tracker.place("regina", {}, owner=None)
    order_task(forgetful)(str(order_id))
    order = memory_tracker.get_order(order_id)
    assert (order.status, order.error_type) == (Status.FAILED, "IncompleteOrder")


def test_an_order_that_already_ended_is_not_run_again(memory_tracker: OrderTracker) -> None:
    runs: list[str] = []

    def body(order: OrderHandle) -> str:
        runs.append("ran")
        return "/done/"

    task = order_task(body)
    order_id = memory_tracker.place("regina", {}, owner=None)
    task(str(order_id))
    task(str(order_id))  # a redelivered message
    assert runs == ["ran"]
    assert event_types(memory_tracker, order_id) == ["Queued", "Started", "Completed"]
