"""The read side of retention: which orders look ended, removing their read models, leases."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction

from orders.application.tracker import OrderTracker
from orders.domain.order import Order
from projections.models import Lease, OrderEvent, OrderSummary
from projections.projector import position, project_saved


class ReadModelRetention:
    """``orders.application.archive.ReadSide`` over the Django read models."""

    def candidates(
        self, ended_before: datetime, statuses: Sequence[str], after: UUID | None, limit: int
    ) -> list[UUID]:
        # An ended order's last event is its end: ``updated`` is when it ended. The event
        # store has the last word (the archiver checks each stream); this only narrows.
        rows = OrderSummary.objects.filter(status__in=list(statuses), updated__lt=ended_before)
        if after is not None:
            rows = rows.filter(order_id__gt=after)
        return list(rows.order_by("order_id").values_list("order_id", flat=True)[:limit])

    def count(self, ended_before: datetime, statuses: Sequence[str]) -> int:
        return OrderSummary.objects.filter(
            status__in=list(statuses), updated__lt=ended_before
        ).count()

    def projected_up_to(self) -> int:
        return position()

    def together(self) -> transaction.Atomic:
        return transaction.atomic()

    def project(self, tracker: OrderTracker, order: Order, events: Sequence[Any]) -> None:
        project_saved(tracker, order, events)

    def remove(self, order_ids: Sequence[UUID]) -> None:
        ids = list(order_ids)
        with transaction.atomic():
            OrderEvent.objects.filter(order_id__in=ids).delete()
            OrderSummary.objects.filter(order_id__in=ids).delete()


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def take_lease(name: str, interval: float, ttl: float, holder: str | None = None) -> bool:
    """Claim the job ``name`` if no one holds it and it did not start within ``interval``.

    One conditional UPDATE, atomic on PostgreSQL and SQLite alike: of processes racing
    for it, exactly one changes the row.
    """
    now = datetime.now(UTC)
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    try:
        with transaction.atomic():
            Lease.objects.get_or_create(name=name, defaults={"expires": epoch, "started": epoch})
    except IntegrityError:
        pass  # created by another process at the same moment
    return bool(
        Lease.objects.filter(
            name=name, expires__lt=now, started__lte=now - timedelta(seconds=interval)
        ).update(holder=holder or holder_name(), expires=now + timedelta(seconds=ttl), started=now)
    )


def renew_lease(name: str, ttl: float, holder: str | None = None) -> bool:
    """Extend the claim; False if it lapsed and someone else took it (stop working then)."""
    return bool(
        Lease.objects.filter(name=name, holder=holder or holder_name()).update(
            expires=datetime.now(UTC) + timedelta(seconds=ttl)
        )
    )


def release_lease(name: str, holder: str | None = None) -> None:
    Lease.objects.filter(name=name, holder=holder or holder_name()).update(
        holder="", expires=datetime.now(UTC)
    )
