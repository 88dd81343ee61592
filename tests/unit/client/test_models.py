"""The server's JSON read into typed dataclasses, tolerant of what a newer server adds."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from async_rest_client import Failure, HistoryEvent, Links, Order, UnexpectedAnswer
from tests.unit.client.conftest import ORDER_ID, ORDER_URL, order_json


def test_an_order_is_read_into_python_types() -> None:
    order = Order.from_json(order_json())
    assert (order.uuid, order.created, order.links) == (
        UUID(ORDER_ID),
        datetime(2026, 12, 1, 8, 9, 30, 114480, tzinfo=UTC),
        Links(ORDER_URL, ORDER_URL + "history/", ORDER_URL + "cancel/"),
    )


def test_keys_a_newer_server_adds_are_ignored() -> None:
    assert Order.from_json(order_json(eta_seconds=12)) == Order.from_json(order_json())


def test_an_order_missing_a_required_key_is_an_unexpected_answer() -> None:
    body = order_json()
    del body["version"]
    with pytest.raises(UnexpectedAnswer, match="version"):
        Order.from_json(body)


def test_a_failed_order_carries_its_failure() -> None:
    failure = {"message": "No more ingredients", "type": "OutOfIngredientsError"}
    order = Order.from_json(order_json("failed", error=failure))
    assert order.error == Failure("No more ingredients", "OutOfIngredientsError")


def test_only_completed_failed_and_cancelled_orders_have_ended() -> None:
    ended = {
        s: Order.from_json(order_json(s)).ended
        for s in ("queued", "running", "completed", "failed", "cancelled")
    }
    assert ended == {
        "queued": False,
        "running": False,
        "completed": True,
        "failed": True,
        "cancelled": True,
    }


def test_a_history_event_keeps_its_own_fields_apart() -> None:
    body = {
        "version": 4,
        "type": "Progressed",
        "timestamp": "2026-12-01T08:09:30.516000+00:00",
        "percent": 10,
        "message": "The pizza is in the oven",
    }
    event = HistoryEvent.from_json(body)
    assert (event.version, event.type, event.fields) == (
        4,
        "Progressed",
        {"percent": 10, "message": "The pizza is in the oven"},
    )
