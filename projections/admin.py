"""Staff admin for orders: a fast list, a timeline per order, replay by version, re-run."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from uuid import UUID

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connection
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from orders.application.dispatch import UnknownResourceError
from orders.application.services import place_order
from orders.application.tracker import OrderNotFoundError
from orders.domain.order import TERMINAL, Order, Status
from orders.domain.state import progress_after, state_of
from orders.infrastructure.runtime import get_tracker
from projections.models import OrderEvent, OrderSummary

# At most this many orders are re-run by one action: "select all 100,000" followed by a
# misclick must not launch a hundred thousand tasks.
RERUN_LIMIT = 100


# ---------------------------------------------------------------------- formatting


def format_duration(delta: timedelta | float | None) -> str:
    """A short human duration: "350 ms", "12.3 s", "4 min 12 s", "3 h 5 min", "2 d 4 h"."""
    if delta is None:
        return "—"
    seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
    seconds = max(seconds, 0.0)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    if whole < 86400:
        return f"{whole // 3600} h {whole % 3600 // 60} min"
    return f"{whole // 86400} d {whole % 86400 // 3600} h"


def order_duration(summary: OrderSummary, now: datetime | None = None) -> timedelta:
    """How long the order took; for one still queued or running, how long it has been going."""
    if summary.status in TERMINAL:
        return summary.updated - summary.created
    return (now or timezone.now()) - summary.created


def status_badge(status: str) -> SafeString:
    return format_html('<span class="order-badge order-badge--{0}">{0}</span>', status)


def progress_bar(percent: int, status: str = "") -> SafeString:
    percent = max(0, min(100, int(percent)))
    return format_html(
        '<span class="order-bar order-bar--{}" role="progressbar" aria-valuemin="0" '
        'aria-valuemax="100" aria-valuenow="{}" title="{}%">'
        '<span class="order-bar__fill" style="width: {}%"></span></span>'
        '<span class="order-bar__label">{}%</span>',
        status,
        percent,
        percent,
        percent,
        percent,
    )


def display_value(value: Any) -> str:
    """A field's value as text: JSON for structures, a dash for nothing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="milliseconds")
    return str(value)


# ------------------------------------------------------------- timeline and chart


@dataclass
class TimelineEntry:
    """One event of the order as the timeline shows it."""

    event: OrderEvent
    gap: timedelta | None
    progress: int
    replay_url: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    failure_message: str = ""
    traceback: str = ""
    show_date: bool = False

    @property
    def local_time(self) -> datetime:
        return timezone.localtime(self.event.timestamp)

    @property
    def time_text(self) -> str:
        """The time of day to the millisecond (the date is shown when it changes)."""
        return self.local_time.strftime("%H:%M:%S.%f")[:-3]

    @property
    def gap_text(self) -> str:
        return "" if self.gap is None else "+" + format_duration(self.gap)

    @property
    def traceback_lines(self) -> int:
        return len(self.traceback.splitlines())


@dataclass
class ChartPoint:
    x: float
    y: float
    version: int
    type: str
    progress: int
    url: str


@dataclass
class ProgressChart:
    """Coordinates of an inline SVG chart of progress against time (no JS, nothing fetched)."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    points: list[ChartPoint]
    line: str
    elapsed: str
    half_elapsed: str

    @property
    def bottom(self) -> int:
        return self.top + self.plot_height

    @property
    def right(self) -> int:
        return self.left + self.plot_width

    @property
    def middle(self) -> int:
        return self.top + self.plot_height // 2

    @property
    def center(self) -> int:
        return self.left + self.plot_width // 2


# A failure's fields that the timeline shows on their own: the message first, the
# traceback folded away.
_FAILURE_FIELDS = {"message", "traceback"}


def build_timeline(events: Sequence[OrderEvent], replay_url: Any) -> list[TimelineEntry]:
    """The timeline rows of an order's events (oldest first); ``replay_url(version)``."""
    entries: list[TimelineEntry] = []
    previous: OrderEvent | None = None
    progress = 0
    for event in events:
        data = dict(event.data or {})
        progress = progress_after(event.type, data, progress)
        entry = TimelineEntry(
            event=event,
            gap=None if previous is None else event.timestamp - previous.timestamp,
            progress=progress,
            replay_url=replay_url(event.version),
        )
        if event.type == "Failed":
            entry.failure_message = str(data.get("message") or "")
            entry.traceback = str(data.get("traceback") or "")
            data = {k: v for k, v in data.items() if k not in _FAILURE_FIELDS}
        # A field with no value (no owner, no item count) is noise on the timeline.
        entry.fields = [
            (name, display_value(value)) for name, value in data.items() if value not in (None, "")
        ]
        entry.show_date = previous is None or (
            timezone.localtime(previous.timestamp).date() != entry.local_time.date()
        )
        entries.append(entry)
        previous = event
    return entries


def build_chart(
    entries: Sequence[TimelineEntry], width: int = 820, height: int = 190
) -> ProgressChart | None:
    """Progress (0-100 %) against time since the first event, as a step line."""
    if not entries:
        return None
    left, top, right_margin, bottom_margin = 44, 12, 16, 26
    plot_width, plot_height = width - left - right_margin, height - top - bottom_margin
    start = entries[0].event.timestamp
    span = (entries[-1].event.timestamp - start).total_seconds()
    points: list[ChartPoint] = []
    for index, entry in enumerate(entries):
        offset = (entry.event.timestamp - start).total_seconds()
        # Events written in the same instant would sit on one another: spread them.
        share = offset / span if span > 0 else index / max(len(entries) - 1, 1)
        points.append(
            ChartPoint(
                x=round(left + share * plot_width, 1),
                y=round(top + (100 - entry.progress) / 100 * plot_height, 1),
                version=entry.event.version,
                type=entry.event.type,
                progress=entry.progress,
                url=entry.replay_url,
            )
        )
    # A step line: progress holds its value until the next event changes it.
    coords = [f"{points[0].x},{points[0].y}"]
    for before, after in pairwise(points):
        coords.append(f"{after.x},{before.y}")
        coords.append(f"{after.x},{after.y}")
    return ProgressChart(
        width=width,
        height=height,
        left=left,
        top=top,
        plot_width=plot_width,
        plot_height=plot_height,
        points=points,
        line=" ".join(coords),
        elapsed=format_duration(span),
        half_elapsed=format_duration(span / 2),
    )


# ------------------------------------------------------------------ list helpers


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


# ---------------------------------------------------------------------- the admin


@admin.register(OrderSummary)
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
    )
    list_filter = (StatusFilter, ResourceFilter, "created")
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
    actions = ("rerun",)
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
        wanted = queryset.only("order_id", "resource_name", "context", "owner")
        rows = list(wanted[: RERUN_LIMIT + 1])
        if len(rows) > RERUN_LIMIT:
            self.message_user(
                request,
                f"Only the first {RERUN_LIMIT} selected orders are re-run at once.",
                messages.WARNING,
            )
            rows = rows[:RERUN_LIMIT]
        placed, unknown = rerun_orders(rows)
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
        for resource, count in sorted(unknown.items()):
            noun = "order was" if count == 1 else "orders were"
            self.message_user(
                request,
                f"{count} {noun} not re-run: resource {resource!r} is no longer registered.",
                messages.ERROR,
            )


def _shown_state(order: Order) -> dict[str, Any]:
    # The replay page names the order in its title: its id is not one of the rows.
    return {k: v for k, v in state_of(order).as_dict().items() if k != "order_id"}


def rerun_orders(rows: Iterable[OrderSummary]) -> tuple[list[UUID], Counter[str]]:
    """Place a new order for each row (same resource, context and owner).

    Returns the new ids, and how many rows were skipped per resource that is no
    longer registered.
    """
    placed: list[UUID] = []
    unknown: Counter[str] = Counter()
    for row in rows:
        try:
            placed.append(place_order(row.resource_name, row.context, row.owner))
        except UnknownResourceError:
            unknown[row.resource_name] += 1
    return placed, unknown
