"""Turns order events into the read models, idempotently, and follows the event log."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any
from uuid import UUID

from django.db import connection, transaction

from orders.application.tracker import OrderTracker
from orders.domain.order import Order, event_type
from orders.domain.state import state_of
from projections.erasure import event_data
from projections.models import OrderEvent, OrderSummary, ProjectionPosition

log = logging.getLogger(__name__)

POSITION_NAME = "orders"


def storable(value: Any) -> Any:
    """The value with NUL characters replaced: PostgreSQL text and jsonb cannot hold them.

    The API refuses them, but a task may still report a message that holds one; a read
    model that cannot store it would stall every worker's catch-up at that event.
    """
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value


def summary_values(order: Order) -> dict[str, Any]:
    """The summary row of an order: its state, storable."""
    return storable(state_of(order).as_dict())


def history_fields(domain_event: Any, tracker: OrderTracker | None = None) -> dict[str, Any]:
    """The history row of one event (a sealed context opened with ``tracker``'s keys)."""
    return {
        "order_id": domain_event.originator_id,
        "version": domain_event.originator_version,
        "type": event_type(domain_event),
        "timestamp": domain_event.timestamp,
        "data": storable(event_data(domain_event, tracker)),
    }


# The projection writes with fixed SQL, the same on PostgreSQL and SQLite, made once from
# the models: compiling the ORM's statements on every event was most of the cost of
# projecting it (bench/append.py, docs/benchmarks.md).
_SUMMARY_FIELDS = tuple(OrderSummary._meta.concrete_fields)
_HISTORY_FIELDS = tuple(f for f in OrderEvent._meta.concrete_fields if not f.primary_key)


@lru_cache(maxsize=8)
def _upsert_summary_sql(vendor: str) -> str:
    # Insert the row, or move the existing one forward and never back: the version
    # guard makes applying twice, or out of order (two processes racing), change nothing.
    quote = connection.ops.quote_name
    table = quote(OrderSummary._meta.db_table)
    columns = [quote(f.column) for f in _SUMMARY_FIELDS]
    key, version = quote(OrderSummary._meta.pk.column), quote("version")
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
        f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
        f" WHERE {table}.{version} < excluded.{version}"
    )


@lru_cache(maxsize=64)
def _insert_history_sql(vendor: str, rows: int) -> str:
    # Rows are unique on (order, version): one already there is left as it is.
    quote = connection.ops.quote_name
    row = f"({', '.join(['%s'] * len(_HISTORY_FIELDS))})"
    return (
        f"INSERT INTO {quote(OrderEvent._meta.db_table)}"
        f" ({', '.join(quote(f.column) for f in _HISTORY_FIELDS)})"
        f" VALUES {', '.join([row] * rows)} ON CONFLICT DO NOTHING"
    )


def _db_values(fields: Sequence[Any], values: dict[str, Any]) -> list[Any]:
    return [f.get_db_prep_save(values[f.attname], connection) for f in fields]


def upsert_summary(order: Order) -> None:
    """Write the order's summary unless the row is already at this version or newer."""
    values = summary_values(order)
    with connection.cursor() as cursor:
        cursor.execute(_upsert_summary_sql(connection.vendor), _db_values(_SUMMARY_FIELDS, values))


def record_history(events: Sequence[Any], tracker: OrderTracker | None = None) -> None:
    """Add one history row per event; rows already there are left as they are."""
    # As many rows per statement as the database takes parameters (999 on older SQLite).
    chunk = max(1, connection.ops.bulk_batch_size(_HISTORY_FIELDS, events))
    with connection.cursor() as cursor:
        for start in range(0, len(events), chunk):
            part = events[start : start + chunk]
            params = [
                value
                for e in part
                for value in _db_values(_HISTORY_FIELDS, history_fields(e, tracker))
            ]
            cursor.execute(_insert_history_sql(connection.vendor, len(part)), params)


def project_saved(tracker: OrderTracker, order: Order, events: Sequence[Any]) -> None:
    """Project what one process just saved (the read-your-writes path)."""
    with transaction.atomic():
        record_history(events, tracker)
        upsert_summary(order)


def position() -> int:
    """How far the catch-up pass has followed the notification log."""
    row, _ = ProjectionPosition.objects.get_or_create(name=POSITION_NAME)
    return row.position


def _advance(position: int) -> None:
    # Several followers may run at once (one per worker): the position only moves on.
    ProjectionPosition.objects.filter(name=POSITION_NAME, position__lt=position).update(
        position=position
    )


def catch_up(
    tracker: OrderTracker,
    batch: int = 500,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Project every event after the stored position; return how many were read.

    History rows are inserted or ignored; a summary is refreshed from the event store
    only when it is behind the newest event seen for its order.
    """
    seen = 0
    for reached, events in tracker.event_batches(position() + 1, batch):
        newest: dict[UUID, int] = {}
        for e in events:
            newest[e.originator_id] = max(newest.get(e.originator_id, 0), e.originator_version)
        with transaction.atomic():
            record_history(events, tracker)
            current = dict(
                OrderSummary.objects.filter(order_id__in=list(newest)).values_list(
                    "order_id", "version"
                )
            )
            for order_id, version in newest.items():
                if current.get(order_id, 0) < version:
                    upsert_summary(tracker.get_order(order_id))
            _advance(reached)
        seen += len(events)
        if on_batch:
            on_batch(len(events))
    return seen


def rebuild(tracker: OrderTracker, on_batch: Callable[[int], None] | None = None) -> int:
    """Drop the read models and build them again from the event store."""
    with transaction.atomic():
        OrderEvent.objects.all().delete()
        OrderSummary.objects.all().delete()
        ProjectionPosition.objects.update_or_create(name=POSITION_NAME, defaults={"position": 0})
    return catch_up(tracker, on_batch=on_batch)
