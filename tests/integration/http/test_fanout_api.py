"""Fan-out as a client sees it: a parent's children, its weighted progress, the tree, a cascade."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from rest_framework.test import APIClient

from config.supervision import supervise_once
from orders.application import dispatch, fanout
from orders.application.tracker import OrderTracker
from orders.domain.order import Status
from orders.task_api import OrderHandle, order_task
from tests.integration.http.conftest import HeldLauncher

PROBLEM = "application/problem+json"


@pytest.fixture
def album() -> Iterator[str]:
    """A parent resource: its task spawns ``children`` of ``child`` and returns nothing."""

    def make(order: OrderHandle) -> None:
        for weight in order.context.get("weights", [1, 1, 1]):
            order.spawn(order.context.get("child", "instant"), {}, weight=weight)

    dispatch.register("album", order_task(make))
    yield "album"
    dispatch.unregister("album")


def place(client: APIClient, resource: str, context: dict[str, Any]) -> str:
    response = client.post(f"/async/{resource}/order/", {"context": context}, format="json")
    assert response.status_code == 302
    return str(response["Location"]).removeprefix("http://testserver")


def test_a_parent_whose_children_completed_answers_201_with_their_list(
    alice: APIClient, album: str, instant: str, tracker: OrderTracker
) -> None:
    response = alice.get(place(alice, album, {}))
    body = response.json()
    assert (response.status_code, body["children"]["count"], body["children"]["ended"]) == (
        201,
        3,
        3,
    )
    assert response["Location"] == body["children"]["url"] == body["links"]["self"] + "children/"


def test_the_children_list_names_their_parent(
    alice: APIClient, album: str, instant: str, tracker: OrderTracker
) -> None:
    url = place(alice, album, {})
    children = alice.get(url + "children/").json()["results"]
    parents = {child["parent"].removeprefix("http://testserver") for child in children}
    assert (len(children), parents) == (3, {url})


def test_someone_elses_parent_has_no_children_to_show(
    alice: APIClient, bob: APIClient, album: str, instant: str, tracker: OrderTracker
) -> None:
    url = place(alice, album, {})
    response = bob.get(url + "children/")
    assert (response.status_code, response["Content-Type"]) == (404, PROBLEM)


def test_a_running_parent_shows_its_childrens_weighted_progress(
    alice: APIClient, album: str, held: HeldLauncher, tracker: OrderTracker
) -> None:
    url = place(alice, album, {"child": "held", "weights": [1, 3]})
    _light, heavy = held.launched
    tracker.start(heavy, "w")
    tracker.progress(heavy, 40)
    body = alice.get(url).json()
    assert (body["status"], body["progress"], body["children"]["awaiting"]) == (
        "running",
        30,
        True,
    )


def test_a_childs_progress_changes_its_parents_etag(
    alice: APIClient, album: str, held: HeldLauncher, tracker: OrderTracker
) -> None:
    url = place(alice, album, {"child": "held", "weights": [1]})
    child = held.launched[0]
    tracker.start(child, "w")
    etag = alice.get(url)["ETag"]
    tracker.progress(child, 50)
    response = alice.get(url, HTTP_IF_NONE_MATCH=etag)
    assert (response.status_code, response.json()["progress"]) == (202, 50)


def test_cancelling_a_parent_cancels_its_children(
    alice: APIClient, album: str, held: HeldLauncher, tracker: OrderTracker
) -> None:
    url = place(alice, album, {"child": "held", "weights": [1, 1]})
    response = alice.post(url + "cancel/", {}, format="json")
    statuses = {tracker.get_order(child).status for child in held.launched}
    assert (response.status_code, response.json()["status"], statuses) == (
        200,
        "cancelled",
        {Status.CANCELLED},
    )


def test_the_list_filters_by_parent(
    alice: APIClient, album: str, instant: str, tracker: OrderTracker
) -> None:
    url = place(alice, album, {"weights": [1, 1]})
    parent_id = url.rstrip("/").rsplit("/", 1)[-1]
    results = alice.get(f"/async/orders/?parent={parent_id}").json()["results"]
    assert len(results) == 2


@pytest.mark.parametrize("value", ["nope", "1", "00000000-0000-0000-0000-00000000000g", "\x00"])
def test_a_malformed_parent_filter_is_a_problem_naming_it(alice: APIClient, value: str) -> None:
    response = alice.get("/async/orders/", {"parent": value})
    assert (response.status_code, response["Content-Type"]) == (400, PROBLEM)
    assert "parent" in str(response.json())


def test_supervision_settles_a_parent_that_missed_a_childs_end(
    alice: APIClient,
    album: str,
    held: HeldLauncher,
    tracker: OrderTracker,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = place(alice, album, {"child": "held", "weights": [1]})
    child = held.launched[0]
    tracker.start(child, "w")
    with monkeypatch.context() as crashed:  # the process died between the two writes
        crashed.setattr(fanout, "follow_up", lambda tracker, order, events: None)
        tracker.complete(child, "/r/")
    settings.ASYNC_REST = {**settings.ASYNC_REST, "SETTLE_AFTER": 0}
    supervise_once()
    assert alice.get(url).json()["status"] == "completed"


def test_a_waiting_parent_is_not_reaped_as_worker_lost(
    alice: APIClient, album: str, held: HeldLauncher, tracker: OrderTracker, settings: Any
) -> None:
    url = place(alice, album, {"child": "held", "weights": [1]})
    settings.ASYNC_REST = {**settings.ASYNC_REST, "WORKER_LOST_AFTER": 0}
    supervise_once()
    parent_id = UUID(url.rstrip("/").rsplit("/", 1)[-1])
    assert tracker.get_order(parent_id).status is Status.RUNNING
