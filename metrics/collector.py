"""A prometheus-client collector that reads the metrics' tables at scrape time.

Every value is read from the database when scraped, none is kept in a process: any web
process answers the same, however many gunicorn and Celery prefork processes there are,
so prometheus-client's multiprocess mode is not needed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Min
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from metrics.models import LiveOrder, Tally
from metrics.projection import BUCKETS, INF, POSITION_NAME, format_bound
from orders.application.timing import stall_after
from orders.application.tracker import OrderTracker
from orders.domain.order import Status
from projections.models import OrderSummary, ProjectionPosition
from projections.projector import POSITION_NAME as READ_MODELS

PREFIX = "async_rest"
# Counters kept as tallies: (name, help, the second label's name or None).
COUNTERS: tuple[tuple[str, str, str | None], ...] = (
    ("placed", "Orders placed.", None),
    ("ended", "Orders ended, by end status.", "status"),
    ("retries", "Attempts that failed and were retried (Retried events).", None),
    ("redelivered", "Attempts restarted after their worker died mid-task.", None),
    ("cancels", "Cancels asked for (a queued order at once, a running one by request).", None),
    ("reaped", "Running orders failed by the reaper: their worker was lost.", None),
    ("relayed", "Orders sent to the queue by the relay (broker down, or message lost).", None),
    ("events", "Events appended to the order log, by type.", "type"),
    ("callbacks", "Callback delivery attempts, by outcome (delivered, failed).", "outcome"),
)  # fmt: skip
HISTOGRAMS: tuple[tuple[str, str], ...] = (
    ("queue_seconds", "Seconds from queued (placed or retried) to started, per attempt."),
    ("run_seconds", "Seconds from started to the attempt's end (ended or retried)."),
)
IN_FLIGHT = (Status.QUEUED.value, Status.RUNNING.value)
ENDED = tuple(s.value for s in Status if s.value not in IN_FLIGHT)


class TallyCollector(Collector):
    """The order metrics, from the tallies, the orders in flight and the projections' positions."""

    def __init__(self, tracker: OrderTracker, now: datetime | None = None) -> None:
        self.tracker = tracker
        self.now = now

    def collect(self) -> Iterator[Metric]:
        tallies: defaultdict[str, dict[tuple[str, str], float]] = defaultdict(dict)
        for metric, resource, label, value in Tally.objects.values_list(
            "metric", "resource", "label", "value"
        ):
            tallies[metric][(resource, label)] = value
        yield from self._counters(tallies)
        yield from self._histograms(tallies)
        yield from self._orders(tallies["ended"])
        yield from self._lag()

    def _counters(self, tallies: dict[str, dict[tuple[str, str], float]]) -> Iterator[Metric]:
        resources = {resource for resource, _ in tallies.get("placed", {})}
        for name, text, second in COUNTERS:
            labels = ["resource"] + ([second] if second else [])
            full = (
                f"{PREFIX}_{name}" if name in ("events", "callbacks") else f"{PREFIX}_orders_{name}"
            )
            family = CounterMetricFamily(full, text, labels=labels)
            found = tallies.get(name, {})
            if not second:
                # Every resource ever placed has each counter, at 0 until it happens, so
                # that rate() and alerts see a series from the start.
                found = {(r, ""): found.get((r, ""), 0.0) for r in resources} | found
            for (resource, label), value in sorted(found.items()):
                family.add_metric([resource, label] if second else [resource], value)
            yield family

    def _histograms(self, tallies: dict[str, dict[tuple[str, str], float]]) -> Iterator[Metric]:
        bounds = [format_bound(b) for b in BUCKETS] + [INF]
        for name, text in HISTOGRAMS:
            family = HistogramMetricFamily(f"{PREFIX}_order_{name}", text, labels=["resource"])
            counts = tallies.get(name, {})
            sums = tallies.get(f"{name}_sum_us", {})
            for resource in sorted({resource for resource, _ in counts}):
                total, buckets = 0.0, []
                for bound in bounds:
                    total += counts.get((resource, bound), 0.0)
                    buckets.append((bound, total))
                family.add_metric([resource], buckets, sums.get((resource, ""), 0.0) / 1e6)
            yield family

    def _orders(self, ended: dict[tuple[str, str], float]) -> Iterator[Metric]:
        now = self.now or datetime.now(UTC)
        orders = GaugeMetricFamily(
            f"{PREFIX}_orders", "Orders by resource and status.", labels=["resource", "status"]
        )
        oldest = GaugeMetricFamily(
            f"{PREFIX}_orders_oldest_seconds",
            "Age of the oldest order in each status still in flight (since it entered it).",
            labels=["resource", "status"],
        )
        in_flight = (
            LiveOrder.objects.values("resource", "status")
            .annotate(n=Count("pk"), since=Min("since"))
            .order_by("resource", "status")
        )
        resources = {resource for resource, _ in ended}
        for row in in_flight:
            resources.add(row["resource"])
            orders.add_metric([row["resource"], row["status"]], row["n"])
            oldest.add_metric(
                [row["resource"], row["status"]], (now - row["since"]).total_seconds()
            )
        for (resource, status), value in sorted(ended.items()):
            orders.add_metric([resource, status], value)
        yield orders
        yield oldest
        yield self._stalled(now, sorted(resources))

    def _stalled(self, now: datetime, resources: list[str]) -> Metric:
        # From the read model: the one place that knows each running order's last event.
        stalled = GaugeMetricFamily(
            f"{PREFIX}_orders_stalled",
            "Running orders silent for longer than their resource's stall_after.",
            labels=["resource"],
        )
        for resource in resources:
            limit = stall_after(resource)
            if not limit:
                continue
            silent = OrderSummary.objects.filter(
                status=Status.RUNNING.value,
                resource_name=resource,
                updated__lt=now - timedelta(seconds=limit),
            ).count()
            stalled.add_metric([resource], silent)
        return stalled

    def _lag(self) -> Iterator[Metric]:
        head = self.tracker.last_position()
        yield GaugeMetricFamily(
            f"{PREFIX}_event_log_head", "Position of the newest event in the log.", value=head
        )
        lag = GaugeMetricFamily(
            f"{PREFIX}_projection_lag_events",
            "Events in the log that a projection has not followed yet.",
            labels=["projection"],
        )
        positions = dict(ProjectionPosition.objects.values_list("name", "position"))
        for name in (READ_MODELS, POSITION_NAME):
            lag.add_metric([name], max(0, head - positions.get(name, 0)))
        yield lag
