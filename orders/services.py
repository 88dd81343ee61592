"""Use cases that span the tracker and the dispatcher: placing an order and launching it."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.db import transaction

from orders import dispatch
from orders.runtime import get_tracker

log = logging.getLogger(__name__)


def place_order(resource_name: str, context: dict[str, Any], owner: str | None) -> UUID:
    """Record ``Queued`` and launch the task once the surrounding transaction commits.

    An unknown resource name raises :class:`dispatch.UnknownResourceError` before
    anything is written.
    """
    dispatch.registration(resource_name)
    order_id = get_tracker().place(resource_name, context, owner)
    transaction.on_commit(lambda: _launch(resource_name, order_id))
    return order_id


def _launch(resource_name: str, order_id: UUID) -> None:
    # The order is already recorded: a launcher that fails (say, the broker is down)
    # must not turn the client's answer into a 500 for an order that exists.
    try:
        dispatch.launch(resource_name, order_id)
    except Exception:
        log.exception("could not launch order %s (%s); it stays queued", order_id, resource_name)
