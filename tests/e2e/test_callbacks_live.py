"""Completion callbacks over real HTTP: a gunicorn, a Celery worker, a local receiver.

On both stacks: the embedded default (SQLite, file-system broker) and production
(PostgreSQL for Django and the event store, Redis broker).

The receiver verifies each delivery with the ``standardwebhooks`` verifier (the secret
the server signs with is the second of two, as during a rotation).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from uuid import UUID

import pytest

from orders.application.tracker import OrderTracker
from orders.infrastructure.eventstore import event_store_env
from tests.e2e.receiver import Receiver
from tests.e2e.stack import LiveStack, embedded_stack, production_stack

pytestmark = pytest.mark.services

NEW_SECRET = "whsec_" + base64.b64encode(b"n" * 32).decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"o" * 32).decode()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    live = Receiver(OLD_SECRET)
    yield live
    live.close()


@pytest.fixture(scope="module", params=["embedded", "production"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveStack]:
    env = {
        "ASYNC_REST_CALLBACK_SECRETS": f"{NEW_SECRET} {OLD_SECRET}",
        "ASYNC_REST_CALLBACK_ALLOWED_NETWORKS": "127.0.0.1/32",
        "ASYNC_REST_CALLBACK_TIMEOUT": "1",
        "ASYNC_REST_CALLBACK_BACKOFF": "0.3",
        "ASYNC_REST_CALLBACK_MAX_ATTEMPTS": "3",
        "ASYNC_REST_CALLBACK_RELAY_AFTER": "1",
        "ASYNC_REST_CATCHUP_INTERVAL": "0.5",
    }
    make = embedded_stack if request.param == "embedded" else production_stack
    with make(tmp_path_factory.mktemp(f"callbacks-{request.param}"), env) as live:
        yield live.start()


def place(stack: LiveStack, url: str, events: list[str] | None = None, steps: int = 2) -> str:
    """An order of a regina with a callback, polled to its end; its uuid."""
    callback: dict[str, object] = {"url": url}
    if events is not None:
        callback["events"] = events
    placed = stack.request(
        "POST",
        "/async/regina/order/",
        {"context": {"steps": steps, "step_seconds": 0.25}, "callback": callback},
    )
    assert placed.status == 302, placed.body
    stack.poll_until_done(placed.headers["Location"])
    return str(placed.body["uuid"])


def history(stack: LiveStack, order_id: str, settled: int, timeout: float = 30) -> list[dict]:
    """The order's history once it holds ``settled`` callback attempts."""
    deadline = time.monotonic() + timeout
    while True:
        events = stack.request("GET", f"/async/orders/{order_id}/history/?page_size=1000").body[
            "results"
        ]
        attempts = [e for e in events if e["type"] in ("CallbackDelivered", "CallbackFailed")]
        if len(attempts) >= settled or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def test_each_chosen_event_is_delivered_once_signed_and_verified(
    stack: LiveStack, receiver: Receiver
) -> None:
    order_id = place(stack, f"{receiver.base}/ok", ["progressed", "completed"], steps=3)
    chosen = [
        e for e in history(stack, order_id, settled=2) if e["type"] in ("Progressed", "Completed")
    ]
    history(stack, order_id, settled=len(chosen))
    time.sleep(1.5)  # a second delivery of any of them would have come by now
    mine = [d for d in receiver.at("/ok") if d.msg_id.startswith(order_id)]
    assert sorted(d.msg_id for d in mine) == sorted(f"{order_id}-{e['version']}" for e in chosen)
    assert all(d.verified and d.signatures == 2 for d in mine)


def test_the_completed_delivery_carries_the_order_as_the_status_get_shows_it(
    stack: LiveStack, receiver: Receiver
) -> None:
    order_id = place(stack, f"{receiver.base}/ok")
    completed = next(e for e in history(stack, order_id, 1) if e["type"] == "Completed")
    delivery = receiver.wait_for_id(f"{order_id}-{completed['version']}")
    shown = stack.request("GET", f"/async/orders/{order_id}/").body
    sent = delivery.body["data"]["order"]
    assert (sent["status"], sent["resource_url"], sent["links"]) == (
        "completed",
        shown["resource_url"],
        shown["links"],
    )
    assert delivery.body["data"]["event"]["type"] == "Completed"


def test_a_500_is_retried_and_one_success_recorded(stack: LiveStack, receiver: Receiver) -> None:
    order_id = place(stack, f"{receiver.base}/flaky")
    events = history(stack, order_id, settled=2)
    attempts = [e for e in events if e["type"].startswith("Callback") and "attempt" in e]
    assert [(e["type"], e["attempt"], e["status_code"]) for e in attempts] == [
        ("CallbackFailed", 1, 500),
        ("CallbackDelivered", 2, 200),
    ]
    assert attempts[0]["retry_in"] > 0 and attempts[1]["duration_ms"] >= 0


def test_a_410_stops_the_deliveries_for_good(stack: LiveStack, receiver: Receiver) -> None:
    order_id = place(stack, f"{receiver.base}/gone", ["progressed", "completed"], steps=3)
    events = history(stack, order_id, settled=1)
    time.sleep(2)  # the other three events, and any retry, would have been sent by now
    sent = [d for d in receiver.at("/gone") if d.msg_id.startswith(order_id)]
    failed = [e for e in history(stack, order_id, 1) if e["type"] == "CallbackFailed"]
    assert len(sent) == 1 and len(events) > 0
    assert [(e["status_code"], e["retry_in"]) for e in failed] == [(410, None)]


def test_a_receiver_that_hangs_is_recorded_as_timed_out_and_given_up(
    stack: LiveStack, receiver: Receiver
) -> None:
    order_id = place(stack, f"{receiver.base}/hang")
    events = history(stack, order_id, settled=3, timeout=40)
    failed = [e for e in events if e["type"] == "CallbackFailed"]
    assert [(e["attempt"], e["reason"]) for e in failed] == [
        (1, "timed out after 1s"),
        (2, "timed out after 1s"),
        (3, "timed out after 1s"),
    ]
    assert failed[-1]["retry_in"] is None


def test_a_private_address_is_refused_at_post_naming_callback_url(stack: LiveStack) -> None:
    answer = stack.request(
        "POST",
        "/async/regina/order/",
        {"context": {}, "callback": {"url": "http://10.1.2.3/hook"}},
    )
    assert (answer.status, answer.body["field"]) == (400, "callback.url")
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_a_delivery_never_enqueued_is_sent_by_the_supervision_loop(
    stack: LiveStack, receiver: Receiver
) -> None:
    # As if the process died between the commit and the enqueue: a tracker with no
    # listeners records the order and its end, and nothing else is sent.
    tracker = OrderTracker(env=event_store_env(stack.eventstore_url, create_table=False))
    try:
        order_id = tracker.place(
            "regina",
            {},
            None,
            {"url": f"{receiver.base}/ok", "events": ["cancelled"], "base_url": stack.base},
        )
        tracker.cancel(order_id, "changed my mind")
    finally:
        tracker.close()
    delivery = receiver.wait_for_id(f"{order_id}-3", timeout=30)  # 3: Cancelled
    assert delivery.verified
    assert delivery.body["type"] == "order.cancelled"
    assert UUID(delivery.body["data"]["order"]["uuid"]) == order_id
