"""The admin's view of fan-out: a column and a filter for the tree, a parent's children."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from projections.admin.formatting import progress_bar, status_badge
from projections.models import OrderSummary

# A parent's page shows its newest children, and links to the list of all of them.
CHILDREN_SHOWN = 50


def changelist_url(**params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{reverse('admin:projections_ordersummary_changelist')}?{query}"


def change_url(order_id: UUID) -> str:
    return reverse("admin:projections_ordersummary_change", args=[order_id])


class FamilyFilter(admin.SimpleListFilter):
    """Top-level orders, parents, children; or, from a parent's page, the children of one."""

    title = "fan-out"
    parameter_name = "family"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("top", "top-level"), ("parents", "parents"), ("children", "children")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "top":
            return queryset.filter(parent_id__isnull=True)
        if value == "parents":
            return queryset.filter(children__gt=0)
        if value == "children":
            return queryset.filter(parent_id__isnull=False)
        if value:
            try:
                return queryset.filter(parent_id=UUID(value))  # the children of this order
            except ValueError:
                return queryset.none()
        return queryset


@admin.display(description="fan-out")
def family_column(obj: OrderSummary) -> SafeString:
    """ "3/10 children" for a parent (a link to them), "child of <id>" for a child."""
    if obj.children:
        return format_html(
            '<a href="{}">{}/{} children</a>{}',
            changelist_url(family=str(obj.order_id)),
            obj.children_ended,
            obj.children,
            format_html(' <span class="order-failure">{} failed</span>', obj.children_failed)
            if obj.children_failed
            else "",
        )
    if obj.parent_id:
        return format_html(
            'child of <a href="{}">{}</a>', change_url(obj.parent_id), str(obj.parent_id)[:8]
        )
    return format_html("{}", "")


def family_context(summary: OrderSummary) -> dict[str, Any]:
    """What the order's page shows of its parent and its children (newest first)."""
    rows = (
        OrderSummary.objects.filter(parent_id=summary.order_id).order_by("-created")[
            :CHILDREN_SHOWN
        ]
        if summary.children
        else []
    )
    return {
        "parent_url": change_url(summary.parent_id) if summary.parent_id else None,
        "children_rows": [
            {
                "url": change_url(row.order_id),
                "order_id": row.order_id,
                "resource_name": row.resource_name,
                "weight": row.weight,
                "status_html": status_badge(row.status),
                "progress_html": progress_bar(row.progress, row.status),
                "message": row.message,
            }
            for row in rows
        ],
        "children_url": changelist_url(family=str(summary.order_id)),
    }
