"""The metrics projection: follows the event log and keeps the tallies, exactly once per event.

Its own position (``ProjectionPosition`` "metrics"), separate from the read models', so the
counters can be rebuilt from the log alone and give the same values. Each batch is counted
and the position moved in one transaction that holds the position row: of several workers
running the supervision loop at once, one counts a batch and the others wait, then see it
counted (counting is not idempotent, unlike the read-model upserts).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F

from metrics.models import LiveOrder, Tally
from orders.application.supervision import WORKER_LOST
from orders.application.tracker import OrderTracker
from orders.domain.order import event_type
from projections.models import OrderSummary, ProjectionPosition

POSITION_NAME = "metrics"

# Upper bounds (seconds) of the queue-to-start and run-duration histograms: from a quick
# task to the six hours of the broker's visibility timeout.
BUCKETS: tuple[float, ...] = (
    0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600
)  # fmt: skip
INF = "+Inf"
ENDINGS = {"Completed": "completed", "Failed": "failed", "Cancelled": "cancelled"}


def bucket_label(seconds: float) -> str:
    """The label of the smallest bucket that holds ``seconds``."""
    i = bisect.bisect_left(BUCKETS, seconds)
    return INF if i == len(BUCKETS) else format_bound(BUCKETS[i])


def format_bound(bound: float) -> str:
    return repr(float(bound))


# Callback attempts, by outcome (callbacks/: each attempt is an event of the order).
CALLBACK_OUTCOMES = {"CallbackDelivered": "delivered", "CallbackFailed": "failed"}


class Counting:
    """One batch's increments and the in-flight orders it touched, written back at the end."""

    def __init__(self, live: dict[UUID, LiveOrder], relay_after: float) -> None:
        self.live = live
        self.known = set(live)
        self.ended: set[UUID] = set()
        self.relay_after = relay_after
        self.tallies: defaultdict[tuple[str, str, str], float] = defaultdict(float)

    def add(self, metric: str, resource: str, label: str = "", value: float = 1) -> None:
        self.tallies[(metric, resource, label)] += value

    def observe(self, metric: str, resource: str, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.add(metric, resource, bucket_label(seconds))
        # Whole microseconds: integers add up exactly (below 2**53), so the sum does not
        # depend on how the log was cut into batches, and a rebuild gives the same value.
        self.add(f"{metric}_sum_us", resource, "", round(seconds * 1e6))

    def _resource_of_ended(self, order_id: UUID) -> str:
        name = (
            OrderSummary.objects.filter(order_id=order_id)
            .values_list("resource_name", flat=True)
            .first()
        )
        return name or ""

    def count(self, domain_event: Any) -> None:
        kind = event_type(domain_event)
        order_id: UUID = domain_event.originator_id
        when: datetime = domain_event.timestamp
        if kind == "Queued":
            resource = domain_event.resource_name
            self.add("placed", resource)
            self.live[order_id] = LiveOrder(
                order_id=order_id, resource=resource, status="queued", since=when
            )
            self.ended.discard(order_id)
        order = self.live.get(order_id)
        # An event after the end (a callback delivery, an erased context) is about the
        # order, not its work: counted under the order's resource, and nothing else moves.
        resource = order.resource if order is not None else self._resource_of_ended(order_id)
        self.add("events", resource, kind)
        if kind in CALLBACK_OUTCOMES:
            self.add("callbacks", resource, CALLBACK_OUTCOMES[kind])
            return
        if order is None:
            return
        if kind == "Dispatched":
            # A second sending, or a first one long after the order was placed (the broker
            # was down when it was), is the relay's work.
            late = (when - order.since).total_seconds() > self.relay_after
            if order.dispatches or late:
                self.add("relayed", resource)
            order.dispatches += 1
        elif kind == "Started":
            if order.status == "queued":
                self.observe("queue_seconds", resource, (when - order.since).total_seconds())
            else:
                self.add("redelivered", resource)  # its worker died mid-task
            order.status, order.since = "running", when
        elif kind == "Retried":
            self._attempt_ended(order, when)
            self.add("retries", resource)
            order.status, order.since = "queued", when
        elif kind == "CancelRequested":
            self.add("cancels", resource)
            order.cancel_requested = True
        elif kind in ENDINGS:
            if kind == "Cancelled" and not order.cancel_requested:
                self.add("cancels", resource)  # a queued order, cancelled at once
            if kind == "Failed" and domain_event.error_type == WORKER_LOST:
                self.add("reaped", resource)
            self._attempt_ended(order, when)
            self.add("ended", resource, ENDINGS[kind])
            del self.live[order_id]
            self.ended.add(order_id)

    def _attempt_ended(self, order: LiveOrder, when: datetime) -> None:
        if order.status == "running":
            self.observe("run_seconds", order.resource, (when - order.since).total_seconds())

    def save(self) -> None:
        for (metric, resource, label), value in self.tallies.items():
            rows = Tally.objects.filter(metric=metric, resource=resource, label=label)
            if not rows.update(value=F("value") + value):
                Tally.objects.create(metric=metric, resource=resource, label=label, value=value)
        LiveOrder.objects.filter(order_id__in=self.ended & self.known).delete()
        new = [o for key, o in self.live.items() if key not in self.known]
        LiveOrder.objects.bulk_create(new)
        kept = [o for key, o in self.live.items() if key in self.known]
        LiveOrder.objects.bulk_update(kept, ["status", "since", "dispatches", "cancel_requested"])


def _order_ids(events: Iterable[Any]) -> set[UUID]:
    return {e.originator_id for e in events}


def position() -> int:
    row, _ = ProjectionPosition.objects.get_or_create(name=POSITION_NAME)
    return row.position


def catch_up(
    tracker: OrderTracker,
    batch: int = 500,
    on_batch: Callable[[int], None] | None = None,
    max_events: int | None = None,
) -> int:
    """Count every event after the metrics' position (at most about ``max_events``).

    Returns how many were counted. The supervision loop passes ``max_events`` so that the
    first pass after an upgrade, with the whole log to count, does not hold up its relay
    and reaper: the next passes go on from where it stopped.
    """
    position()  # the row exists before anyone locks it
    relay_after = float(settings.ASYNC_REST["RELAY_AFTER"])
    seen = 0
    while max_events is None or seen < max_events:
        with transaction.atomic():
            row = ProjectionPosition.objects.select_for_update().get(name=POSITION_NAME)
            got = next(iter(tracker.event_batches(row.position + 1, batch)), None)
            if got is None:
                return seen
            reached, events = got
            live = {o.order_id: o for o in LiveOrder.objects.filter(pk__in=_order_ids(events))}
            counting = Counting(live, relay_after)
            for domain_event in events:
                counting.count(domain_event)
            counting.save()
            row.position = reached
            row.save(update_fields=["position"])
        seen += len(events)
        if on_batch:
            on_batch(len(events))
    return seen


def rebuild(tracker: OrderTracker, on_batch: Callable[[int], None] | None = None) -> int:
    """Drop the tallies and count the whole event log again."""
    with transaction.atomic():
        Tally.objects.all().delete()
        LiveOrder.objects.all().delete()
        ProjectionPosition.objects.update_or_create(name=POSITION_NAME, defaults={"position": 0})
    return catch_up(tracker, on_batch=on_batch)
