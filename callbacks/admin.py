"""The admin action that re-sends an order's latest callback delivery (through the queue)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from callbacks.tasks import enqueue
from orders.application.tracker import OrderNotFoundError
from orders.infrastructure.runtime import get_tracker

# At most this many orders per action, as for the re-run.
RESEND_LIMIT = 100


def resend_latest(order_ids: list[Any]) -> tuple[int, int]:
    """Enqueue a forced delivery of each order's latest owed event; (sent, without callback)."""
    tracker = get_tracker()
    sent = skipped = 0
    for order_id in order_ids:
        try:
            ledger = tracker.get_order(order_id).callback
        except OrderNotFoundError:
            ledger = None
        if ledger is None or not ledger.owed:
            skipped += 1
            continue
        enqueue(order_id, ledger.owed[-1], force=True)
        sent += 1
    return sent, skipped


@admin.action(description="Re-send the latest callback delivery", permissions=("rerun",))
def resend_callbacks(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    ids = list(queryset.values_list("order_id", flat=True)[:RESEND_LIMIT])
    sent, skipped = resend_latest(ids)
    if sent:
        modeladmin.message_user(request, f"Re-sending the latest callback of {sent} order(s).")
    if skipped:
        modeladmin.message_user(
            request, f"{skipped} order(s) have no callback delivery to re-send.", messages.WARNING
        )
