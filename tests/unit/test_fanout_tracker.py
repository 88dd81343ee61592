"""Fan-out across streams on the in-memory store: children placed, their ends told, cascades."""

from __future__ import annotations

from uuid import UUID

import pytest

from orders.application import fanout
from orders.application.tracker import OrderTracker
from orders.domain.errors import CancelRequestedError
from orders.domain.family import ALL_SETTLED
from orders.domain.order import Status, event_type


@pytest.fixture
def parent_id(memory_tracker: OrderTracker) -> UUID:
    order_id = memory_tracker.place("album", {"photos": 3}, owner="7")
    memory_tracker.start(order_id, "w")
    return order_id


def types(tracker: OrderTracker, order_id: UUID) -> list[str]:
    return [event_type(e) for e in tracker.order_events(order_id)]


def run_to_end(tracker: OrderTracker, order_id: UUID) -> None:
    tracker.start(order_id, "w")
    tracker.complete(order_id, f"/done/{order_id}/")


def test_a_spawned_child_is_queued_with_its_parent_and_weight(
    memory_tracker: OrderTracker, parent_id: UUID
) -> None:
    child_id = memory_tracker.spawn(parent_id, "resize", {"photo": 1}, weight=3)
    child = memory_tracker.get_order(child_id)
    assert (types(memory_tracker, child_id), child.parent_id, child.weight, child.owner) == (
        ["Queued", "Spawned"],
        str(parent_id),
        3,
        "7",
    )


def test_the_parent_records_each_child_it_spawns(
    memory_tracker: OrderTracker, parent_id: UUID
) -> None:
    child_id = memory_tracker.spawn(parent_id, "resize", {})
    parent = memory_tracker.get_order(parent_id)
    assert parent.family is not None and list(parent.family.open) == [str(child_id)]


def test_a_refused_child_is_never_placed(memory_tracker: OrderTracker, parent_id: UUID) -> None:
    memory_tracker.cancel(parent_id)
    before = len(list(memory_tracker.recorder.select_notifications(1, 1000)))
    with pytest.raises(CancelRequestedError):
        memory_tracker.spawn(parent_id, "resize", {})
    assert len(list(memory_tracker.recorder.select_notifications(1, 1000))) == before


def test_a_childs_end_is_an_event_of_its_parent(
    memory_tracker: OrderTracker, parent_id: UUID
) -> None:
    child_id = memory_tracker.spawn(parent_id, "resize", {})
    run_to_end(memory_tracker, child_id)
    assert types(memory_tracker, parent_id)[-1] == "ChildEnded"


def test_the_parent_completes_when_its_task_returned_and_its_children_ended(
    memory_tracker: OrderTracker, parent_id: UUID
) -> None:
    children = [memory_tracker.spawn(parent_id, "resize", {}) for _ in range(3)]
    memory_tracker.await_children(parent_id, "/albums/1/")
    for child_id in children:
        run_to_end(memory_tracker, child_id)
    parent = memory_tracker.get_order(parent_id)
    assert (parent.status, parent.resource_url) == (Status.COMPLETED, "/albums/1/")


def test_a_failed_child_fails_the_parent_and_cancels_its_siblings(
    memory_tracker: OrderTracker, parent_id: UUID
) -> None:
    first, second, third = (memory_tracker.spawn(parent_id, "resize", {}) for _ in range(3))
    memory_tracker.start(first, "w")
    memory_tracker.start(second, "w")
    memory_tracker.fail(first, "corrupt photo")
    states = [memory_tracker.get_order(i) for i in (parent_id, second, third)]
    assert [(s.status, s.cancel_requested) for s in states] == [
        (Status.FAILED, False),
        (Status.RUNNING, True),  # asked to stop: its task ends it at its next report
        (Status.CANCELLED, True),
    ]


def test_cancelling_a_parent_cancels_its_children(
    memory_tracker: OrderTracker, parent_id: UUID
) -> None:
    children = [memory_tracker.spawn(parent_id, "resize", {}) for _ in range(2)]
    memory_tracker.await_children(parent_id)
    memory_tracker.cancel(parent_id, "no longer wanted")
    statuses = [memory_tracker.get_order(i).status for i in (parent_id, *children)]
    assert statuses == [Status.CANCELLED] * 3


def test_all_settled_waits_for_every_child_and_completes(
    memory_tracker: OrderTracker, parent_id: UUID
) -> None:
    first, second = (
        memory_tracker.spawn(parent_id, "resize", {}, policy=ALL_SETTLED) for _ in "ab"
    )
    memory_tracker.await_children(parent_id)
    memory_tracker.start(first, "w")
    memory_tracker.fail(first, "corrupt")
    assert memory_tracker.get_order(parent_id).status is Status.RUNNING
    run_to_end(memory_tracker, second)
    assert memory_tracker.get_order(parent_id).status is Status.COMPLETED


def test_settle_records_the_ends_a_crash_left_untold(
    memory_tracker: OrderTracker, parent_id: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    child_id = memory_tracker.spawn(parent_id, "resize", {})
    memory_tracker.await_children(parent_id)
    with monkeypatch.context() as crashed:  # the process died right after the child's save
        crashed.setattr(fanout, "follow_up", lambda tracker, order, events: None)
        run_to_end(memory_tracker, child_id)
    assert memory_tracker.get_order(parent_id).status is Status.RUNNING
    assert fanout.settle(memory_tracker, parent_id) == 1
    assert memory_tracker.get_order(parent_id).status is Status.COMPLETED
