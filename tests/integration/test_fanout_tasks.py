"""A parent task run again spawns no second children; a child whose parent ended never runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orders.application import dispatch, fanout
from orders.application.tracker import OrderTracker
from orders.domain.order import Status
from orders.task_api import OrderHandle, order_task
from tests.integration.http.conftest import HeldLauncher

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def held() -> Iterator[HeldLauncher]:
    launcher = HeldLauncher()
    dispatch.register("held-child", order_task(lambda order: "/done/"), launcher=launcher)
    yield launcher
    dispatch.unregister("held-child")


def spawn_three(order: OrderHandle) -> None:
    for _ in range(3):
        order.spawn("held-child", {})


def test_a_parent_task_run_again_gets_back_the_children_it_spawned(
    tracker: OrderTracker, held: HeldLauncher
) -> None:
    parent_id = tracker.place("album", {}, owner=None)
    run = order_task(spawn_three)
    tracker.start(parent_id, "w")
    spawn_three(OrderHandle(parent_id))  # the first attempt spawns, then its worker is lost
    tracker.retry(parent_id, "worker lost")
    run(str(parent_id))
    parent = tracker.get_order(parent_id)
    assert parent.family is not None
    assert (parent.family.count, len(held.launched), parent.is_awaiting_children) == (3, 3, True)


def test_a_child_whose_parent_ended_is_cancelled_not_run(
    tracker: OrderTracker, held: HeldLauncher, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent_id = tracker.place("album", {}, owner=None)
    tracker.start(parent_id, "w")
    child_id = tracker.spawn(parent_id, "held-child", {})
    with monkeypatch.context() as cut_short:  # the cascade's process died before this child
        cut_short.setattr(fanout, "cancel_children", lambda *args: 0)
        tracker.fail(parent_id, "gave up")
    assert tracker.get_order(child_id).status is Status.QUEUED
    order_task(lambda order: "/done/")(str(child_id))  # the relay sent it after all
    assert tracker.get_order(child_id).status is Status.CANCELLED
