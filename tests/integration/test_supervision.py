"""The relay (orders never sent) and the reaper (orders whose worker was lost)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest

from config.supervision import supervise_once
from orders.application import dispatch
from orders.application.services import launch_order, place_order
from orders.application.supervision import WORKER_LOST
from orders.application.tracker import OrderTracker
from orders.domain.order import Status

pytestmark = pytest.mark.django_db(transaction=True)


class FlakyLauncher:
    """A broker that is down until ``up`` is set."""

    def __init__(self) -> None:
        self.up = False
        self.sent: list[tuple[UUID, str]] = []

    def launch(self, task: Any, order_id: UUID, dispatch_id: str) -> None:
        if not self.up:
            raise ConnectionError("broker down")
        self.sent.append((order_id, dispatch_id))


@pytest.fixture
def broker() -> Iterator[FlakyLauncher]:
    launcher = FlakyLauncher()
    dispatch.register("flaky", print, launcher=launcher)
    yield launcher
    dispatch.unregister("flaky")


@pytest.fixture
def quick(settings: Any) -> None:
    settings.ASYNC_REST = {
        **settings.ASYNC_REST,
        "RELAY_AFTER": 0,
        "REDISPATCH_AFTER": 3600,
        "WORKER_LOST_AFTER": 3600,
    }


def test_an_order_placed_while_the_broker_is_down_is_recorded_not_sent(
    tracker: OrderTracker, broker: FlakyLauncher
) -> None:
    order = tracker.get_order(place_order("flaky", {}, owner=None))
    assert (order.status, order.dispatched, broker.sent) == (Status.QUEUED, False, [])


def test_the_relay_sends_it_once_the_broker_is_back(
    tracker: OrderTracker, broker: FlakyLauncher, quick: None
) -> None:
    order_id = place_order("flaky", {}, owner=None)
    supervise_once()
    assert broker.sent == []
    broker.up = True
    supervise_once()
    supervise_once()
    assert [sent[0] for sent in broker.sent] == [order_id]
    assert tracker.get_order(order_id).dispatch_id == broker.sent[0][1]


def test_the_relay_leaves_a_sent_order_alone(
    tracker: OrderTracker, broker: FlakyLauncher, quick: None
) -> None:
    broker.up = True
    place_order("flaky", {}, owner=None)
    supervise_once()
    assert len(broker.sent) == 1


def test_a_sent_order_never_started_is_sent_again_after_its_timeout(
    tracker: OrderTracker, broker: FlakyLauncher, quick: None, settings: Any
) -> None:
    broker.up = True
    order_id = place_order("flaky", {}, owner=None)
    settings.ASYNC_REST = {**settings.ASYNC_REST, "REDISPATCH_AFTER": 0}
    supervise_once()
    assert [sent[0] for sent in broker.sent] == [order_id, order_id]
    assert broker.sent[0][1] != broker.sent[1][1]


def test_a_running_order_silent_past_the_timeout_fails_as_worker_lost(
    tracker: OrderTracker, settings: Any
) -> None:
    order_id = tracker.place("flaky", {}, owner=None)
    tracker.start(order_id, "host:123")
    settings.ASYNC_REST = {**settings.ASYNC_REST, "WORKER_LOST_AFTER": 0}
    supervise_once()
    order = tracker.get_order(order_id)
    assert (order.status, order.error_type) == (Status.FAILED, WORKER_LOST)
    assert "host:123" in (order.message or "")


def test_a_running_order_within_the_timeout_is_left_running(
    tracker: OrderTracker, quick: None
) -> None:
    order_id = tracker.place("flaky", {}, owner=None)
    tracker.start(order_id, "host:123")
    supervise_once()
    assert tracker.get_order(order_id).status == Status.RUNNING


def test_launching_records_the_dispatch(tracker: OrderTracker, broker: FlakyLauncher) -> None:
    broker.up = True
    order_id = tracker.place("flaky", {}, owner=None)
    assert launch_order(order_id)
    assert tracker.get_order(order_id).dispatch_id == broker.sent[0][1]


def test_a_supervision_pass_forgets_expired_idempotency_keys(
    tracker: OrderTracker, settings: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from api.models import IdempotencyKey

    settings.ASYNC_REST = {**settings.ASYNC_REST, "IDEMPOTENCY_TTL": 60}
    old = IdempotencyKey.objects.create(owner="1", key="old", fingerprint="f")
    IdempotencyKey.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(hours=1))
    IdempotencyKey.objects.create(owner="1", key="fresh", fingerprint="f")
    supervise_once()
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
