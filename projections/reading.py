"""Queries on the read models, with a fallback to the event store for read-your-writes."""

from __future__ import annotations

from uuid import UUID

from orders.runtime import get_tracker
from orders.tracker import OrderNotFoundError
from projections.models import OrderSummary
from projections.projector import project_saved


def find_summary(order_id: UUID) -> OrderSummary | None:
    """The order's summary row; projected on the spot if its events are not yet.

    Normally the writer projected its own events. If it died between writing and
    projecting, the order is in the event store but not in the read model: project
    it now rather than answer 404 for an order that exists.
    """
    summary = OrderSummary.objects.filter(order_id=order_id).first()
    if summary is not None:
        return summary
    tracker = get_tracker()
    try:
        order = tracker.get_order(order_id)
    except OrderNotFoundError:
        return None
    project_saved(tracker, order, tracker.order_events(order_id))
    return OrderSummary.objects.filter(order_id=order_id).first()
