"""The project's names that the queue integrations use, in one place (a rename is fixed here)."""

from __future__ import annotations

from orders.application.dispatch import (
    Launcher,
    UnknownResourceError,
    register,
    registration,
)
from orders.application.services import place_order
from orders.application.supervision import WORKER_LOST
from orders.application.tracker import OrderNotFoundError, OrderTracker
from orders.domain.order import CancelRequestedError, Order, Status, event_fields, event_type
from orders.infrastructure.runtime import get_tracker, set_tracker
from orders.queues.celery import CeleryLauncher
from orders.queues.inline import InlineLauncher
from orders.task_api import OrderHandle, QueueRetries, order_task, queue_retries

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
    "get_tracker",
    "order_task",
    "place_order",
    "queue_retries",
    "register",
    "registration",
    "set_tracker",
]
