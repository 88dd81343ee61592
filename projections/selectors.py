"""Selectors: the read side's questions, answered from the read models as plain data.

The API, the admin's views, the examples and the supervision loop ask these; none of them
reads the read models' tables or the ORM rows directly. An order is an
:class:`~orders.domain.state.OrderState`; a list is a lazy query of plain dicts (so that
DRF's paginators can page it in the database), which ``state_from_row`` turns into states.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from orders.application.tracker import OrderNotFoundError
from orders.domain.order import TERMINAL
from orders.domain.state import FIELD_NAMES, OrderState
from orders.infrastructure.runtime import get_tracker
from projections.models import OrderEvent, OrderSummary
from projections.projector import project_saved

HISTORY_FIELDS = ("version", "type", "timestamp", "data")


@lru_cache(maxsize=8)
def _row_reader(
    vendor: str, names: tuple[str, ...]
) -> tuple[str, list[tuple[int, list[Any], Any]]]:
    # A fixed SQL string and the model's converters, made once: the status GET is the hot
    # path, and compiling an ORM query (or mapping a raw query's columns) on every poll was
    # a third of its CPU (bench/status_cpu.py, docs/benchmarks.md).
    meta = OrderSummary._meta
    quote = connection.ops.quote_name
    columns = [meta.get_field(name).get_col(meta.db_table) for name in names]
    sql = (
        f"SELECT {', '.join(quote(c.target.column) for c in columns)}"
        f" FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} = %s"
    )
    converters = []
    for i, column in enumerate(columns):
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((i, found, column))
    return sql, converters


def _read_row(order_id: UUID, names: tuple[str, ...]) -> list[Any] | None:
    """These columns of the order's summary row, converted as the ORM would (None: no row)."""
    sql, converters = _row_reader(connection.vendor, names)
    with connection.cursor() as cursor:
        cursor.execute(sql, [OrderSummary._meta.pk.get_db_prep_value(order_id, connection)])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for i, functions, column in converters:
        for convert in functions:
            values[i] = convert(values[i], column, connection)
    return values


def read_summary(order_id: UUID) -> OrderState | None:
    """The order's state as the read model has it (None if it has no row)."""
    values = _read_row(order_id, FIELD_NAMES)
    return None if values is None else OrderState(**dict(zip(FIELD_NAMES, values, strict=True)))


# What a conditional poll reads: who may see it, its version, and what stalled and
# Retry-After are worked out from (orders.domain.timing), not the context or traceback.
HEAD_FIELDS = (
    "owner", "version", "resource_name", "status", "progress", "total", "updated", "started_at"
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SummaryHead:
    """The few columns of an order's read model that answer a conditional poll."""

    owner: str | None
    version: int
    resource_name: str
    status: str
    progress: int
    total: int | None
    updated: datetime
    started_at: datetime | None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL


def summary_head(order_id: UUID) -> SummaryHead | None:
    """The poll's columns of the order's read model, or None without a row."""
    values = _read_row(order_id, HEAD_FIELDS)
    return None if values is None else SummaryHead(*values)


def order_summary(order_id: UUID) -> OrderState | None:
    """The order's state; projected on the spot if its events are not in the read model yet.

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
    return read_summary(order_id)


def state_from_row(row: dict[str, Any]) -> OrderState:
    """An order's state from one row of ``orders_for``."""
    return OrderState(**row)


def orders_for(
    owner: str | None,
    *,
    everyone: bool = False,
    status: str | None = None,
    resource: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    parent: UUID | None = None,
) -> QuerySet[OrderSummary, dict[str, Any]]:
    """The orders of ``owner`` (``everyone``: all of them) that match, as dicts (lazy)."""
    rows = OrderSummary.objects.all()
    if not everyone:
        rows = rows.filter(owner=owner)
    if status is not None:
        rows = rows.filter(status=status)
    if resource is not None:
        rows = rows.filter(resource_name=resource)
    if created_after is not None:
        rows = rows.filter(created__gt=created_after)
    if created_before is not None:
        rows = rows.filter(created__lt=created_before)
    if parent is not None:
        rows = rows.filter(parent_id=parent)
    return rows.values(*FIELD_NAMES)


def history(order_id: UUID) -> QuerySet[OrderEvent, dict[str, Any]]:
    """The order's events, oldest first, as dicts of ``HISTORY_FIELDS`` (lazy)."""
    return OrderEvent.objects.filter(order_id=order_id).order_by("version").values(*HISTORY_FIELDS)


def waiting_orders(not_sent_before: datetime, unstarted_before: datetime) -> list[UUID]:
    """Queued orders not sent since ``not_sent_before``, or sent but not started since the other."""
    rows = OrderSummary.objects.filter(
        Q(status="queued", dispatched=False, updated__lt=not_sent_before)
        | Q(status="queued", dispatched=True, updated__lt=unstarted_before)
    )
    return list(rows.values_list("order_id", flat=True)[:500])


def unsettled_parents(waiting_since: datetime) -> list[UUID]:
    """Parents waiting since then for children whose rows show more ends than they recorded.

    A child's end reaches its parent in a second write (``orders/application/fanout.py``);
    this finds the parents a crash between the two left waiting (one count of its
    children's rows each, by the parent index, for the few parents waiting that long).
    """
    ended_rows = (
        OrderSummary.objects.filter(parent_id=OuterRef("order_id"), status__in=TERMINAL)
        .order_by()
        .values("parent_id")
        .annotate(n=Count("*"))
        .values("n")
    )
    rows = (
        OrderSummary.objects.filter(
            status="running", awaiting_children=True, updated__lt=waiting_since
        )
        .annotate(ended_rows=Coalesce(Subquery(ended_rows), 0))
        .filter(children_ended__lt=F("ended_rows"))
    )
    return list(rows.values_list("order_id", flat=True)[:500])


def silent_orders(silent_since: datetime) -> list[UUID]:
    """Running orders with no event since ``silent_since`` (not parents awaiting children)."""
    rows = OrderSummary.objects.filter(
        status="running", awaiting_children=False, updated__lt=silent_since
    )
    return list(rows.values_list("order_id", flat=True)[:500])
