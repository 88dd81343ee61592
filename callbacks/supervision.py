"""The safety net: deliveries owed but overdue (never enqueued, or a retry lost) are sent again."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID

from django.conf import settings

from callbacks.tasks import enqueue
from orders.application.tracker import OrderNotFoundError
from orders.infrastructure.runtime import get_tracker
from projections.models import OrderEvent, OrderSummary

log = logging.getLogger(__name__)

# What this process re-sent, and when: a message still waiting in the queue (workers busy
# with long orders) is not sent again on every pass, only once per grace period.
_resent: dict[tuple[UUID, int, int], datetime] = {}


def orders_with_callbacks(updated_after: datetime) -> list[UUID]:
    """Ids of orders placed with a callback that changed since ``updated_after``."""
    recent = OrderSummary.objects.filter(updated__gte=updated_after).values("order_id")
    return list(
        OrderEvent.objects.filter(type="CallbackRequested", order_id__in=recent).values_list(
            "order_id", flat=True
        )
    )


def resend_overdue(now: datetime | None = None) -> int:
    """Enqueue each owed delivery whose attempt is ``CALLBACK_RELAY_AFTER`` seconds late."""
    conf = settings.ASYNC_REST
    now = now or datetime.now(UTC)
    grace = timedelta(seconds=float(conf["CALLBACK_RELAY_AFTER"]))
    window = timedelta(seconds=float(conf["CALLBACK_SWEEP_WINDOW"]))
    tracker = get_tracker()
    sent = 0
    for order_id in orders_with_callbacks(now - window):
        try:
            order = tracker.get_order(order_id)
        except OrderNotFoundError:
            continue
        if order.callback is None:
            continue
        for version in order.callback.overdue(now, grace):
            key = (order.id, version, order.callback.attempts.get(version, 0))
            if key in _resent and _resent[key] + grace > now:
                continue
            enqueue(order.id, version)
            _resent[key] = now
            log.info(
                "callbacks: re-sent the overdue delivery of order %s event %s", order.id, version
            )
            sent += 1
    for key in [k for k, when in _resent.items() if when + window < now]:
        del _resent[key]
    return sent
