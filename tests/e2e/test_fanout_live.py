"""Fan-out on real workers: a party of 1,000 pizzas, a failure that stops the rest, a cancel.

The production stack (PostgreSQL with the read models written inline, Redis, two Celery
worker processes): children are placed, run and end in other processes than their
parent, and their ends race each other onto the parent's stream.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.stack import Answer, LiveStack, production_stack

pytestmark = pytest.mark.services

TERMINAL = {"completed", "failed", "cancelled"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with production_stack(tmp_path_factory.mktemp("fanout")) as live:
        live.start()
        live.start_worker("worker2")
        yield live


def place_party(stack: LiveStack, **context: Any) -> str:
    placed = stack.request("POST", "/async/party/order/", {"context": context})
    assert placed.status == 302, placed.body
    return placed.headers["Location"]


def all_children(stack: LiveStack, url: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    page: str | None = url + "children/?page_size=500"
    while page:
        body = stack.request("GET", page).body
        rows.extend(body["results"])
        page = body["next"]
    return rows


def children_once_ended(stack: LiveStack, url: str, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        children = all_children(stack, url)
        if all(child["status"] in TERMINAL for child in children) or time.monotonic() > deadline:
            return children
        time.sleep(0.2)


@pytest.fixture(scope="module")
def party(stack: LiveStack) -> dict[str, Any]:
    """1,000 pizzas, the first 100 for big eaters (weight 2), polled to the end."""
    url = place_party(stack, pizzas=1000, big=100, pizza={"steps": 2, "step_seconds": 0})
    progress: list[int] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        answer = stack.request("GET", url)
        progress.append(answer.body["progress"])
        if answer.status != 202:
            break
        time.sleep(0.2)
    return {"url": url, "final": answer, "progress": progress}


def test_a_party_of_1000_pizzas_completes_when_they_all_have(party: dict[str, Any]) -> None:
    final: Answer = party["final"]
    assert (final.status, final.body["progress"], final.body["children"]) == (
        201,
        100,
        {
            "count": 1000,
            "ended": 1000,
            "failed": 0,
            "weight": 1100,
            "awaiting": False,  # no longer: it has ended
            "url": final.body["links"]["self"] + "children/",
        },
    )


def test_the_partys_progress_only_moves_forward_as_its_pizzas_cook(
    party: dict[str, Any],
) -> None:
    progress = party["progress"]
    assert progress == sorted(progress) and len(set(progress)) > 2


def test_the_partys_history_holds_each_pizzas_spawn_and_end(
    stack: LiveStack, party: dict[str, Any]
) -> None:
    history = stack.request("GET", party["url"] + "history/?page_size=1000")
    types: list[str] = []
    page: str | None = party["url"] + "history/?page_size=1000"
    while page:
        body = stack.request("GET", page).body
        types.extend(event["type"] for event in body["results"])
        page = body["next"]
    assert history.status == 200
    assert (types.count("ChildSpawned"), types.count("ChildEnded"), types[-1]) == (
        1000,
        1000,
        "Completed",
    )


def test_every_pizza_names_the_party(stack: LiveStack, party: dict[str, Any]) -> None:
    children = all_children(stack, party["url"])
    assert {child["parent"] for child in children} == {party["url"]}
    assert sorted(child["weight"] for child in children).count(2) == 100


def test_the_read_models_of_the_tree_match_its_streams(
    stack: LiveStack, party: dict[str, Any]
) -> None:
    report = stack.manage("orders", "verify", "--all")
    assert report.rstrip().endswith(" 0 problems"), report


def test_a_pizza_that_fails_fails_the_party_and_stops_the_others(stack: LiveStack) -> None:
    url = place_party(
        stack, pizzas=30, pizza={"steps": 20, "step_seconds": 0.05, "fail_with": "burnt"}
    )
    final, _ = stack.poll_until_done(url)
    children = children_once_ended(stack, url)
    assert (final.body["status"], final.body["error"]["type"]) == ("failed", "ChildFailed")
    assert {child["status"] for child in children} <= {"failed", "cancelled"}


def test_cancelling_a_party_cancels_its_pizzas(stack: LiveStack) -> None:
    url = place_party(stack, pizzas=20, pizza={"steps": 50, "step_seconds": 0.1})
    deadline = time.monotonic() + 30
    while stack.request("GET", url).body["children"] is None and time.monotonic() < deadline:
        time.sleep(0.1)
    cancelled = stack.request("POST", url + "cancel/", {"reason": "rained off"})
    final, _ = stack.poll_until_done(url)
    children = children_once_ended(stack, url)
    assert (cancelled.status in (200, 202), final.body["status"]) == (True, "cancelled")
    assert {child["status"] for child in children} == {"cancelled"}
