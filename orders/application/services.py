"""Use cases that span the tracker and the dispatcher: placing, launching, cancelling."""

from __future__ import annotations

import logging
import uuid
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction

from orders.application import dispatch
from orders.domain.context import check_context
from orders.domain.order import Order
from orders.infrastructure.runtime import get_tracker

log = logging.getLogger(__name__)


def place_order(
    resource_name: str,
    context: dict[str, Any],
    owner: str | None,
    callback: dict[str, Any] | None = None,
    base_url: str = "",
) -> UUID:
    """Record ``Queued`` and launch the task once the surrounding transaction commits.

    Nothing is written for an unknown resource name (:class:`dispatch.UnknownResourceError`)
    or a context the event store could not keep (:class:`ContextRejectedError`): every
    way in (the API, the admin's re-run, a script) goes through these checks. The order's
    callback (``{"url", "events"}``, else the resource's default) is recorded with it;
    ``base_url`` is where its links in a delivery point (the request's, else the settings').
    """
    registration = dispatch.registration(resource_name)
    check_context(context, int(settings.ASYNC_REST["MAX_CONTEXT_BYTES"]))
    wanted = callback or registration.callback
    if wanted is not None:
        wanted = {
            "url": wanted["url"],
            "events": list(wanted["events"]),
            "base_url": base_url or str(settings.ASYNC_REST["CALLBACK_BASE_URL"]),
        }
    order_id = get_tracker().place(resource_name, context, owner, wanted)
    transaction.on_commit(lambda: launch_order(order_id, resource_name))
    return order_id


def spawn_order(
    parent_id: UUID, resource_name: str, context: dict[str, Any], weight: int, policy: str
) -> UUID:
    """Place a child of a running order and launch its task (the checks of ``place_order``)."""
    dispatch.registration(resource_name)
    check_context(context, int(settings.ASYNC_REST["MAX_CONTEXT_BYTES"]))
    child_id = get_tracker().spawn(parent_id, resource_name, context, weight, policy)
    transaction.on_commit(lambda: launch_order(child_id, resource_name))
    return child_id


def launch_order(order_id: UUID, resource_name: str | None = None) -> bool:
    """Send the order's task and record ``Dispatched``; False if it could not be sent.

    The order is already recorded: a launcher that fails (the broker is down) must not
    turn the client's answer into an error for an order that exists. It stays queued
    and not dispatched, and the relay sends it once the broker is back.
    """
    tracker = get_tracker()
    if resource_name is None:
        resource_name = tracker.get_order(order_id).resource_name
    dispatch_id = uuid.uuid4().hex
    try:
        dispatch.launch(resource_name, order_id, dispatch_id)
    except Exception:
        log.exception("could not launch order %s (%s); it stays queued", order_id, resource_name)
        return False
    try:
        tracker.dispatch(order_id, dispatch_id)
    except Exception:
        # The message is on its way; Started will follow. Failing here would tell the
        # client an order that exists failed (and a retry would place another).
        log.exception("order %s was sent but its Dispatched could not be recorded", order_id)
    return True


def cancel_order(order_id: UUID, reason: str = "") -> Order:
    """Cancel a queued order at once, ask a running one to stop (OrderClosedError if ended)."""
    return get_tracker().cancel(order_id, reason)
