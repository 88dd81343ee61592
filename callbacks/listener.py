"""The tracker listener that enqueues a delivery for each saved event that is owed one."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from callbacks.tasks import enqueue
from orders.application.tracker import OrderTracker
from orders.domain.order import Order

log = logging.getLogger(__name__)


def enqueue_owed(tracker: OrderTracker, order: Order, events: Sequence[Any]) -> None:
    """After a save: a delivery task for each new event the order's callback asks for.

    Called once the events are committed to the event store, and sent once the caller's
    database transaction (if any) commits too. A broker that is down, or a process that
    dies before sending, loses nothing: the supervision loop finds the delivery overdue.
    """
    ledger = order.callback
    if ledger is None:
        return
    owed = [e.originator_version for e in events if ledger.is_due(e.originator_version)]

    def send() -> None:
        for version in owed:
            try:
                enqueue(order.id, version)
            except Exception:
                log.exception("could not enqueue callback of order %s event %s", order.id, version)

    if owed:
        transaction.on_commit(send)
