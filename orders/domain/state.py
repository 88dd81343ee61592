"""The order's state as plain data: the one shape the read models, the API and the audit share.

The aggregate is the rules; ``OrderState`` is what an order *is* at a version, a frozen
dataclass with no behaviour. Everything downstream is built from it: the read model's
summary row has exactly these columns, the status endpoint renders it, ``orders replay``
prints it and ``orders verify`` compares it with the row. Adding a field to the order
means adding it to the aggregate, here, to the read model and to the API's schema.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from uuid import UUID

from orders.domain.order import TERMINAL, Order


@dataclass(frozen=True, slots=True)
class OrderState:
    """What an order is at one version. Text that is unknown is ``""``, never ``None``."""

    order_id: UUID
    resource_name: str
    status: str
    progress: int
    message: str
    current: int | None
    total: int | None
    resource_url: str
    context: dict[str, Any]
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

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def as_dict(self) -> dict[str, Any]:
        """The fields by name (shallow: ``dataclasses.asdict`` deep-copies every value)."""
        return {name: getattr(self, name) for name in FIELD_NAMES}


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(OrderState))

# The state's fields that the aggregate names otherwise.
_AGGREGATE_NAMES = {"order_id": "id", "created": "created_on", "updated": "modified_on"}
# The aggregate's optional text, which the state holds as "" when there is none.
_TEXT = frozenset({"message", "resource_url", "worker", "error_type", "traceback"})


def state_of(order: Order) -> OrderState:
    """The state of an aggregate, as plain data (the aggregate's context is not copied)."""
    values: dict[str, Any] = {}
    for name in FIELD_NAMES:
        value = getattr(order, _AGGREGATE_NAMES.get(name, name))
        if name in _TEXT and value is None:
            value = ""
        values[name] = value
    values["status"] = str(order.status)
    return OrderState(**values)


def progress_after(event_type: str, fields: dict[str, Any], before: int) -> int:
    """The order's progress right after an event, from the event alone (see ``Order.Event``)."""
    return Order.event_class(event_type).progress_after(fields, before)
