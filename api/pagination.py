"""Paginators whose page and cursor, however forged, are a 404 naming them, never a crash."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination
from rest_framework.request import Request

from api.problems import Problem


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
