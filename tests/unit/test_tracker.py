"""The OrderTracker application on the in-memory store."""

from __future__ import annotations

from uuid import uuid4

import pytest

from orders.domain import Status
from orders.tracker import OrderNotFoundError, OrderTracker


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
