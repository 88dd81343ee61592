"""A parent's progress from its children's, kept by the projection in O(1) per child event.

A parent's summary row keeps ``children_progress``, the sum over its children of weight x
progress, and ``children_weight``, the sum of their weights (the parent's own state). Its
``progress`` column, until it completes, is their quotient, the weighted mean of its
children (of those spawned so far), or what it showed before if that was more.

Each save of a child moves the sum by ``weight x (new progress - progress in the child's
row)``, in the statement (or transaction) that moves the child's row, and only if that
row is behind the save: the same version guard as the row's own upsert, so that applying
a save twice, or a catch-up that overlaps the writer, moves the sum once. Nothing scans
the children; ``orders verify`` does, to check the sum (``expected_children_progress``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import F, Sum

from orders.domain.order import Order
from projections.models import OrderSummary


def _greatest(vendor: str) -> str:
    return "GREATEST" if vendor == "postgresql" else "MAX"  # SQLite's scalar max(a, b)


def _least(vendor: str) -> str:
    # Never past 100: a child the parent never recorded (its process died in between)
    # still moves the sum, by a weight the parent's total does not hold.
    return "LEAST" if vendor == "postgresql" else "MIN"


def parent_progress_sql(vendor: str, table: str, weight: str) -> str:
    """The progress of a parent row of ``table`` whose children weigh ``weight`` (SQL).

    Never less than the row shows already: a child spawned at 0%, or a child's retry,
    lowers the weighted mean, and progress shown to a client does not go backwards.
    A completed parent shows its own 100.
    """
    return (
        f"CASE WHEN {weight} > 0 AND excluded.status <> 'completed'"
        f" THEN {_greatest(vendor)}({table}.progress,"
        f" {_least(vendor)}(100, {table}.children_progress / {weight}))"
        " ELSE excluded.progress END"
    )


@lru_cache(maxsize=4)
def _moved_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    table = quote(OrderSummary._meta.db_table)
    # The child's row as it is before this save (none yet: version 0, progress 0).
    before = f"COALESCE((SELECT c.{{0}} FROM {table} AS c WHERE c.order_id = %s), 0)"
    delta = f"%s * (%s - {before.format('progress')})"
    return (
        f"UPDATE {table} SET children_progress = children_progress + {delta},"
        f" progress = CASE WHEN status <> 'completed' AND children_weight > 0"
        f" THEN {_greatest(vendor)}(progress,"
        f" {_least(vendor)}(100, (children_progress + {delta}) / children_weight))"
        " ELSE progress END"
        f" WHERE order_id = %s AND {before.format('version')} < %s"
    )


def children_progress_statement(child: Order) -> tuple[str, list[Any]] | None:
    """The statement that moves the parent's sum by this child's save (None: no parent).

    Run before the child's own row is written (in a statement of CTEs, all read the rows
    as they were, whatever the order).
    """
    if child.parent_id is None:
        return None
    pk = OrderSummary._meta.pk
    child_id = pk.get_db_prep_value(child.id, connection)
    parent_id = pk.get_db_prep_value(UUID(child.parent_id), connection)
    delta = [child.weight, child.progress, child_id]
    return _moved_sql(connection.vendor), [*delta, *delta, parent_id, child_id, child.version]


def lock_rows(order_ids: list[UUID]) -> None:
    """Hold the rows of these orders until the transaction ends (PostgreSQL; SQLite has one writer).

    A catch-up and a writer that is not inline may move the same child at once; whoever
    comes second must read the row the first one wrote, not the one it started from.
    """
    if connection.vendor != "postgresql" or not order_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {connection.ops.quote_name(OrderSummary._meta.db_table)}"
            " WHERE order_id = ANY(%s) ORDER BY order_id FOR UPDATE",
            [order_ids],
        )


def expected_children_progress(parent_id: UUID) -> int:
    """The sum of weight x progress over the parent's children rows (a scan: for audits)."""
    total = OrderSummary.objects.filter(parent_id=parent_id).aggregate(
        sum=Sum(F("weight") * F("progress"))
    )["sum"]
    return int(total or 0)
