"""The project's names that the queue integrations use, in one place (a rename is fixed here)."""

from __future__ import annotations

import threading

from orders.dispatch import (
    CeleryLauncher,
    InlineLauncher,
    Launcher,
    UnknownResourceError,
    register,
    registration,
)
from orders.domain import CancelRequestedError, Order, Status, event_fields, event_type
from orders.helpers import OrderHandle, QueueRetries, order_task, queue_retries
from orders.runtime import get_tracker, set_tracker
from orders.services import place_order
from orders.supervision import WORKER_LOST
from orders.tracker import OrderNotFoundError, OrderTracker


def follow_in_background() -> threading.Event:
    """Start this process's supervision loop (catch-up, relay, reaper); needs the apps loaded."""
    from projections.follower import follow_in_background as start

    return start()


__all__ = [
    "WORKER_LOST",
    "CancelRequestedError",
    "CeleryLauncher",
    "InlineLauncher",
    "Launcher",
    "Order",
    "OrderHandle",
    "OrderNotFoundError",
    "OrderTracker",
    "QueueRetries",
    "Status",
    "UnknownResourceError",
    "event_fields",
    "event_type",
    "follow_in_background",
    "get_tracker",
    "order_task",
    "place_order",
    "queue_retries",
    "register",
    "registration",
    "set_tracker",
]
