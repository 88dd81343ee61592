"""Use cases that span the tracker and the dispatcher: placing an order and launching it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import transaction

from orders import dispatch
from orders.runtime import get_tracker


def place_order(resource_name: str, context: dict[str, Any], owner: str | None) -> UUID:
    """Record ``Queued`` and launch the task once the surrounding transaction commits.

    An unknown resource name raises :class:`dispatch.UnknownResourceError` before
    anything is written.
    """
    dispatch.registration(resource_name)
    order_id = get_tracker().place(resource_name, context, owner)
    transaction.on_commit(lambda: dispatch.launch(resource_name, order_id))
    return order_id
