"""Turns order events into the read models, idempotently, and follows the event log.

Three ways in, one set of rows: **inline** (``read_model_statements``: the event store
writes them in the same statement as the events, where both live in one PostgreSQL
database, see ``config/bootstrap.py``), **after the save** (``project_saved``, a listener
of the tracker, elsewhere), and the **catch-up** pass that follows the notification log
from a stored position: the net for anything written another way, and ``rebuild``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any
from uuid import UUID

from django.db import connection, transaction

from orders.application.tracker import OrderTracker
from orders.domain.order import Order, event_type
from orders.domain.state import state_of
from projections.erasure import event_data
from projections.family import children_progress_statement, lock_rows, parent_progress_sql
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
        return {_leaf(k): _leaf(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_leaf(v) for v in value]
    return value


_PLAIN = frozenset({int, float, bool, type(None)})


def _leaf(value: Any) -> Any:
    # Most members are numbers, None or text without NUL: kept as they are without a call
    # of storable each (it runs on every save, over the whole state).
    kind = type(value)
    if kind in _PLAIN or (kind is str and "\x00" not in value):
        return value
    return storable(value)


# A summary column shorter than what an event may carry (a worker's name, an exception's
# qualified name) shows the start of it: the event keeps all of it, and a row that could
# not be stored would fail the save that writes it inline, or stall the catch-up.
_SHORT_TEXT = tuple(
    (f.attname, f.max_length)
    for f in OrderSummary._meta.concrete_fields
    if getattr(f, "max_length", None) and f.get_internal_type() in ("CharField", "TextField")
)


def summary_values(order: Order) -> dict[str, Any]:
    """The summary row of an order: its state, storable."""
    values = storable(state_of(order).as_dict())
    values["children_progress"] = 0  # a new row's; an existing one keeps its own
    for name, length in _SHORT_TEXT:
        text = values[name]
        if text is not None and len(text) > length:
            values[name] = text[:length]
    return values


def history_fields(
    domain_event: Any, tracker: OrderTracker | None = None, order: Order | None = None
) -> dict[str, Any]:
    """The history row of one event (a sealed context opened: ``order``'s, or by ``tracker``)."""
    return {
        "order_id": domain_event.originator_id,
        "version": domain_event.originator_version,
        "type": event_type(domain_event),
        "timestamp": domain_event.timestamp,
        "data": storable(event_data(domain_event, tracker, order)),
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
    # A parent's sum of its children's progress is the projection's alone (never
    # overwritten from the parent's state), and a running parent's progress is made of it.
    kept = {key, quote("children_progress")}
    progress = parent_progress_sql(vendor, table, f"excluded.{quote('children_weight')}")
    updates = ", ".join(
        f"{c} = {progress if c == quote('progress') else f'excluded.{c}'}"
        for c in columns
        if c not in kept
    )
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


# Fields whose Python values the database driver takes as they are (Django's conversion
# is the identity for them, but going through it was a tenth of a projected save).
_AS_IS = {
    "CharField",
    "TextField",
    "BooleanField",
    "BigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
}
_AS_IS_NATIVE = {"UUIDField", "DateTimeField"}  # on PostgreSQL: uuid and timestamptz


@lru_cache(maxsize=8)
def _converters(vendor: str, fields: tuple[Any, ...]) -> tuple[Any, ...]:
    as_is = _AS_IS | (_AS_IS_NATIVE if vendor == "postgresql" else set())
    return tuple(None if f.get_internal_type() in as_is else f for f in fields)


def _unnest(fields: Sequence[Any]) -> str:
    # %b: the arrays go in binary, without the text format's quoting of every element.
    arrays = ", ".join(f"%b::{f.cast_db_type(connection)}[]" for f in fields)
    return f"SELECT * FROM unnest({arrays})"


def _column_arrays(rows: Sequence[list[Any]]) -> list[list[Any]]:
    """Rows of values as one list per column: the parameters of an ``_unnest`` statement."""
    return [list(column) for column in zip(*rows, strict=True)]


@lru_cache(maxsize=4)
def _insert_history_arrays_sql(vendor: str) -> str:
    # PostgreSQL: one short statement for any number of rows, a column array each. The
    # VALUES form grows with the rows, and psycopg parses a long query again on every
    # execute (it caches short ones only): that was a third of a rebuild's time.
    quote = connection.ops.quote_name
    return (
        f"INSERT INTO {quote(OrderEvent._meta.db_table)}"
        f" ({', '.join(quote(f.column) for f in _HISTORY_FIELDS)})"
        f" {_unnest(_HISTORY_FIELDS)} ON CONFLICT DO NOTHING"
    )


def _db_values(fields: tuple[Any, ...], values: dict[str, Any]) -> list[Any]:
    return [
        values[f.attname]
        if convert is None
        else convert.get_db_prep_save(values[f.attname], connection)
        for f, convert in zip(fields, _converters(connection.vendor, fields), strict=True)
    ]


def _summary_statement(order: Order) -> tuple[str, list[Any]]:
    return _upsert_summary_sql(connection.vendor), _db_values(
        _SUMMARY_FIELDS, summary_values(order)
    )


def upsert_summary(order: Order) -> None:
    """Write the order's summary unless the row is already at this version or newer."""
    with connection.cursor() as cursor:
        cursor.execute(*_summary_statement(order))


@lru_cache(maxsize=4)
def _upsert_summaries_arrays_sql(vendor: str) -> str:
    # PostgreSQL: the summaries of a whole catch-up batch in one statement (a round trip
    # per order was most of a rebuild's waiting); the same guard as the single upsert.
    single = _upsert_summary_sql(vendor)
    head, _, tail = single.partition(" VALUES ")
    return f"{head} {_unnest(_SUMMARY_FIELDS)}{tail[tail.index(' ON CONFLICT') :]}"


def upsert_summaries(orders: Sequence[Order]) -> None:
    """Write each order's summary unless its row is already at that version or newer."""
    if connection.vendor != "postgresql" or len(orders) < 2:
        for order in orders:
            upsert_summary(order)
        return
    rows = [_db_values(_SUMMARY_FIELDS, summary_values(order)) for order in orders]
    with _bulk_cursor() as cursor:
        cursor.execute(_upsert_summaries_arrays_sql(connection.vendor), _column_arrays(rows))


@contextmanager
def _bulk_cursor() -> Iterator[Any]:
    """A cursor for the statements that carry a batch's rows as arrays.

    On PostgreSQL, one that sends the parameters apart from the query (server-side
    binding, binary where the statement says ``%b``): Django's client-side cursor quotes
    every element of every array into the query text, a fifth of a rebuild's time.
    Same connection, same transaction.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def record_history(
    events: Sequence[Any],
    tracker: OrderTracker | None = None,
    known: Mapping[UUID, Order] | None = None,
) -> None:
    """Add one history row per event; rows already there are left as they are.

    ``known``: orders whose state (its context opened) the caller holds, so that their
    ``Queued`` rows need no read of the key store.
    """
    with _bulk_cursor() as cursor:
        for statement, params in _history_statements(events, tracker, known or {}):
            cursor.execute(statement, params)


def _history_statements(
    events: Sequence[Any], tracker: OrderTracker | None, known: Mapping[UUID, Order]
) -> list[tuple[str, list[Any]]]:
    if not events:
        return []

    def row(e: Any) -> list[Any]:
        fields = history_fields(e, tracker, known.get(e.originator_id))
        return _db_values(_HISTORY_FIELDS, fields)

    if connection.vendor == "postgresql":
        rows = [row(e) for e in events]
        return [(_insert_history_arrays_sql(connection.vendor), _column_arrays(rows))]
    # As many rows per statement as the database takes parameters (999 on older SQLite).
    chunk = max(1, connection.ops.bulk_batch_size(_HISTORY_FIELDS, events))
    statements = []
    for start in range(0, len(events), chunk):
        part = events[start : start + chunk]
        params = [value for e in part for value in row(e)]
        statements.append((_insert_history_sql(connection.vendor, len(part)), params))
    return statements


def read_model_statements(order: Order, events: Sequence[Any]) -> list[tuple[str, list[Any]]]:
    """The statements that bring the read models to ``order`` after ``events``.

    The tracker's inline projection: the event store runs them in the statement that
    records the events, so the summary never lags its stream for the writer, and a save
    refused (a lost race) writes nothing here either.
    """
    statements = [*_history_statements(events, None, {order.id: order})]
    # A child's save moves its parent's progress; not its first (progress 0, no row yet),
    # unless it brings the child further at once (a row written late, from all its events).
    first = events[0].originator_version if events else order.version
    moved = children_progress_statement(order) if first > 1 or order.progress else None
    if moved is not None:
        statements.append(moved)  # before the child's row: it reads the row as it was
    return [*statements, _summary_statement(order)]


def project_saved(tracker: OrderTracker, order: Order, events: Sequence[Any]) -> None:
    """Project what one process just saved (the read-your-writes path, when not inline)."""
    with transaction.atomic():
        if order.parent_id is not None:
            lock_rows([order.id])
        with _bulk_cursor() as cursor:
            for statement, params in read_model_statements(order, events):
                cursor.execute(statement, params)


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

    History rows are inserted or ignored; a summary is rewritten only when it is behind
    the newest event seen for its order, from the state the events of the batch bring
    it to (the store is read only for an order this process does not know up to there).
    The states are worked out before the transaction opens: holding the read models'
    locks while waiting for an order that a writer of this process holds (whose inline
    save waits for those locks) would deadlock.
    """
    seen = 0
    for reached, events in tracker.event_batches(position() + 1, batch):
        by_order: dict[UUID, list[Any]] = {}
        for e in events:
            by_order.setdefault(e.originator_id, []).append(e)
        current = dict(
            OrderSummary.objects.filter(order_id__in=list(by_order)).values_list(
                "order_id", "version"
            )
        )
        behind = [
            tracker.advanced(order_id, own)
            for order_id, own in by_order.items()
            if current.get(order_id, 0) < own[-1].originator_version
        ]
        with transaction.atomic():
            record_history(events, tracker, {order.id: order for order in behind})
            # Parents first (a rebuild meets a parent's row before its children move it),
            # then each child's move of its parent's progress, read from its row as it was.
            children = [order for order in behind if order.parent_id is not None]
            lock_rows(sorted(order.id for order in children))
            upsert_summaries([order for order in behind if order.parent_id is None])
            with connection.cursor() as cursor:
                for moved in filter(None, map(children_progress_statement, children)):
                    cursor.execute(*moved)
            upsert_summaries(children)
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
