"""Erasure on the read side: the contexts the read models show, and ``orders forget``.

A sealed ``Queued`` event records a token, not the context: the history row shows the
context opened with the order's key, or ``null`` with ``context_erased`` once the key
is gone. Forgetting destroys the key, records ``ContextForgotten`` and blanks the
context where the read models copied it (the summary and the ``Queued`` history row).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import transaction

from orders.application.tracker import OrderNotFoundError, OrderTracker
from orders.domain.order import Order, event_fields, event_type
from orders.domain.sealing import is_sealed
from orders.infrastructure.runtime import get_tracker
from projections.models import OrderEvent, OrderSummary


def event_data(
    domain_event: Any, tracker: OrderTracker | None = None, order: Order | None = None
) -> dict[str, Any]:
    """An event's fields as the read models show them: a ``Queued`` context opened.

    With ``order`` (the state a save brought the order to), its context is the opened
    one and no key is read; otherwise the key comes from ``tracker``'s key store.
    """
    data = event_fields(domain_event)
    if event_type(domain_event) != "Queued":
        return data
    if order is not None and order.id == domain_event.originator_id:
        context = None if order.context_erased else order.context
    else:
        sealer = (tracker or get_tracker()).sealer
        if sealer is None:
            return data  # no key store: shown as recorded
        context = sealer.open(domain_event.originator_id, data["context"])
    data["context"] = context
    if context is None:
        data["context_erased"] = True
    return data


@dataclass(frozen=True)
class Forgotten:
    order_id: UUID
    # The context was sealed: its key is destroyed and the stream holds only ciphertext.
    # False: recorded in clear before sealing; hidden everywhere, still in the stream.
    sealed: bool
    # False when it had been forgotten already (forgetting twice changes nothing).
    recorded: bool


def forget_order(order_id: UUID, tracker: OrderTracker | None = None) -> Forgotten:
    """Erase the order's context: key, ``ContextForgotten``, read models (OrderNotFoundError).

    In this order, each step safe to run again: the key first (from then on nothing can
    open the context), then the event (every later state of the order is erased, in
    every process: a writer must have read it before it can append), then the rows the
    read models copied the context into.
    """
    tracker = tracker or get_tracker()
    first = tracker.order_events(order_id)[:1]
    if not first or tracker.sealer is None:
        raise OrderNotFoundError(order_id) if not first else RuntimeError("no key store")
    sealed = is_sealed(first[0].__dict__.get("context"))
    tracker.sealer.keys.forget(order_id)
    before = tracker.get_order(order_id)
    after = tracker.forget_context(order_id, key_destroyed=sealed)
    blank_read_models(order_id)
    return Forgotten(order_id, sealed, recorded=after.version > before.version)


def blank_read_models(order_id: UUID) -> None:
    """Blank the context in the order's summary and ``Queued`` history row (idempotent)."""
    with transaction.atomic():
        OrderSummary.objects.filter(order_id=order_id).update(context={}, context_erased=True)
        for row in OrderEvent.objects.select_for_update().filter(order_id=order_id, type="Queued"):
            row.data = {**row.data, "context": None, "context_erased": True}
            row.save(update_fields=["data"])
