"""Progress batching: reports that come faster than the window apart are saved together."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction

from orders import progress_batch
from orders.application.tracker import OrderTracker
from orders.domain.errors import CancelRequestedError, InvalidProgressError, OrderClosedError
from orders.domain.order import Order, Status, event_type
from orders.task_api import OrderHandle, order_task

LONG = 3600.0  # a window no test waits for: only another command saves the reports


@pytest.fixture
def saves(memory_tracker: OrderTracker) -> list[list[str]]:
    """The event types of each save the tracker makes, one list per save."""
    seen: list[list[str]] = []
    memory_tracker.listeners.append(
        lambda _t, _o, events: seen.append([event_type(e) for e in events])
    )
    return seen


def window(seconds: float) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(settings.ASYNC_REST, "PROGRESS_BATCH_WINDOW", seconds)
        yield


@pytest.fixture
def long_window() -> Iterator[None]:
    yield from window(LONG)


@pytest.fixture
def short_window() -> Iterator[None]:
    yield from window(0.05)


def started(tracker: OrderTracker) -> OrderHandle:
    handle = OrderHandle(tracker.place("import", {}, owner=None), tracker)
    handle.start("w")
    return handle


def types(tracker: OrderTracker, handle: OrderHandle) -> list[str]:
    return [event_type(e) for e in tracker.order_events(handle.id)]


def percents(tracker: OrderTracker, handle: OrderHandle) -> list[int]:
    return [e.percent for e in tracker.order_events(handle.id) if event_type(e) == "Progressed"]


def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.005)
    return result


@pytest.mark.usefixtures("long_window")
def test_a_burst_of_reports_is_saved_in_one_write_each_its_own_event(
    memory_tracker: OrderTracker, saves: list[list[str]]
) -> None:
    handle = started(memory_tracker)
    for percent in range(10, 101, 10):
        handle.progress(percent)
    handle.complete("/r/1")
    assert saves[-2:] == [["Progressed"] * 10, ["Completed"]]


@pytest.mark.usefixtures("long_window")
def test_the_reports_of_a_burst_keep_the_order_they_were_made_in(
    memory_tracker: OrderTracker,
) -> None:
    handle = started(memory_tracker)
    for percent in (5, 5, 20, 70):
        handle.progress(percent, message=f"at {percent}")
    handle.complete("/r/1")
    assert percents(memory_tracker, handle) == [5, 5, 20, 70]


@pytest.mark.usefixtures("long_window")
def test_the_task_sees_the_reports_it_made_before_they_are_saved(
    memory_tracker: OrderTracker,
) -> None:
    handle = started(memory_tracker)
    handle.progress(40, message="halfway", current=4, total=10)
    assert (handle.state.progress, handle.state.message, handle.state.current) == (
        40,
        "halfway",
        4,
    )
    assert memory_tracker.get_order(handle.id).progress == 0


@pytest.mark.usefixtures("long_window")
def test_a_report_that_goes_backwards_raises_in_the_call_and_is_not_kept(
    memory_tracker: OrderTracker,
) -> None:
    handle = started(memory_tracker)
    handle.progress(50)
    with pytest.raises(InvalidProgressError):
        handle.progress(30)
    handle.complete("/r/1")
    assert percents(memory_tracker, handle) == [50]


@pytest.mark.parametrize("percent", [-1, 101, True, 1.5, "7"])
@pytest.mark.usefixtures("long_window")
def test_a_report_that_is_not_a_percent_raises_in_the_call(
    memory_tracker: OrderTracker, percent: Any
) -> None:
    handle = started(memory_tracker)
    handle.progress(10)
    with pytest.raises(InvalidProgressError):
        handle.progress(percent)


@pytest.mark.usefixtures("short_window")
def test_a_report_made_a_window_after_the_last_save_is_saved_in_the_call(
    memory_tracker: OrderTracker, saves: list[list[str]]
) -> None:
    handle = started(memory_tracker)
    time.sleep(0.06)
    handle.progress(10)
    assert saves[-1] == ["Progressed"]


@pytest.mark.usefixtures("short_window")
def test_reports_kept_are_saved_when_the_window_ends_without_another_call(
    memory_tracker: OrderTracker,
) -> None:
    handle = started(memory_tracker)
    handle.progress(10)
    handle.progress(20)
    assert eventually(lambda: percents(memory_tracker, handle) == [10, 20])


@pytest.mark.usefixtures("short_window")
def test_a_cancel_requested_while_reports_wait_is_raised_at_the_next_report(
    memory_tracker: OrderTracker,
) -> None:
    handle = started(memory_tracker)
    handle.progress(10)
    memory_tracker.cancel(handle.id, "enough")
    time.sleep(0.06)  # the window ends: the timer's save, or else the next report's, runs into it
    with pytest.raises(CancelRequestedError):
        handle.progress(20)


@pytest.mark.parametrize(
    ("command", "recorded"),
    [
        (lambda handle: handle.complete("/r/1"), "Completed"),
        (lambda handle: handle.fail("broke"), "Failed"),
        (lambda handle: handle.record_retry("flaky"), "Retried"),
    ],
    ids=["complete", "fail", "record_retry"],
)
@pytest.mark.usefixtures("long_window")
def test_another_command_saves_the_kept_reports_first(
    memory_tracker: OrderTracker, command: Callable[[OrderHandle], Any], recorded: str
) -> None:
    handle = started(memory_tracker)
    handle.progress(60)
    command(handle)
    assert types(memory_tracker, handle)[-2:] == ["Progressed", recorded]


@pytest.mark.usefixtures("long_window")
def test_reports_that_a_cancel_request_refuses_are_dropped_and_the_work_still_completes(
    memory_tracker: OrderTracker,
) -> None:
    handle = started(memory_tracker)
    handle.progress(90)
    memory_tracker.cancel(handle.id, "too late")
    order = handle.complete("/r/1")
    assert order.status is Status.COMPLETED
    assert types(memory_tracker, handle)[-2:] == ["CancelRequested", "Completed"]


@pytest.mark.usefixtures("long_window")
def test_refresh_saves_the_kept_reports_and_reads_the_order_back(
    memory_tracker: OrderTracker,
) -> None:
    handle = started(memory_tracker)
    handle.progress(30)
    assert handle.refresh().progress == 30


@pytest.mark.usefixtures("long_window")
def test_a_task_reporting_in_a_tight_loop_saves_its_reports_in_one_write(
    memory_tracker: OrderTracker, saves: list[list[str]]
) -> None:
    @order_task
    def ten_steps(order: OrderHandle) -> str:
        for step in range(1, 11):
            order.progress(step * 10)
        return "/r/1"

    order_id = memory_tracker.place("import", {}, owner=None)
    ten_steps(str(order_id))
    assert saves == [["Queued"], ["Started"], ["Progressed"] * 10, ["Completed"]]


@pytest.mark.usefixtures("short_window")
def test_a_cancel_found_by_the_window_stops_the_task_at_its_next_report(
    memory_tracker: OrderTracker,
) -> None:
    @order_task
    def slow(order: OrderHandle) -> str:
        order.progress(1)
        memory_tracker.cancel(order.id, "stop")
        time.sleep(0.06)  # past the window: the timer's save or this report's finds it
        order.progress(2)
        return "/r/never"

    order_id = memory_tracker.place("import", {}, owner=None)
    slow(str(order_id))
    order: Order = memory_tracker.get_order(order_id)
    assert order.status is Status.CANCELLED


@pytest.mark.usefixtures("short_window")
def test_a_report_after_the_window_saves_the_kept_ones_even_if_the_timer_has_not(
    memory_tracker: OrderTracker, saves: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress_batch._timer, "call_at", lambda when, func: None)
    handle = started(memory_tracker)
    handle.progress(10)
    handle.progress(20)
    time.sleep(0.06)
    handle.progress(30)
    assert saves[-1] == ["Progressed"] * 3


@pytest.mark.usefixtures("short_window")
def test_an_order_ended_by_someone_else_while_reports_wait_is_raised_at_the_next_report(
    memory_tracker: OrderTracker,
) -> None:
    handle = started(memory_tracker)
    handle.progress(10)
    memory_tracker.fail(handle.id, "stopped by an operator")
    time.sleep(0.06)
    with pytest.raises(OrderClosedError):
        handle.progress(20)


@pytest.mark.django_db
@pytest.mark.usefixtures("long_window")
def test_a_report_made_inside_a_database_transaction_is_saved_in_the_call(
    memory_tracker: OrderTracker, saves: list[list[str]]
) -> None:
    handle = started(memory_tracker)
    with transaction.atomic():
        handle.progress(10)
    assert saves[-1] == ["Progressed"]


@pytest.mark.usefixtures("long_window")
def test_a_report_after_another_command_is_checked_on_what_that_command_saved(
    memory_tracker: OrderTracker,
) -> None:
    handle = started(memory_tracker)
    handle.progress(50)
    handle.refresh()
    handle.progress(60)
    with pytest.raises(InvalidProgressError):
        handle.progress(55)
    handle.complete("/r/1")
    assert percents(memory_tracker, handle) == [50, 60]
