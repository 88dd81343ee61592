"""Paging: the order list by cursor (newest first), an order's history by page number.

Both refuse a ``page_size`` out of range with a 400 naming it, where DRF would quietly
fall back to its default: a client that asked for 5,000 rows should learn it gets 500.
"""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request

from api.problems import Problem


class _StrictPageSize:
    page_size_query_param = "page_size"
    max_page_size: int

    def get_page_size(self, request: Request) -> int | None:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            raise Problem(
                400,
                "Bad Request",
                f"page_size must be an integer from 1 to {self.max_page_size}.",
                "page_size",
            )
        size: int | None = super().get_page_size(request)  # type: ignore[misc]
        return size

    @classmethod
    def page_size_schema(cls) -> dict[str, Any]:
        return {"type": "integer", "minimum": 1, "maximum": cls.max_page_size}


class OrderCursor(_StrictPageSize, CursorPagination):
    ordering = ("-created", "-order_id")
    page_size = 50
    max_page_size = 500


class HistoryPagination(_StrictPageSize, PageNumberPagination):
    page_size = 100
    max_page_size = 1000
