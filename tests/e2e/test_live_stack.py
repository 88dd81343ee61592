"""The pizza workflow over real HTTP, with a real Celery worker process.

Two stacks: the embedded default (SQLite, file-system broker) and production
(``config.production``: PostgreSQL for Django and the event store, Redis broker).
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest

from config.bootstrap import build_tracker
from orders.domain.order import Status
from tests.e2e.stack import LiveStack, embedded_stack, production_stack

pytestmark = pytest.mark.services


@pytest.fixture(scope="module", params=["embedded", "production"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveStack]:
    var_dir = tmp_path_factory.mktemp(request.param)
    make = embedded_stack if request.param == "embedded" else production_stack
    with make(var_dir) as live:
        yield live.start()


@pytest.fixture(scope="module")
def pizza(stack: LiveStack) -> dict:
    """One regina ordered and polled to its end, as a client would."""
    placed = stack.request(
        "POST", "/async/regina/order/", {"context": {"steps": 8, "step_seconds": 0.05}}
    )
    assert placed.status == 302, placed.body
    final, codes = stack.poll_until_done(placed.headers["Location"])
    return {"placed": placed, "final": final, "codes": codes}


def test_ordering_answers_302_to_the_orders_url(pizza: dict) -> None:
    placed = pizza["placed"]
    assert placed.headers["Location"].endswith(f"/async/orders/{placed.body['uuid']}/")


def test_polling_answers_202_until_the_pizza_is_done_then_201(pizza: dict) -> None:
    assert pizza["codes"][0] == 202
    assert pizza["final"].status == 201
    assert pizza["final"].body["progress"] == 100


def test_the_resource_url_serves_the_pizza(stack: LiveStack, pizza: dict) -> None:
    final = pizza["final"]
    assert final.headers["Location"] == final.body["resource_url"]
    made = stack.request("GET", final.body["resource_url"])
    assert (made.status, made.body["name"], made.body["order"]) == (
        200,
        "regina",
        final.body["uuid"],
    )


def test_the_history_tells_the_whole_story(stack: LiveStack, pizza: dict) -> None:
    history = stack.request("GET", pizza["final"].body["links"]["history"]).body["results"]
    types = [e["type"] for e in history]
    # Dispatched is there unless the worker started the order before it was recorded.
    assert types[0] == "Queued"
    types = [t for t in types if t != "Dispatched"]
    assert types[:2] == ["Queued", "Started"]
    assert types[-1] == "Completed"
    assert set(types[2:-1]) == {"Progressed"}
    percents = [e["percent"] for e in history if e["type"] == "Progressed"]
    assert percents == sorted(percents) and percents[-1] == 100
    assert [e["version"] for e in history] == list(range(1, len(history) + 1))


def test_the_state_at_an_earlier_version_is_replayed(stack: LiveStack, pizza: dict) -> None:
    tracker = build_tracker(stack.eventstore_url)
    order_id = UUID(pizza["final"].body["uuid"])
    try:
        started = next(
            e.originator_version
            for e in tracker.order_events(order_id)
            if type(e).__name__ == "Started"
        )
        assert tracker.get_order(order_id, version=started - 1).status == Status.QUEUED
        assert tracker.get_order(order_id, version=started).status == Status.RUNNING
        assert tracker.get_order(order_id, version=started + 1).progress > 0
        assert tracker.get_order(order_id).status == Status.COMPLETED
    finally:
        tracker.close()


def test_a_failing_order_ends_failed_with_its_message(stack: LiveStack) -> None:
    placed = stack.request(
        "POST", "/async/margherita/order/", {"context": {"fail_with": "No more ingredients"}}
    )
    final, _ = stack.poll_until_done(placed.headers["Location"])
    assert (final.status, final.body["status"], final.body["message"]) == (
        200,
        "failed",
        "No more ingredients",
    )


def test_the_read_models_match_the_streams_they_were_written_from(
    stack: LiveStack, pizza: dict
) -> None:
    # On production settings the read models are written inline with the events
    # (config/bootstrap.py); on the embedded default right after them. Either way the
    # audit finds every summary and history row as the streams say.
    report = stack.manage("orders", "verify", "--all")
    assert report.rstrip().endswith(" 0 problems"), report
