"""Callbacks in one process: the POST's checks, real deliveries to a local receiver, the audit.

Celery runs eagerly here (the task in this process, as soon as it is sent); a worker
process and the supervision loop are exercised in tests/e2e/test_callbacks_live.py.
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from callbacks.listener import enqueue_owed
from callbacks.supervision import resend_overdue
from config.celery import app as celery_app
from orders.application import dispatch
from orders.application.tracker import OrderTracker
from orders.domain.order import event_fields, event_type
from orders.task_api import OrderHandle, order_task
from projections.models import OrderEvent, OrderSummary
from tests.e2e.receiver import Receiver

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    live = Receiver(SECRET)
    yield live
    live.close()


@pytest.fixture
def callbacks_on(settings: Any, transactional_db: None) -> Iterator[None]:
    """Callbacks configured to reach 127.0.0.1, sent eagerly, with real commits."""
    settings.ASYNC_REST = {
        **settings.ASYNC_REST,
        "CALLBACK_SECRETS": SECRET,
        "CALLBACK_ALLOWED_NETWORKS": "127.0.0.1/32",
        "CALLBACK_TIMEOUT": 2,
        "CALLBACK_MAX_ATTEMPTS": 1,
    }
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = eager


@pytest.fixture
def instant() -> Iterator[str]:
    """A resource whose task runs inline and completes at once."""

    def make(order: OrderHandle) -> str:
        return f"/things/{order.id}/"

    dispatch.register("instant", order_task(make))
    yield "instant"
    dispatch.unregister("instant")


@pytest.fixture
def alice(callbacks_on: None) -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create_user("alice"))
    return client


def place(client: APIClient, callback: object, resource: str = "instant") -> Any:
    return client.post(
        f"/async/{resource}/order/", {"context": {}, "callback": callback}, format="json"
    )


def kinds(tracker: OrderTracker, order_id: UUID) -> list[str]:
    return [event_type(e) for e in tracker.order_events(order_id)]


def attempts(tracker: OrderTracker, order_id: UUID) -> list[dict[str, Any]]:
    return [
        {"type": event_type(e), **event_fields(e)}
        for e in tracker.order_events(order_id)
        if event_type(e) in ("CallbackDelivered", "CallbackFailed")
    ]


def delivery_id(tracker: OrderTracker, order_id: UUID, kind: str = "Completed") -> str:
    """The webhook-id of the delivery of the order's event of this kind."""
    (version,) = [
        e.originator_version for e in tracker.order_events(order_id) if event_type(e) == kind
    ]
    return f"{order_id}-{version}"


def placed_id(response: Any) -> UUID:
    assert response.status_code == 302, response.content
    return UUID(response.json()["uuid"])


# ------------------------------------------------------------------- the POST


def test_a_callback_is_recorded_with_the_terminal_events_by_default(
    alice: APIClient, instant: str, tracker: OrderTracker, receiver: Receiver
) -> None:
    order_id = placed_id(place(alice, {"url": f"{receiver.base}/ok"}))
    requested = tracker.order_events(order_id)[1]
    assert (event_type(requested), requested.events) == (
        "CallbackRequested",
        ["completed", "failed", "cancelled"],
    )


def test_a_private_callback_url_is_refused_naming_callback_url_and_nothing_is_recorded(
    alice: APIClient, instant: str, tracker: OrderTracker
) -> None:
    response = place(alice, {"url": "http://192.168.10.20/hook"})
    assert (response.status_code, response["Content-Type"], response.json()["field"]) == (
        400,
        "application/problem+json",
        "callback.url",
    )
    assert OrderSummary.objects.count() == 0


def test_unknown_callback_events_are_refused_naming_callback_events(
    alice: APIClient, instant: str, tracker: OrderTracker, receiver: Receiver
) -> None:
    response = place(alice, {"url": f"{receiver.base}/ok", "events": ["started"]})
    assert (response.status_code, response.json()["field"]) == (400, "callback.events")


def test_a_callback_that_is_not_an_object_is_refused_naming_callback(
    alice: APIClient, instant: str, tracker: OrderTracker
) -> None:
    response = place(alice, "http://example.com/hook")
    assert (response.status_code, response.json()["field"]) == (400, "callback")


def test_a_callback_is_refused_while_no_secret_is_configured(
    alice: APIClient, instant: str, tracker: OrderTracker, receiver: Receiver, settings: Any
) -> None:
    settings.ASYNC_REST = {**settings.ASYNC_REST, "CALLBACK_SECRETS": ""}
    response = place(alice, {"url": f"{receiver.base}/ok"})
    assert (response.status_code, response.json()["field"]) == (400, "callback")


def test_a_resources_default_callback_is_recorded_for_an_order_placed_without_one(
    alice: APIClient, tracker: OrderTracker, receiver: Receiver
) -> None:
    dispatch.register("hooked", print, launcher=_Held(), callback={"url": f"{receiver.base}/ok"})
    try:
        response = alice.post("/async/hooked/order/", {"context": {}}, format="json")
    finally:
        dispatch.unregister("hooked")
    requested = tracker.order_events(placed_id(response))[1]
    assert (requested.url, requested.base_url) == (f"{receiver.base}/ok", "http://testserver/")


class _Held:
    def launch(self, task: Any, order_id: UUID, dispatch_id: str) -> None:
        return None


# ------------------------------------------------------------------ deliveries


def test_the_completed_event_is_delivered_signed_once_the_save_commits(
    alice: APIClient, instant: str, tracker: OrderTracker, receiver: Receiver
) -> None:
    order_id = placed_id(place(alice, {"url": f"{receiver.base}/ok"}))
    delivery = receiver.wait_for_id(delivery_id(tracker, order_id), timeout=10)
    assert (delivery.verified, delivery.body["type"]) == (True, "order.completed")
    assert [a["type"] for a in attempts(tracker, order_id)] == ["CallbackDelivered"]


def test_the_body_holds_absolute_links_of_the_host_the_order_was_placed_through(
    alice: APIClient, instant: str, tracker: OrderTracker, receiver: Receiver
) -> None:
    order_id = placed_id(place(alice, {"url": f"{receiver.base}/ok"}))
    body = receiver.wait_for_id(delivery_id(tracker, order_id), timeout=10).body["data"]
    assert body["order"]["links"]["self"] == f"http://testserver/async/orders/{order_id}/"
    assert body["order"]["resource_url"] == f"http://testserver/things/{order_id}/"


def test_a_redirect_is_not_followed_and_is_recorded_as_a_failure(
    alice: APIClient, instant: str, tracker: OrderTracker, receiver: Receiver
) -> None:
    order_id = placed_id(place(alice, {"url": f"{receiver.base}/redirect"}))
    (failed,) = attempts(tracker, order_id)
    assert (failed["type"], failed["status_code"], receiver.at("/ok")) == (
        "CallbackFailed",
        307,
        [],
    )
    assert "not followed" in failed["reason"]


def test_a_large_answer_is_read_only_up_to_the_bound(
    alice: APIClient, instant: str, tracker: OrderTracker, receiver: Receiver
) -> None:
    started = time.monotonic()
    order_id = placed_id(place(alice, {"url": f"{receiver.base}/big"}))
    (delivered,) = attempts(tracker, order_id)
    assert (delivered["type"], delivered["status_code"]) == ("CallbackDelivered", 200)
    assert time.monotonic() - started < 5


def test_an_address_no_longer_allowed_when_delivering_is_refused_then(
    alice: APIClient, instant: str, tracker: OrderTracker, receiver: Receiver, settings: Any
) -> None:
    # As a name that resolved to a public address at POST and to a private one later.
    dispatch.register("late", print, launcher=_Held())
    try:
        order_id = placed_id(place(alice, {"url": f"{receiver.base}/ok"}, "late"))
    finally:
        dispatch.unregister("late")
    settings.ASYNC_REST = {**settings.ASYNC_REST, "CALLBACK_ALLOWED_NETWORKS": ""}
    tracker.cancel(order_id, "no longer wanted")
    (failed,) = attempts(tracker, order_id)
    assert failed["type"] == "CallbackFailed" and "resolves to 127.0.0.1" in failed["reason"]
    assert receiver.deliveries == []


def test_the_secret_is_in_no_event(
    alice: APIClient, instant: str, tracker: OrderTracker, receiver: Receiver
) -> None:
    order_id = placed_id(place(alice, {"url": f"{receiver.base}/ok"}))
    receiver.wait_for_id(delivery_id(tracker, order_id), timeout=10)
    stored = repr([e.__dict__ for e in tracker.order_events(order_id)])
    assert SECRET not in stored and SECRET.removeprefix("whsec_") not in stored


# ---------------------------------------------------- the net, the audit, the admin


def test_a_delivery_never_enqueued_is_sent_by_the_supervision_net(
    callbacks_on: None, tracker: OrderTracker, receiver: Receiver
) -> None:
    tracker.listeners.remove(enqueue_owed)  # as if the process died before enqueueing
    try:
        order_id = tracker.place(
            "regina",
            {},
            None,
            {"url": f"{receiver.base}/ok", "events": ["cancelled"], "base_url": "http://h/"},
        )
        tracker.cancel(order_id)
    finally:
        tracker.listeners.append(enqueue_owed)
    assert resend_overdue(datetime.now(UTC)) == 0  # not late yet
    assert resend_overdue(datetime.now(UTC) + timedelta(minutes=5)) == 1
    assert receiver.wait_for_id(f"{order_id}-3", timeout=10).verified
    assert resend_overdue(datetime.now(UTC) + timedelta(minutes=10)) == 0  # delivered


def completed_with_callback(tracker: OrderTracker, url: str) -> UUID:
    order_id = tracker.place(
        "regina", {}, None, {"url": url, "events": ["completed"], "base_url": "http://h/"}
    )
    tracker.start(order_id, "worker-1")
    tracker.complete(order_id, "/pizzeria/pizzas/1/")
    return order_id


def test_orders_callbacks_lists_each_attempt(
    callbacks_on: None, tracker: OrderTracker, receiver: Receiver
) -> None:
    order_id = completed_with_callback(tracker, f"{receiver.base}/gone")
    out = io.StringIO()
    call_command("orders", "callbacks", str(order_id), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"callback {receiver.base}/gone  events: completed"
    assert len(lines) == 2 and "Completed" in lines[1] and "failed" in lines[1]
    assert "410" in lines[1]


def test_verify_finds_nothing_wrong_with_an_order_holding_callback_events(
    callbacks_on: None, tracker: OrderTracker, receiver: Receiver
) -> None:
    order_id = completed_with_callback(tracker, f"{receiver.base}/ok")
    receiver.wait_for_id(delivery_id(tracker, order_id), timeout=10)
    out = io.StringIO()
    call_command("orders", "verify", str(order_id), stdout=out, stderr=io.StringIO())
    assert out.getvalue().strip().endswith("0 problems")


def test_the_admin_timeline_shows_each_attempt(
    callbacks_on: None, tracker: OrderTracker, receiver: Receiver
) -> None:
    order_id = completed_with_callback(tracker, f"{receiver.base}/ok")
    receiver.wait_for_id(delivery_id(tracker, order_id), timeout=10)
    client = Client()
    client.force_login(User.objects.create_user("sam", is_staff=True))
    page = client.get(f"/admin/projections/ordersummary/{order_id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-version="5" data-type="CallbackDelivered"' in html
    assert 'data-version="2" data-type="CallbackRequested"' in html


def test_the_admin_action_resends_the_latest_delivery(
    callbacks_on: None, tracker: OrderTracker, receiver: Receiver
) -> None:
    order_id = completed_with_callback(tracker, f"{receiver.base}/ok")
    receiver.wait_for_id(delivery_id(tracker, order_id), timeout=10)
    client = Client()
    client.force_login(User.objects.create_user("sam", is_staff=True))
    response = client.post(
        "/admin/projections/ordersummary/",
        {"action": "resend_callbacks", "_selected_action": [str(order_id)]},
    )
    assert response.status_code == 302
    assert [a["attempt"] for a in attempts(tracker, order_id)] == [1, 2]
    assert len(receiver.at("/ok")) == 2
    assert OrderEvent.objects.filter(order_id=order_id, type="CallbackDelivered").count() == 2


@pytest.mark.parametrize(
    ("callback", "field"),
    [
        (None, "callback"),
        ([], "callback"),
        ({"url": "https://example.com/x", "secret": "s"}, "callback"),
        ({"url": 42}, "callback.url"),
        ({"url": "http://[::1/x"}, "callback.url"),
        ({"url": "http://example.com:99999/"}, "callback.url"),
        ({"url": "https://example.com/x", "events": "completed"}, "callback.events"),
        ({"url": "https://example.com/x", "events": []}, "callback.events"),
        ({"url": "https://example.com/x", "events": ["completed", "completed"]}, "callback.events"),
    ],
)
def test_a_malformed_callback_is_a_400_naming_its_part(
    alice: APIClient, instant: str, tracker: OrderTracker, callback: object, field: str
) -> None:
    response = place(alice, callback)
    assert (response.status_code, response.json()["field"]) == (400, field)
    assert OrderSummary.objects.count() == 0
