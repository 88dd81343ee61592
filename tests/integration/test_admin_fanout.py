"""The admin shows the tree: a parent's children on its page, the fan-out column and filter."""

from __future__ import annotations

from uuid import UUID

import pytest
from django.test import Client

from orders.application.tracker import OrderTracker

pytestmark = pytest.mark.django_db

LIST = "/admin/projections/ordersummary/"


@pytest.fixture
def family(tracker: OrderTracker) -> tuple[UUID, list[UUID]]:
    parent_id = tracker.place("party", {}, owner=None)
    tracker.start(parent_id, "w")
    children = [tracker.spawn(parent_id, "regina", {}, weight=w) for w in (1, 2)]
    tracker.start(children[0], "w")
    tracker.fail(children[0], "burnt")
    return parent_id, children


def test_a_parents_page_lists_its_children(
    admin_client: Client, family: tuple[UUID, list[UUID]]
) -> None:
    parent_id, children = family
    page = admin_client.get(f"{LIST}{parent_id}/change/").content.decode()
    assert 'id="order-children"' in page
    assert all(str(child) in page for child in children)


def test_a_childs_page_links_to_its_parent(
    admin_client: Client, family: tuple[UUID, list[UUID]]
) -> None:
    parent_id, children = family
    page = admin_client.get(f"{LIST}{children[1]}/change/").content.decode()
    assert f'href="{LIST}{parent_id}/change/"' in page


def test_the_list_counts_a_parents_ended_children(
    admin_client: Client, family: tuple[UUID, list[UUID]]
) -> None:
    page = admin_client.get(LIST).content.decode()
    assert "1/2 children" in page


def test_the_fan_out_filter_lists_the_children_of_one_parent(
    admin_client: Client, family: tuple[UUID, list[UUID]], tracker: OrderTracker
) -> None:
    parent_id, children = family
    tracker.place("regina", {}, owner=None)  # not a child: not listed
    listed = admin_client.get(LIST, {"family": str(parent_id)}).context["cl"].result_list
    assert {row.order_id for row in listed} == set(children)


@pytest.mark.parametrize(
    ("value", "count"), [("top", 1), ("parents", 1), ("children", 2), ("not-a-uuid", 0)]
)
def test_the_fan_out_filter_tells_the_levels_apart(
    admin_client: Client, family: tuple[UUID, list[UUID]], value: str, count: int
) -> None:
    listed = admin_client.get(LIST, {"family": value}).context["cl"].result_list
    assert len(listed) == count
