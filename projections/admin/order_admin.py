"""The order ModelAdmin: read-only columns and pages, the timeline, replay by version, re-run."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from callbacks.admin import resend_callbacks
from orders.application.dispatch import UnknownResourceError
from orders.application.services import place_order
from orders.application.tracker import OrderNotFoundError
from orders.domain.context import ContextRejectedError
from orders.domain.order import TERMINAL, Order
from orders.domain.state import state_of
from orders.infrastructure.runtime import get_tracker
from projections.admin.family import FamilyFilter, family_column, family_context
from projections.admin.formatting import (
    display_value,
    format_duration,
    order_duration,
    progress_bar,
    status_badge,
)
from projections.admin.listing import (
    CappedCountPaginator,
    ResourceFilter,
    StatusFilter,
    with_owner_names,
)
from projections.admin.timeline import build_chart, build_timeline
from projections.models import OrderEvent, OrderSummary

# At most this many orders are re-run by one action: "select all 100,000" followed by a
# misclick must not launch a hundred thousand tasks.
RERUN_LIMIT = 100


class OrderSummaryAdmin(admin.ModelAdmin):
    """Orders as the read models know them; only the replay view reads the event store."""

    list_display = (
        "order_id",
        "resource_column",
        "status_column",
        "progress_column",
        "owner_column",
        "created_column",
        "duration_column",
        family_column,
    )
    list_filter = (StatusFilter, ResourceFilter, FamilyFilter, "created")
    search_fields = ("order_id", "message")
    search_help_text = "A whole order id, or words of the order's message."
    ordering = ("-created",)
    list_per_page = 50
    paginator = CappedCountPaginator
    # No second COUNT(*) of the whole table for "N results (M total)".
    show_full_result_count = False
    # Facet counts cost aggregates over the whole table for every filter: 0.4 s of SQL
    # (PostgreSQL) to 1.3 s (SQLite) per page at 100,000 orders (docs/benchmarks.md).
    show_facets = admin.ShowFacets.NEVER
    # No "select all N orders" across pages: re-running is meant for a few chosen orders.
    actions_selection_counter = False
    actions = ("rerun", resend_callbacks)
    readonly_fields = (
        "status_column",
        "progress_column",
        "owner_column",
        "duration_column",
        "context_pretty",
        "traceback_folded",
    )
    fieldsets = (
        (
            "Order",
            {
                "fields": (
                    "order_id",
                    "resource_name",
                    "status_column",
                    "progress_column",
                    "message",
                    "owner_column",
                    "created",
                    "updated",
                    "duration_column",
                    "version",
                )
            },
        ),
        (
            "Work",
            {
                "fields": (
                    "worker",
                    "attempt",
                    "current",
                    "total",
                    "resource_url",
                    "dispatched",
                    "cancel_requested",
                    "context_pretty",
                )
            },
        ),
        ("Failure", {"fields": ("error_type", "traceback_folded")}),
        ("Integrity", {"classes": ("collapse",), "fields": ("chain_hash",)}),
    )

    # --- who may do what: staff read everything (as in the API), nobody edits

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._is_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The API already shows every order to every staff user; the admin follows it
        # rather than ask for a per-model permission nobody would think to grant.
        return self._is_staff(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_rerun_permission(self, request: HttpRequest) -> bool:
        return self._is_staff(request)

    @staticmethod
    def _is_staff(request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff)

    # --- the list

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        # The owner column shows user names: one query for the page, not one per row.
        changelist.result_list = with_owner_names(changelist.result_list)
        return changelist

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        # A whole order id is looked up by primary key (an index lookup); Django's
        # default for a UUID (a text match on the cast column) scans every row.
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            order_id = UUID(term)
        except ValueError:
            return queryset.filter(message__icontains=term), False
        return queryset.filter(order_id=order_id), False

    @admin.display(description="resource", ordering="resource_name")
    def resource_column(self, obj: OrderSummary) -> str:
        return obj.resource_name

    @admin.display(description="created", ordering="created")
    def created_column(self, obj: OrderSummary) -> SafeString:
        created = timezone.localtime(obj.created)
        return format_html(
            '<time datetime="{}" title="{}">{}</time>',
            created.isoformat(),
            created.isoformat(sep=" ", timespec="milliseconds"),
            created.strftime("%Y-%m-%d %H:%M"),
        )

    @admin.display(description="status", ordering="status")
    def status_column(self, obj: OrderSummary) -> SafeString:
        return status_badge(obj.status)

    @admin.display(description="progress", ordering="progress")
    def progress_column(self, obj: OrderSummary) -> SafeString:
        return progress_bar(obj.progress, obj.status)

    @admin.display(description="owner", ordering="owner")
    def owner_column(self, obj: OrderSummary) -> SafeString:
        if not obj.owner:
            return mark_safe('<span class="order-muted" title="anonymous">—</span>')
        name = getattr(obj, "owner_name", None)
        if name is None:  # the change view: a single row, one query
            User = get_user_model()
            user = User.objects.filter(pk=obj.owner).first() if obj.owner.isdigit() else None
            name = user.get_username() if user else ""
        if not name:
            return format_html("#{}", obj.owner)
        return format_html('{} <span class="order-muted">#{}</span>', name, obj.owner)

    @admin.display(description="duration")
    def duration_column(self, obj: OrderSummary) -> SafeString:
        text = format_duration(order_duration(obj))
        if obj.status in TERMINAL:
            return format_html("{}", text)
        return format_html('<span class="order-muted" title="so far">{} …</span>', text)

    @admin.display(description="context")
    def context_pretty(self, obj: OrderSummary) -> SafeString:
        if obj.context_erased:
            return mark_safe('<span class="order-muted">erased (orders forget)</span>')
        text = json.dumps(obj.context, indent=2, sort_keys=True, ensure_ascii=False)
        return format_html('<pre class="order-pre">{}</pre>', text)

    @admin.display(description="traceback")
    def traceback_folded(self, obj: OrderSummary) -> SafeString:
        if not obj.traceback:
            return mark_safe("—")
        return format_html(
            '<details class="order-traceback"><summary>{} lines</summary>'
            '<pre class="order-pre">{}</pre></details>',
            len(obj.traceback.splitlines()),
            obj.traceback,
        )

    # --- the order page: a timeline

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        replay = path(
            "<uuid:order_id>/replay/<int:version>/",
            self.admin_site.admin_view(self.replay_view),
            name="{}_{}_replay".format(*info),
        )
        # Before the default URLs: their "<path:object_id>/" would take it otherwise.
        return [replay, *super().get_urls()]

    def replay_url(self, order_id: UUID, version: int) -> str:
        info = self.opts.app_label, self.opts.model_name
        return reverse(
            "admin:{}_{}_replay".format(*info),
            args=[order_id, version],
            current_app=self.admin_site.name,
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = dict(extra_context or {})
        summary = self.get_object(request, object_id)
        if summary is not None:
            events = OrderEvent.objects.filter(order_id=summary.order_id).order_by("version")
            timeline = build_timeline(list(events), lambda v: self.replay_url(summary.order_id, v))
            context.update(
                title=f"Order {summary.order_id}",
                subtitle=None,  # Django's would repeat the title
                timeline=timeline,
                chart=build_chart(timeline),
                summary=summary,
                status_html=status_badge(summary.status),
                progress_html=progress_bar(summary.progress, summary.status),
                duration_html=self.duration_column(summary),
                **family_context(summary),
            )
        return super().change_view(request, object_id, form_url, context)

    def replay_view(self, request: HttpRequest, order_id: UUID, version: int) -> HttpResponse:
        """The order's state right after event ``version``, rebuilt from the event store."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if version < 1:
            raise Http404("versions start at 1")
        tracker = get_tracker()
        try:
            order = tracker.get_order(order_id, version=version)
        except OrderNotFoundError:
            raise Http404(f"order {order_id} has no version {version}") from None
        state = _shown_state(order)
        before: dict[str, Any] = {}
        if version > 1:
            before = _shown_state(tracker.get_order(order_id, version=version - 1))
        rows = [
            (name, display_value(value), version > 1 and before.get(name) != value)
            for name, value in state.items()
        ]
        event = OrderEvent.objects.filter(order_id=order_id, version=version).first()
        latest = (
            OrderSummary.objects.filter(order_id=order_id).values_list("version", flat=True).first()
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Order {order_id} after event {version}",
            "subtitle": "Replayed from the event store",
            "order_id": order_id,
            "version": version,
            "latest": latest,
            "event": event,
            "rows": rows,
            "status_html": status_badge(state["status"]),
            "progress_html": progress_bar(state["progress"], state["status"]),
            "previous_url": self.replay_url(order_id, version - 1) if version > 1 else "",
            "next_url": (
                self.replay_url(order_id, version + 1)
                if latest is not None and version < latest
                else ""
            ),
            "change_url": reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                args=[order_id],
                current_app=self.admin_site.name,
            ),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/projections/ordersummary/replay.html", context)

    # --- the action

    @admin.action(description="Re-run as a new order with the same context", permissions=("rerun",))
    def rerun(self, request: HttpRequest, queryset: QuerySet[OrderSummary]) -> None:
        wanted = queryset.only("order_id", "resource_name", "context", "context_erased", "owner")
        rows = list(wanted[: RERUN_LIMIT + 1])
        if len(rows) > RERUN_LIMIT:
            self.message_user(
                request,
                f"Only the first {RERUN_LIMIT} selected orders are re-run at once.",
                messages.WARNING,
            )
            rows = rows[:RERUN_LIMIT]
        done = rerun_orders(rows)
        placed = done.placed
        if placed:
            links = format_html_join(
                ", ",
                '<a href="{}">{}</a>',
                (
                    (reverse("admin:projections_ordersummary_change", args=[o]), str(o)[:8])
                    for o in placed
                ),
            )
            noun = "order" if len(placed) == 1 else "orders"
            self.message_user(
                request, format_html("Placed {} new {}: {}.", len(placed), noun, links)
            )
        for resource, count in sorted(done.unknown.items()):
            self.message_user(
                request,
                f"{_rows(count)} not re-run: resource {resource!r} is no longer registered.",
                messages.ERROR,
            )
        for reason, count in sorted(done.rejected.items()):
            self.message_user(
                request,
                f"{_rows(count)} not re-run, the context was rejected: {reason}",
                messages.ERROR,
            )


def _rows(count: int) -> str:
    return f"{count} order was" if count == 1 else f"{count} orders were"


def _shown_state(order: Order) -> dict[str, Any]:
    # The replay page names the order in its title: its id is not one of the rows.
    return {k: v for k, v in state_of(order).as_dict().items() if k != "order_id"}


@dataclass
class Rerun:
    """What re-running some orders did: the new ids, and the rows skipped, counted by why."""

    placed: list[UUID] = field(default_factory=list)
    # Rows skipped per resource that is no longer registered.
    unknown: Counter[str] = field(default_factory=Counter)
    # Rows skipped per reason their context was rejected (place_order checks it now, as
    # for an order from the API; an old row may hold what the rules no longer accept).
    rejected: Counter[str] = field(default_factory=Counter)


def rerun_orders(rows: Iterable[OrderSummary]) -> Rerun:
    """Place a new order for each row (same resource, context and owner).

    A row whose resource is no longer registered, or whose context ``place_order``
    rejects, is skipped and counted (see :class:`Rerun`).
    """
    done = Rerun()
    for row in rows:
        if row.context_erased:  # forgotten: re-running it with {} is not the same order
            done.rejected["the context was erased"] += 1
            continue
        try:
            done.placed.append(place_order(row.resource_name, row.context, row.owner))
        except UnknownResourceError:
            done.unknown[row.resource_name] += 1
        except ContextRejectedError as rejected:
            done.rejected[str(rejected)] += 1
    return done
