"""The OrderTracker application on the in-memory store."""

from __future__ import annotations

import threading
from typing import Any
from uuid import uuid4

import pytest

from orders.application.tracker import OrderNotFoundError, OrderTracker
from orders.domain.errors import CancelRequestedError, OrderClosedError
from orders.domain.order import Status


@pytest.fixture
def order_id(memory_tracker: OrderTracker):
    order_id = memory_tracker.place("regina", {"steps": 2}, owner="1")
    memory_tracker.start(order_id, "w")
    memory_tracker.progress(order_id, 50, "half")
    memory_tracker.complete(order_id, "/pizzas/1/")
    return order_id


def test_the_state_at_an_earlier_version_is_rebuilt(memory_tracker: OrderTracker, order_id) -> None:
    at_3 = memory_tracker.get_order(order_id, version=3)
    assert (at_3.status, at_3.progress, at_3.message, at_3.version) == (
        Status.RUNNING,
        50,
        "half",
        3,
    )


def test_the_events_of_an_order_come_oldest_first(memory_tracker: OrderTracker, order_id) -> None:
    events = memory_tracker.order_events(order_id)
    assert [type(e).__name__ for e in events] == ["Queued", "Started", "Progressed", "Completed"]
    assert [e.originator_version for e in events] == [1, 2, 3, 4]


def test_an_unknown_order_is_not_found(memory_tracker: OrderTracker) -> None:
    with pytest.raises(OrderNotFoundError):
        memory_tracker.get_order(uuid4())


def test_a_version_beyond_the_stream_is_not_found(memory_tracker: OrderTracker, order_id) -> None:
    with pytest.raises(OrderNotFoundError):
        memory_tracker.get_order(order_id, version=5)


def test_listeners_get_the_saved_order_and_its_new_events(memory_tracker: OrderTracker) -> None:
    seen: list[tuple[int, list[str]]] = []
    memory_tracker.listeners.append(
        lambda tracker, order, events: seen.append(
            (order.version, [type(e).__name__ for e in events])
        )
    )
    order_id = memory_tracker.place("regina", {}, owner=None)
    memory_tracker.start(order_id, "w")
    assert seen == [(1, ["Queued"]), (2, ["Started"])]


def test_a_failing_listener_does_not_undo_the_write(memory_tracker: OrderTracker) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("read model down")

    memory_tracker.listeners.append(broken)
    order_id = memory_tracker.place("regina", {}, owner=None)
    assert memory_tracker.get_order(order_id).status == Status.QUEUED


def test_failing_only_if_unchanged_leaves_an_order_that_moved_meanwhile(
    memory_tracker: OrderTracker,
) -> None:
    order_id = memory_tracker.place("regina", {}, owner=None)
    seen = memory_tracker.start(order_id, "w").version
    memory_tracker.progress(order_id, 10)  # a sign of life after the reaper looked
    assert not memory_tracker.fail_if_unchanged(order_id, seen, "lost", "WorkerLost")
    assert memory_tracker.get_order(order_id).status == "running"


@pytest.fixture
def running_id(memory_tracker: OrderTracker):
    order_id = memory_tracker.place("regina", {"toppings": ["ham"]}, owner=None)
    memory_tracker.start(order_id, "w")
    return order_id


@pytest.fixture
def elsewhere(memory_tracker: OrderTracker) -> OrderTracker:
    """Another process's tracker: the same store, its own memory of recent orders."""
    other = OrderTracker(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    other.events = memory_tracker.events
    return other


def count_reads(tracker: OrderTracker, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    reads: list[object] = []
    read = tracker.events.get

    def counting(*args: Any, **kwargs: Any) -> Any:
        reads.append(args)
        return read(*args, **kwargs)

    monkeypatch.setattr(tracker.events, "get", counting)
    return reads


def test_a_command_on_an_order_this_process_knows_reads_nothing_first(
    memory_tracker: OrderTracker, running_id, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = count_reads(memory_tracker, monkeypatch)
    for percent in range(1, 11):
        memory_tracker.progress(running_id, percent)
    assert reads == []


def test_a_query_sees_what_another_process_wrote(
    memory_tracker: OrderTracker, elsewhere: OrderTracker, running_id
) -> None:
    elsewhere.progress(running_id, 40, "from elsewhere")
    assert memory_tracker.get_order(running_id).message == "from elsewhere"


def test_a_command_on_a_stale_state_is_run_again_on_the_latest(
    memory_tracker: OrderTracker, elsewhere: OrderTracker, running_id
) -> None:
    elsewhere.cancel(running_id, "changed my mind")  # this process has not seen it
    with pytest.raises(CancelRequestedError):
        memory_tracker.progress(running_id, 10)
    assert [type(e).__name__ for e in memory_tracker.order_events(running_id)][-1] == (
        "CancelRequested"
    )


def test_a_command_refused_on_a_stale_state_is_checked_on_the_latest(
    memory_tracker: OrderTracker, elsewhere: OrderTracker
) -> None:
    order_id = memory_tracker.place("regina", {}, owner=None)  # known here as queued
    elsewhere.start(order_id, "worker-elsewhere")
    assert memory_tracker.progress(order_id, 20).progress == 20


def test_a_refusal_on_the_latest_state_writes_nothing(
    memory_tracker: OrderTracker, running_id
) -> None:
    memory_tracker.complete(running_id, "/pizzas/1/")
    with pytest.raises(OrderClosedError):
        memory_tracker.progress(running_id, 50)
    assert memory_tracker.get_order(running_id).version == 3


def test_an_order_handed_out_shares_nothing_with_the_tracker(
    memory_tracker: OrderTracker, running_id
) -> None:
    handed = memory_tracker.get_order(running_id)
    handed.context["toppings"].append("pineapple")
    handed.report_progress(90)
    assert memory_tracker.progress(running_id, 10).context == {"toppings": ["ham"]}


def test_threads_reporting_on_one_order_lose_nothing_and_leave_no_gap(
    memory_tracker: OrderTracker, running_id
) -> None:
    def report(label: str) -> None:
        for i in range(50):
            memory_tracker.progress(running_id, 0, message=f"{label}-{i}")

    threads = [threading.Thread(target=report, args=(label,)) for label in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events = memory_tracker.order_events(running_id)
    assert sorted(e.message for e in events[2:]) == sorted(
        f"{label}-{i}" for label in "abcd" for i in range(50)
    )
    assert [e.originator_version for e in events] == list(range(1, 203))


def test_the_orders_kept_in_memory_are_bounded() -> None:
    tracker = OrderTracker(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo", "LATEST_ORDERS_MAXSIZE": "3"}
    )
    ids = [tracker.place("regina", {}, owner=None) for _ in range(5)]
    assert [tracker.latest.get(i) is not None for i in ids] == [False, False, True, True, True]


def test_listeners_run_once_the_order_is_let_go(memory_tracker: OrderTracker, running_id) -> None:
    # The catch-up pass in another thread may hold a read-model transaction while it
    # waits for this order; a listener that still held the order would wait for it.
    stuck: list[bool] = []

    def listener(tracker: OrderTracker, order: object, events: object) -> None:
        other = threading.Thread(target=tracker.get_order, args=(running_id,))
        other.start()
        other.join(timeout=10)
        stuck.append(other.is_alive())

    memory_tracker.listeners.append(listener)
    memory_tracker.progress(running_id, 10)
    assert stuck == [False]


def test_a_caller_changing_its_context_afterwards_changes_nothing(
    memory_tracker: OrderTracker,
) -> None:
    context = {"steps": 2}
    order_id = memory_tracker.place("regina", context, owner=None)
    context["steps"] = 99
    assert memory_tracker.get_order(order_id).context == {"steps": 2}


def test_a_slow_save_of_one_order_holds_up_no_other(
    memory_tracker: OrderTracker, running_id, monkeypatch: pytest.MonkeyPatch
) -> None:
    other_id = memory_tracker.place("regina", {}, owner=None)
    memory_tracker.start(other_id, "w")
    entered, release = threading.Event(), threading.Event()
    insert = memory_tracker.recorder.insert_events

    def slow_for_the_first(stored: Any, **kwargs: Any) -> Any:
        if stored[0].originator_id == running_id:
            entered.set()
            release.wait(timeout=10)
        return insert(stored, **kwargs)

    monkeypatch.setattr(memory_tracker.recorder, "insert_events", slow_for_the_first)
    writer = threading.Thread(target=memory_tracker.progress, args=(running_id, 10))
    writer.start()
    assert entered.wait(timeout=10)
    try:
        assert memory_tracker.progress(other_id, 20).progress == 20
        assert memory_tracker.get_order(other_id).version == 3
    finally:
        release.set()
        writer.join(timeout=10)
