"""The order's state as plain data: the one shape the read models, the API and the audit share.

The aggregate is the rules; ``OrderState`` is what an order *is* at a version, a frozen
dataclass with no behaviour. Everything downstream is built from it: the read model's
summary row has exactly these columns, the status endpoint renders it, ``orders replay``
prints it and ``orders verify`` compares it with the row. Adding a field to the order
means adding it to the aggregate, here (the class and ``state_of``), to the read model and
to the API's schema.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from typing import Any
from uuid import UUID

from orders.domain.order import TERMINAL, Order


@dataclass(slots=True)
class OrderState:
    """What an order is at one version. Text that is unknown is ``""``, never ``None``.

    Not frozen: building a frozen dataclass cost twice as much, on every projected save.
    """

    order_id: UUID
    resource_name: str
    status: str
    progress: int
    message: str
    current: int | None
    total: int | None
    resource_url: str
    context: dict[str, Any]
    # The context can no longer be read (forgotten): ``context`` is then ``{}``.
    context_erased: bool
    owner: str | None
    worker: str
    attempt: int
    dispatched: bool
    cancel_requested: bool
    error_type: str
    traceback: str
    created: datetime
    updated: datetime
    version: int
    # The hash of the order's last event: the head of its chain.
    chain_hash: str
    # When the current attempt started (None until a worker picks the order up).
    started_at: datetime | None = None
    # Fan-out (orders/domain/family.py): a child's parent and weight; a parent's children
    # (how many, ended, ended otherwise than completed, their weights), and whether its
    # task returned and it waits for them.
    parent_id: UUID | None = None
    weight: int = 1
    children: int = 0
    children_ended: int = 0
    children_failed: int = 0
    children_weight: int = 0
    awaiting_children: bool = False

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def as_dict(self) -> dict[str, Any]:
        """The fields by name (shallow: ``dataclasses.asdict`` deep-copies every value)."""
        return dict(zip(FIELD_NAMES, _all_fields(self), strict=True))


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(OrderState))
# Every field's value in one C-level call (a loop of getattr() cost three times as much).
_all_fields = attrgetter(*FIELD_NAMES)


def state_of(order: Order) -> OrderState:
    """The state of an aggregate, as plain data (the aggregate's context is not copied)."""
    # Spelled out rather than looped over FIELD_NAMES: the projection calls this for every
    # save, and the loop cost twice as much (a missing field fails here, at construction).
    family = order.family
    return OrderState(
        order_id=order.id,
        resource_name=order.resource_name,
        status=str(order.status),
        progress=order.progress,
        message=order.message or "",
        current=order.current,
        total=order.total,
        resource_url=order.resource_url or "",
        context=order.context,
        context_erased=order.context_erased,
        owner=order.owner,
        worker=order.worker or "",
        attempt=order.attempt,
        dispatched=order.dispatched,
        cancel_requested=order.cancel_requested,
        error_type=order.error_type or "",
        traceback=order.traceback or "",
        created=order.created_on,
        updated=order.modified_on,
        version=order.version,
        chain_hash=order.chain_hash,
        started_at=order.started_at,
        parent_id=UUID(order.parent_id) if order.parent_id else None,
        weight=order.weight,
        children=family.count if family else 0,
        children_ended=family.ended if family else 0,
        children_failed=family.failed if family else 0,
        children_weight=family.weight if family else 0,
        awaiting_children=order.is_awaiting_children,
    )


def progress_after(event_type: str, fields: dict[str, Any], before: int) -> int:
    """The order's progress right after an event, from the event alone (see ``Order.Event``)."""
    return Order.event_class(event_type).progress_after(fields, before)
