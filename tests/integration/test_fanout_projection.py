"""A parent's progress kept from its children's saves: weighted, once per save, rebuilt the same."""

from __future__ import annotations

from uuid import UUID

import pytest

from orders.application.tracker import OrderTracker
from projections.audit import verify
from projections.models import OrderSummary
from projections.projector import catch_up, project_saved, rebuild

pytestmark = pytest.mark.django_db


@pytest.fixture
def parent_id(tracker: OrderTracker) -> UUID:
    order_id = tracker.place("album", {}, owner="7")
    tracker.start(order_id, "w")
    return order_id


@pytest.fixture
def children(tracker: OrderTracker, parent_id: UUID) -> list[UUID]:
    ids = [tracker.spawn(parent_id, "resize", {}, weight=w) for w in (1, 3)]
    for child_id in ids:
        tracker.start(child_id, "w")
    return ids


def row(order_id: UUID) -> OrderSummary:
    return OrderSummary.objects.get(order_id=order_id)


def test_a_parents_progress_is_its_childrens_weighted(
    tracker: OrderTracker, parent_id: UUID, children: list[UUID]
) -> None:
    light, heavy = children
    tracker.progress(light, 100)
    tracker.progress(heavy, 20)
    assert (row(parent_id).progress, row(parent_id).children_progress) == (40, 160)


def test_a_childs_progress_moves_its_parent_by_the_difference(
    tracker: OrderTracker, parent_id: UUID, children: list[UUID]
) -> None:
    heavy = children[1]
    tracker.progress(heavy, 20)
    tracker.progress(heavy, 60)
    assert row(parent_id).children_progress == 180


def test_a_retried_child_takes_back_its_part_but_the_parent_never_shows_less(
    tracker: OrderTracker, parent_id: UUID, children: list[UUID]
) -> None:
    heavy = children[1]
    tracker.progress(heavy, 60)
    tracker.retry(heavy, "timeout")
    tracker.start(heavy, "w")
    assert (row(parent_id).children_progress, row(parent_id).progress) == (0, 45)


def test_a_new_child_at_0_does_not_take_the_parents_progress_back(
    tracker: OrderTracker, parent_id: UUID, children: list[UUID]
) -> None:
    tracker.progress(children[1], 100)
    tracker.spawn(parent_id, "resize", {}, weight=4)
    assert (row(parent_id).children_progress, row(parent_id).progress) == (300, 75)


def test_a_failed_parent_keeps_the_progress_it_had(
    tracker: OrderTracker, parent_id: UUID, children: list[UUID]
) -> None:
    tracker.progress(children[1], 100)
    tracker.fail(children[0], "burnt")
    assert (row(parent_id).status, row(parent_id).progress) == ("failed", 75)


def test_projecting_a_childs_save_twice_moves_its_parent_once(
    tracker: OrderTracker, parent_id: UUID, children: list[UUID]
) -> None:
    heavy = children[1]
    tracker.progress(heavy, 50)
    project_saved(tracker, tracker.get_order(heavy), tracker.order_events(heavy, after=3))
    catch_up(tracker)
    assert row(parent_id).children_progress == 150


def test_the_parents_own_events_keep_the_childrens_sum(
    tracker: OrderTracker, parent_id: UUID, children: list[UUID]
) -> None:
    tracker.progress(children[1], 50)
    tracker.progress(parent_id, 10, "spawned all")
    assert (row(parent_id).progress, row(parent_id).message) == (37, "spawned all")


def test_a_completed_parent_shows_100(
    tracker: OrderTracker, parent_id: UUID, children: list[UUID]
) -> None:
    tracker.await_children(parent_id)
    for child_id in children:
        tracker.complete(child_id, "/r/")
    assert (row(parent_id).status, row(parent_id).progress, row(parent_id).children_ended) == (
        "completed",
        100,
        2,
    )


def test_rebuild_gives_the_same_family_rows(
    tracker: OrderTracker, parent_id: UUID, children: list[UUID]
) -> None:
    tracker.progress(children[0], 30)
    tracker.progress(children[1], 70)
    live = list(OrderSummary.objects.order_by("order_id").values_list())
    rebuild(tracker)
    assert list(OrderSummary.objects.order_by("order_id").values_list()) == live


def test_verify_checks_the_parents_sum_against_its_children(
    tracker: OrderTracker, parent_id: UUID, children: list[UUID]
) -> None:
    tracker.progress(children[1], 70)
    assert verify(tracker, [parent_id, *children]).findings == []
    OrderSummary.objects.filter(order_id=parent_id).update(children_progress=5)
    findings = verify(tracker, [parent_id]).findings
    assert findings and "children_progress" in findings[0].detail
