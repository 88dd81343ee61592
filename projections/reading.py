"""Queries on the read models, with a fallback to the event store for read-your-writes."""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID

from django.db import connection

from orders.runtime import get_tracker
from orders.tracker import OrderNotFoundError
from projections.models import OrderSummary
from projections.projector import project_saved


@lru_cache(maxsize=1)
def _summary_sql() -> str:
    # A fixed SQL string: the status GET is the hot path, and compiling an ORM query on
    # every poll was a third of its CPU (bench/status_cpu.py, docs/benchmarks.md).
    quote = connection.ops.quote_name
    return f"SELECT * FROM {quote(OrderSummary._meta.db_table)} WHERE {quote('order_id')} = %s"


def find_summary(order_id: UUID) -> OrderSummary | None:
    """The order's summary row; projected on the spot if its events are not yet.

    Normally the writer projected its own events. If it died between writing and
    projecting, the order is in the event store but not in the read model: project
    it now rather than answer 404 for an order that exists.
    """
    param = OrderSummary._meta.pk.get_db_prep_value(order_id, connection)
    for summary in OrderSummary.objects.raw(_summary_sql(), [param]):
        return summary
    tracker = get_tracker()
    try:
        order = tracker.get_order(order_id)
    except OrderNotFoundError:
        return None
    project_saved(tracker, order, tracker.order_events(order_id))
    return OrderSummary.objects.filter(order_id=order_id).first()
