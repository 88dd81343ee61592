"""The status's timing for an order: the domain's rules with this deployment's settings."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings

from orders.application import dispatch
from orders.domain.timing import OrderState, Timing, timing


def stall_after(resource_name: str) -> float | None:
    """Seconds of silence after which a running order of this resource has stalled.

    The operator's per-resource setting first, then what the task's ``register()`` said,
    then the settings' default.
    """
    conf = settings.ASYNC_REST
    chosen = conf["STALL_AFTER_BY_RESOURCE"].get(resource_name)
    if chosen is None:
        try:
            chosen = dispatch.registration(resource_name).stall_after
        except dispatch.UnknownResourceError:
            chosen = None  # an order of a resource no longer registered
    if chosen is None:
        chosen = conf["STALL_AFTER"]
    return float(chosen) if chosen else None


def status_timing(state: OrderState, now: datetime | None = None) -> Timing:
    """The order's timing now (or at ``now``: a replayed state is seen at its own moment)."""
    conf = settings.ASYNC_REST
    return timing(
        state,
        now or datetime.now(UTC),
        stall_after(state.resource_name),
        int(conf["RETRY_AFTER"]),
        int(conf["RETRY_AFTER_MAX"]),
    )
