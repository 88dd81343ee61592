"""Fan-out rules of the Order aggregate: children, their ends, the parent's policy."""

from __future__ import annotations

import pytest

from orders.domain.errors import CancelRequestedError, InvalidTransitionError
from orders.domain.family import ALL_SETTLED, FAIL_FAST, SpawnRejectedError
from orders.domain.order import Order, Status


@pytest.fixture
def parent() -> Order:
    order = Order(resource_name="album", context={}, owner="7")
    order.start("worker-1")
    return order


def with_children(
    order: Order, policy: str = FAIL_FAST, weights: tuple[int, ...] = (1, 1)
) -> Order:
    for i, weight in enumerate(weights):
        order.spawn_child(f"c{i}", "resize", weight, policy)
    return order


def test_a_parent_keeps_its_open_children_and_their_weights(parent: Order) -> None:
    with_children(parent, weights=(2, 3))
    assert parent.family is not None
    assert (dict(parent.family.open), parent.family.weight, parent.family.count) == (
        {"c0": 2, "c1": 3},
        5,
        2,
    )


def test_a_parent_stays_running_while_its_returned_task_awaits_children(parent: Order) -> None:
    with_children(parent)
    parent.await_children("")
    assert (parent.status, parent.is_awaiting_children) == (Status.RUNNING, True)


def test_the_last_child_to_complete_completes_an_awaiting_parent(parent: Order) -> None:
    with_children(parent)
    parent.await_children("/albums/1/")
    parent.record_child_ended("c0", "completed", "")
    parent.record_child_ended("c1", "completed", "")
    assert (parent.status, parent.resource_url, parent.progress) == (
        Status.COMPLETED,
        "/albums/1/",
        100,
    )


def test_children_ending_before_the_task_returns_wait_for_it(parent: Order) -> None:
    with_children(parent)
    parent.record_child_ended("c0", "completed", "")
    parent.record_child_ended("c1", "completed", "")
    assert parent.status is Status.RUNNING
    parent.await_children("")
    assert parent.status is Status.COMPLETED


def test_fail_fast_fails_the_parent_at_the_first_child_that_fails(parent: Order) -> None:
    with_children(parent, FAIL_FAST)
    parent.record_child_ended("c0", "failed", "disk full")
    assert (parent.status, parent.error_type, parent.message) == (
        Status.FAILED,
        "ChildFailed",
        "child order c0 failed: disk full",
    )


def test_all_settled_completes_the_parent_however_its_children_ended(parent: Order) -> None:
    with_children(parent, ALL_SETTLED)
    parent.await_children("")
    parent.record_child_ended("c0", "failed", "disk full")
    parent.record_child_ended("c1", "cancelled", "")
    assert parent.family is not None
    assert (parent.status, parent.family.failed, parent.family.ended) == (Status.COMPLETED, 2, 2)


def test_a_childs_end_is_recorded_once(parent: Order) -> None:
    with_children(parent)
    parent.record_child_ended("c0", "completed", "")
    parent.collect_events()
    parent.record_child_ended("c0", "completed", "")
    assert parent.collect_events() == []


def test_the_end_of_an_unknown_child_is_moot(parent: Order) -> None:
    with_children(parent)
    parent.collect_events()
    parent.record_child_ended("stranger", "failed", "")
    assert (parent.collect_events(), parent.status) == ([], Status.RUNNING)


def test_a_child_end_after_the_parent_ended_is_moot(parent: Order) -> None:
    with_children(parent)
    parent.record_child_ended("c0", "failed", "")
    parent.collect_events()
    parent.record_child_ended("c1", "cancelled", "")
    assert parent.collect_events() == []


def test_a_child_does_not_spawn_children() -> None:
    child = Order(resource_name="resize", context={}, owner="7")
    child.spawned_by("parent-id", 1)
    child.start("worker-1")
    with pytest.raises(InvalidTransitionError):
        child.spawn_child("c0", "resize", 1, FAIL_FAST)


def test_a_parent_with_a_cancel_request_spawns_nothing(parent: Order) -> None:
    parent.cancel()
    with pytest.raises(CancelRequestedError):
        parent.spawn_child("c0", "resize", 1, FAIL_FAST)


def test_a_parent_whose_task_returned_spawns_nothing(parent: Order) -> None:
    with_children(parent)
    parent.await_children("")
    with pytest.raises(InvalidTransitionError):
        parent.spawn_child("c9", "resize", 1, FAIL_FAST)


def test_the_policy_is_the_first_childs(parent: Order) -> None:
    with_children(parent, FAIL_FAST)
    with pytest.raises(SpawnRejectedError) as refused:
        parent.spawn_child("c9", "resize", 1, ALL_SETTLED)
    assert refused.value.field == "policy"


@pytest.mark.parametrize("weight", [0, -1, 1_000_001, 1.5, True, "2", None])
def test_a_weight_out_of_bounds_is_refused_by_name(parent: Order, weight: object) -> None:
    with pytest.raises(SpawnRejectedError) as refused:
        parent.spawn_child("c0", "resize", weight, FAIL_FAST)  # type: ignore[arg-type]
    assert refused.value.field == "weight"


@pytest.mark.parametrize("policy", ["", "FAIL_FAST", "any", None])
def test_an_unknown_policy_is_refused_by_name(parent: Order, policy: object) -> None:
    with pytest.raises(SpawnRejectedError) as refused:
        parent.spawn_child("c0", "resize", 1, policy)  # type: ignore[arg-type]
    assert refused.value.field == "policy"


def test_cancelling_an_awaiting_parent_ends_it_at_once(parent: Order) -> None:
    with_children(parent)
    parent.await_children("")
    parent.cancel("enough")
    assert parent.status is Status.CANCELLED


def test_children_ending_under_a_cancel_request_do_not_fail_the_parent(parent: Order) -> None:
    with_children(parent, FAIL_FAST)
    parent.cancel()
    parent.record_child_ended("c0", "cancelled", "parent order running")
    assert (parent.status, parent.cancel_requested) == (Status.RUNNING, True)


def test_a_parent_task_returning_under_a_cancel_request_ends_cancelled(parent: Order) -> None:
    with_children(parent)
    parent.cancel()
    parent.await_children("")
    assert parent.status is Status.CANCELLED


def test_a_parent_is_recorded_only_with_queued() -> None:
    child = Order(resource_name="resize", context={}, owner=None)
    child.start("worker-1")
    with pytest.raises(InvalidTransitionError):
        child.spawned_by("parent-id", 1)


def test_a_replayed_parent_has_the_same_family(parent: Order) -> None:
    with_children(parent, ALL_SETTLED, (2, 5))
    parent.record_child_ended("c1", "failed", "x")
    events = parent.collect_events()
    replayed = None
    for e in events:
        replayed = e.mutate(replayed)
    assert replayed is not None and replayed.family == parent.family


def test_completing_a_parent_with_open_children_waits_for_them(parent: Order) -> None:
    with_children(parent)
    parent.complete("/albums/1/")
    assert (parent.status, parent.is_awaiting_children) == (Status.RUNNING, True)


def test_a_parent_already_awaiting_its_children_records_it_once(parent: Order) -> None:
    with_children(parent)
    parent.complete("/albums/1/")
    parent.collect_events()
    parent.await_children("")
    assert (parent.collect_events(), parent.family.resource_url) == ([], "/albums/1/")  # type: ignore[union-attr]
