"""Fan-out across orders: placing a task's children, telling a parent their ends, cascading its end.

The rules of one parent are the aggregate's (``orders/domain/family.py``); what spans
two streams is here, run by the tracker after each save:

- a child that ends has its end recorded as the parent's ``ChildEnded`` (which may end
  the parent: its last child, or a failure under ``fail_fast``);
- a parent that ends, or is asked to cancel, while children are open cancels them.

A save and its follow-up are two writes: a process that dies between them leaves a child
ended that its parent still waits for. ``settle`` is the net (run by the supervision
loop for parents that wait longer than they should): it reads the open children's
states and records the ends that were missed. Recording an end twice is moot.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from orders.domain.errors import OrderClosedError
from orders.domain.order import Order

if TYPE_CHECKING:
    from orders.application.tracker import OrderTracker

log = logging.getLogger(__name__)

_ENDS = (Order.Completed, Order.Failed, Order.Cancelled)
_CASCADING = (Order.Failed, Order.Cancelled, Order.CancelRequested)


def spawn(
    tracker: OrderTracker,
    parent_id: UUID,
    resource_name: str,
    context: dict[str, Any],
    weight: int,
    policy: str,
) -> UUID:
    """Place a child of a running order; the parent records it (``ChildSpawned``).

    The parent's rules are checked first, on a copy, so that a refused child is never
    placed. The child is then recorded before the parent's event: a parent never waits
    for an order that does not exist. Should the parent refuse it after all (it was
    cancelled meanwhile), the child, still queued and not launched, is cancelled.
    """
    parent = tracker.get_order(parent_id)
    parent.spawn_child(uuid.uuid4().hex, resource_name, weight, policy)  # a copy: a dry run
    child_id = tracker.place(resource_name, context, parent.owner, parent=(parent_id, weight))
    try:
        tracker.record_child(parent_id, child_id, resource_name, weight, policy)
    except BaseException:
        tracker.cancel(child_id, "its parent refused it")
        raise
    return child_id


def follow_up(tracker: OrderTracker, order: Order, events: Sequence[Any]) -> None:
    """What one order's save means for its parent or its children (run after each save)."""
    try:
        if order.parent_id is not None and any(isinstance(e, _ENDS) for e in events):
            tell_parent(tracker, order)
        family = order.family
        if family is not None and family.open and any(isinstance(e, _CASCADING) for e in events):
            cancel_children(tracker, order.id, family.open, f"parent order {order.status}")
    except Exception:
        # The child's own save stands; the supervision loop's settle() records what is missed.
        log.exception("order %s: could not tell its parent or children", order.id)


def tell_parent(tracker: OrderTracker, child: Order) -> None:
    assert child.parent_id is not None
    tracker.record_child_ended(UUID(child.parent_id), child)


def cancel_children(
    tracker: OrderTracker, parent_id: UUID, children: Iterable[str], reason: str
) -> int:
    """Cancel (or ask to stop) each open child; return how many were still open."""
    cancelled = 0
    for child_id in list(children):
        try:
            tracker.cancel(UUID(child_id), reason)
        except OrderClosedError:
            continue  # it ended meanwhile: its end reaches the parent on its own
        except Exception:
            # The others still get theirs; this one is stopped when its task starts.
            log.exception("order %s: could not cancel child %s", parent_id, child_id)
            continue
        cancelled += 1
    log.info("order %s: %d open children cancelled (%s)", parent_id, cancelled, reason)
    return cancelled


def settle(tracker: OrderTracker, parent_id: UUID) -> int:
    """Record the ends of the parent's open children that have ended; return how many."""
    parent = tracker.get_order(parent_id)
    if parent.family is None or parent.is_terminal:
        return 0
    recorded = 0
    for child_id in list(parent.family.open):
        child = tracker.get_order(UUID(child_id))
        if child.is_terminal:
            tell_parent(tracker, child)
            recorded += 1
    if recorded:
        log.warning("order %s: %d children's ends were missed, now recorded", parent_id, recorded)
    return recorded
