"""A receipt of an order whose callback was attempted after it ended."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from orders.application.tracker import OrderTracker
from receipts.issue import issue
from receipts.signing import KeyRing


def test_a_receipt_says_when_the_work_ended_not_when_its_callback_was_delivered(
    memory_tracker: OrderTracker,
) -> None:
    callback = {"url": "https://hooks.example.com/", "events": ["completed"], "base_url": ""}
    order_id = memory_tracker.place("regina", {}, None, callback)
    memory_tracker.start(order_id, "oven-1")
    ended = memory_tracker.complete(order_id, "/pizzas/1/").modified_on
    memory_tracker.record_callback_delivered(order_id, 4, 204, 12)
    receipt = issue(memory_tracker.order_events(order_id), KeyRing(Ed25519PrivateKey.generate()))
    assert receipt["ended_at"] == ended.isoformat()
