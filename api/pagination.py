"""Paging: the order list by cursor (newest first), an order's history by page number.

Both refuse a ``page_size`` out of range with a 400 naming it, where DRF would quietly
fall back to its default: a client that asked for 5,000 rows should learn it gets 500.
A page or a cursor, however forged, is a 404 naming it, never a crash.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination
from rest_framework.request import Request

from api.params import int_between
from api.problems import Problem


class _StrictPageSize:
    page_size_query_param = "page_size"
    max_page_size: int

    def get_page_size(self, request: Request) -> int | None:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and int_between(raw, 1, self.max_page_size) is None:
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


class CheckedCursorPagination(CursorPagination):
    """A cursor is base64 the client can edit: its position is checked before any query."""

    _model: type[Model] | None = None

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any] | None:
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def _bad_cursor(self) -> Problem:
        return Problem(404, "Not Found", "Invalid cursor.", self.cursor_query_param)

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise self._bad_cursor() from None
        position = cursor.position if cursor is not None else None
        if position is not None and ("\x00" in position or not self._storable(position)):
            raise self._bad_cursor()
        return cursor

    def _storable(self, position: str) -> bool:
        # The position is compared with the first ordering field: it must be a value of
        # that field the database can take (a date whose UTC form is a date, ...).
        if self._model is None:
            return True
        assert isinstance(self.ordering, list | tuple)
        field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
        try:
            value = field.to_python(position)
            if isinstance(value, datetime) and value.tzinfo is not None:
                value.astimezone(UTC)
        except (ValidationError, ValueError, OverflowError):
            return False
        return True


class CheckedPageNumberPagination(PageNumberPagination):
    """An unknown page is a 404 naming ``page``."""

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any] | None:
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:
            raise Problem(404, "Not Found", str(exc.detail), self.page_query_param) from None


class OrderCursor(_StrictPageSize, CheckedCursorPagination):
    ordering = ("-created", "-order_id")
    page_size = 50
    max_page_size = 500


class HistoryPagination(_StrictPageSize, CheckedPageNumberPagination):
    page_size = 100
    max_page_size = 1000
