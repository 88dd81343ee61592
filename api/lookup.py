"""Finding the order a request names: it must exist and be the caller's (or staff's) to see."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from rest_framework.request import Request

from api.permissions import can_see
from api.problems import order_not_found
from orders.domain.state import OrderState
from projections.selectors import SummaryHead, order_summary, summary_head


def visible_order(
    request: Request,
    order_id: str,
    find: Callable[[UUID], OrderState | None] = order_summary,
) -> OrderState:
    """The order's state if it exists and the caller may see it; 404 otherwise.

    Malformed, unknown and someone else's ids get the same answer, so an id cannot
    be probed for existence. ``find`` reads the state (the benchmarks pass variants).
    """
    try:
        uuid = UUID(order_id)
    except ValueError:
        raise order_not_found(order_id) from None
    order = find(uuid)
    if order is None or not can_see(request, order.owner):
        raise order_not_found(order_id)
    return order


def visible_head(request: Request, order_id: str) -> tuple[UUID, SummaryHead] | None:
    """The order's id and poll columns if its row exists and the caller may see it, else None.

    For the conditional poll: None sends the request down the full path, which answers
    404s and orders not projected yet the same way as ever.
    """
    try:
        uuid = UUID(order_id)
    except ValueError:
        return None
    head = summary_head(uuid)
    if head is None or not can_see(request, head.owner):
        return None
    return uuid, head
