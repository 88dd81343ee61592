"""order_task and fail_on_error: what a task body gets and what it records."""

from __future__ import annotations

import pytest

from orders.application.tracker import OrderTracker
from orders.domain.order import Status
from orders.task_api import OrderHandle, fail_on_error, order_task


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


def test_a_duplicate_message_for_a_started_order_does_not_run(
    memory_tracker: OrderTracker,
) -> None:
    runs: list[str] = []

    def body(order: OrderHandle) -> None:
        runs.append("ran")
        # While it runs, a relay's duplicate message for the same order arrives.
        task(str(order.id), "second-dispatch")
        order.complete("/done/")

    task = order_task(body)
    order_id = memory_tracker.place("regina", {}, owner=None)
    task(str(order_id), "first-dispatch")
    assert runs == ["ran"]


def test_a_redelivered_message_resumes_the_order_as_a_new_attempt(
    memory_tracker: OrderTracker,
) -> None:
    order_id = memory_tracker.place("regina", {}, owner=None)
    memory_tracker.start(order_id, "dead-worker", "d1")  # its worker was killed
    order_task(lambda order: "/done/")(str(order_id), "d1")
    order = memory_tracker.get_order(order_id)
    assert (order.status, order.attempt) == (Status.COMPLETED, 2)


def test_a_cancelled_queued_order_never_runs_its_body(memory_tracker: OrderTracker) -> None:
    runs: list[str] = []

    def body(order: OrderHandle) -> str:
        runs.append("ran")
        return "/x/"

    order_id = memory_tracker.place("regina", {}, owner=None)
    memory_tracker.cancel(order_id, "changed my mind")
    order_task(body)(str(order_id))
    assert runs == []
    assert event_types(memory_tracker, order_id) == ["Queued", "Cancelled"]


def test_a_running_order_stops_at_its_next_progress_report_once_cancelled(
    memory_tracker: OrderTracker,
) -> None:
    reached: list[int] = []

    def body(order: OrderHandle) -> None:
        for percent in range(10, 101, 10):
            if percent == 30:
                memory_tracker.cancel(order.id, "stop")
            with fail_on_error(order, "not this"):
                order.progress(percent)
            reached.append(percent)
        order.complete("/never/")

    order_id = memory_tracker.place("regina", {}, owner=None)
    order_task(body)(str(order_id))
    assert reached == [10, 20]
    assert memory_tracker.get_order(order_id).status == Status.CANCELLED
    assert event_types(memory_tracker, order_id)[-2:] == ["CancelRequested", "Cancelled"]


def test_an_error_celery_will_retry_is_recorded_as_a_retry_then_fails_on_the_last(
    memory_tracker: OrderTracker,
) -> None:
    from celery import Celery

    app = Celery("unit", set_as_current=False)
    app.conf.task_always_eager = True

    @app.task(autoretry_for=(OutOfDoughError,), max_retries=2, retry_backoff=False)
    @order_task
    def flaky(order: OrderHandle) -> None:
        raise OutOfDoughError("oven cold")

    order_id = memory_tracker.place("regina", {}, owner=None)
    flaky.apply(args=[str(order_id)])
    events = memory_tracker.order_events(order_id)
    assert [type(e).__name__ for e in events] == [
        "Queued",
        "Started",
        "Retried",
        "Started",
        "Retried",
        "Started",
        "Failed",
    ]
    assert [e.attempt for e in events if type(e).__name__ == "Retried"] == [1, 2]
    assert memory_tracker.get_order(order_id).message == "oven cold"


def test_order_retry_records_the_reason_before_celery_runs_the_task_again(
    memory_tracker: OrderTracker,
) -> None:
    from celery import Celery

    app = Celery("unit", set_as_current=False)
    app.conf.task_always_eager = True
    attempts: list[int] = []

    @app.task(max_retries=3)
    @order_task
    def warm_up(order: OrderHandle) -> str:
        attempts.append(order.state.attempt)
        if len(attempts) < 2:
            order.retry("oven not hot yet", countdown=0)
        return "/pizzas/warm/"

    order_id = memory_tracker.place("regina", {}, owner=None)
    warm_up.apply(args=[str(order_id)])
    events = memory_tracker.order_events(order_id)
    assert [type(e).__name__ for e in events] == [
        "Queued", "Started", "Retried", "Started", "Completed",
    ]  # fmt: skip
    assert (attempts, events[2].reason) == ([1, 2], "oven not hot yet")
