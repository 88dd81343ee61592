"""Queries on the read models, with a fallback to the event store for read-your-writes."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from uuid import UUID

from django.db import connection

from orders.application.tracker import OrderNotFoundError
from orders.infrastructure.runtime import get_tracker
from projections.models import OrderSummary
from projections.projector import project_saved


@lru_cache(maxsize=4)
def _summary_reader(vendor: str) -> tuple[str, list[str], list[tuple[int, list[Any], Any]]]:
    # A fixed SQL string, the model's column list and its converters, made once: the status
    # GET is the hot path, and compiling an ORM query (or mapping a raw query's columns)
    # on every poll was a third of its CPU (bench/status_cpu.py, docs/benchmarks.md).
    meta = OrderSummary._meta
    quote = connection.ops.quote_name
    columns = [f.get_col(meta.db_table) for f in meta.concrete_fields]
    sql = (
        f"SELECT {', '.join(quote(c.target.column) for c in columns)}"
        f" FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} = %s"
    )
    converters = []
    for i, column in enumerate(columns):
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((i, found, column))
    return sql, [f.attname for f in meta.concrete_fields], converters


def read_summary(order_id: UUID) -> OrderSummary | None:
    """The order's summary row as the read model has it (None if it has none)."""
    sql, names, converters = _summary_reader(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [OrderSummary._meta.pk.get_db_prep_value(order_id, connection)])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for i, functions, column in converters:
        for convert in functions:
            values[i] = convert(values[i], column, connection)
    return OrderSummary.from_db(connection.alias, names, values)


def find_summary(order_id: UUID) -> OrderSummary | None:
    """The order's summary row; projected on the spot if its events are not yet.

    Normally the writer projected its own events. If it died between writing and
    projecting, the order is in the event store but not in the read model: project
    it now rather than answer 404 for an order that exists.
    """
    summary = read_summary(order_id)
    if summary is not None:
        return summary
    tracker = get_tracker()
    try:
        order = tracker.get_order(order_id)
    except OrderNotFoundError:
        return None
    project_saved(tracker, order, tracker.order_events(order_id))
    return OrderSummary.objects.filter(order_id=order_id).first()
