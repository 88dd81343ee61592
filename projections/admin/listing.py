"""What keeps the order list fast at any size: cheap filters, a capped count, owner names."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

from orders.domain.order import Status
from projections.models import OrderSummary


class StatusFilter(admin.SimpleListFilter):
    """The five statuses, known in advance: no DISTINCT query over the whole table."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(s.value, s.value) for s in Status]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(status=self.value())
        return queryset


def resource_names() -> list[str]:
    """The distinct resource names of all orders, one index probe per name.

    Django's own filter asks for SELECT DISTINCT, which reads the whole table on every
    page of the list (tens of milliseconds at 100,000 orders). This walks the index on
    (resource_name, created) from one name to the next instead: a few probes for the
    few names there are, on PostgreSQL and SQLite alike.
    """
    table = connection.ops.quote_name(OrderSummary._meta.db_table)
    sql = f"""
        WITH RECURSIVE names(name) AS (
            SELECT MIN(resource_name) FROM {table}
            UNION ALL
            SELECT (SELECT MIN(resource_name) FROM {table} WHERE resource_name > names.name)
            FROM names WHERE names.name IS NOT NULL
        )
        SELECT name FROM names WHERE name IS NOT NULL
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


class ResourceFilter(admin.SimpleListFilter):
    """The resources that have orders, found without reading every row."""

    title = "resource"
    parameter_name = "resource_name"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in resource_names()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(resource_name=self.value())
        return queryset


class CappedCountPaginator(Paginator):
    """Counts the matching orders only up to ``cap``: a page costs the same at any size.

    COUNT(*) reads every matching row (or index entry), so its cost grows with the
    table; counting at most ``cap + 1`` does not. Past the cap the list says "more
    than 10,000", and any page number is served (one past the real end is empty).
    """

    cap = 10_000

    # The column the count reads: every index that serves a filter of the list ends
    # with ``created``, so counting it reads the index alone. (Counting the primary key
    # makes SQLite visit each row: its other indexes point at rowids, not order ids.)
    count_column = "created"

    @cached_property
    def count(self) -> int:
        # Without the list's ORDER BY: the count may then use whichever index serves
        # the filter (with it, SQLite walks the created index and filters every row).
        rows = self.object_list.order_by().values(self.count_column)
        return int(rows[: self.cap + 1].count())

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    @property
    def cap_text(self) -> str:
        return f"{self.cap:,}"

    def validate_number(self, number: Any) -> int:
        if not self.capped:
            return int(super().validate_number(number))
        try:
            page = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if page < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return page

    def page(self, number: Any) -> Page:
        if not self.capped:
            return super().page(number)
        # Django's page() cuts the slice at the count, which is only the cap here.
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        return self._get_page(self.object_list[bottom : bottom + self.per_page], number, self)


def with_owner_names(rows: Iterable[Any]) -> list[Any]:
    """The rows, each with ``owner_name`` set: the owners' user names in one query."""
    rows = list(rows)
    ids = {int(row.owner) for row in rows if row.owner and row.owner.isdigit()}
    User = get_user_model()
    names = {
        str(pk): name
        for pk, name in User.objects.filter(pk__in=ids).values_list("pk", User.USERNAME_FIELD)
    }
    for row in rows:
        row.owner_name = names.get(row.owner or "", "")
    return rows
