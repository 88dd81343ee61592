"""Comparison views: constant JSON, a one-row TaskResult read, a variant of the status view."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.conditional import status_response
from api.lookup import visible_order
from bench.baseline.models import TaskResult
from orders.domain.state import FIELD_NAMES, OrderState
from projections.models import OrderSummary
from projections.selectors import order_summary

CONSTANT = {"status": "ok", "progress": 50}


class ConstantView(APIView):
    """``GET /bench/constant/``: the same small JSON body every time, no database query."""

    def get(self, request: Request) -> Response:
        return Response(CONSTANT)


class TaskResultView(APIView):
    """``GET /bench/taskresult/<task_id>/``: one indexed row, as django-celery-results keeps it."""

    def get(self, request: Request, task_id: str) -> Response:
        try:
            row = TaskResult.objects.get(task_id=task_id)
        except TaskResult.DoesNotExist:
            raise NotFound(f"No task {task_id}.") from None
        return Response(
            {
                "task_id": row.task_id,
                "status": row.status,
                "result": row.result,
                "date_done": row.date_done.isoformat(),
            }
        )


def _state(row: OrderSummary) -> OrderState:
    return OrderState(**{name: getattr(row, name) for name in FIELD_NAMES})


def find_summary_by_get(order_id: UUID) -> OrderState | None:
    """``projections.selectors.order_summary`` with ``.get()`` in place of its fixed SQL.

    ``.first()`` on an unordered queryset adds ``ORDER BY pk``, which Django compiles on
    every call; a primary-key lookup needs no ordering. Misses fall back to the project's
    own ``order_summary`` (which projects an order found only in the event store).
    """
    try:
        return _state(OrderSummary.objects.get(order_id=order_id))
    except OrderSummary.DoesNotExist:
        return order_summary(order_id)


_RAW_SQL = f'SELECT * FROM "{OrderSummary._meta.db_table}" WHERE "order_id" = %s'


def find_summary_by_raw(order_id: UUID) -> OrderState | None:
    """``order_summary`` through ``.raw()`` (the ORM maps the columns on every call)."""
    for summary in OrderSummary.objects.raw(_RAW_SQL, [order_id]):
        return _state(summary)
    return order_summary(order_id)


def respond(
    request: Request, order_id: str, lookup: Callable[[UUID], OrderState | None]
) -> Response:
    """``api.views.OrderView.get`` (no replay), reading the summary with ``lookup``."""
    return status_response(request, visible_order(request, order_id, lookup))


class StatusByGetView(APIView):
    """``GET /bench/status-get/<uuid>/``: ``OrderView`` with the summary read by ``.get()``.

    The benchmark checks that it answers exactly what ``OrderView`` answers.
    """

    def get(self, request: Request, order_id: str) -> Response:
        return respond(request, order_id, find_summary_by_get)


class StatusByRawView(APIView):
    """``GET /bench/status-raw/<uuid>/``: ``OrderView`` with the summary read by fixed SQL.

    The benchmark checks that it answers exactly what ``OrderView`` answers.
    """

    def get(self, request: Request, order_id: str) -> Response:
        return respond(request, order_id, find_summary_by_raw)
