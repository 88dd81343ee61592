"""RQ jobs for the tests: a loaf that bakes with progress, one that fails, one that retries."""

from __future__ import annotations

import time

from orders.task_api import OrderHandle, ProgressItems, fail_on_error, order_task


class OvenError(RuntimeError):
    """The oven burnt this attempt."""


@order_task
def bake(order: OrderHandle) -> str:
    """Bake ``steps`` steps of ``step_seconds``; ``fail_with`` fails it with that message."""
    context = order.context
    steps, step_seconds = int(context.get("steps", 5)), float(context.get("step_seconds", 0.05))
    with fail_on_error(order, context.get("fail_with") or "The bread could not be baked"):
        if context.get("fail_with"):
            raise OvenError(context["fail_with"])
        for _ in ProgressItems(order, range(steps), message="baking", min_interval=0):
            time.sleep(step_seconds)
    return f"/bakery/loaves/{order.id}/"


@order_task
def flaky(order: OrderHandle) -> str:
    """Burn the first ``fail_times`` attempts (an error RQ retries while it has retries left)."""
    attempt = order.state.attempt
    order.progress(50, f"attempt {attempt}")
    if attempt <= int(order.context.get("fail_times", 1)):
        raise OvenError(f"attempt {attempt} burnt")
    return f"/bakery/loaves/{order.id}/"


@order_task
def patient(order: OrderHandle) -> str:
    """Ask for a retry by hand on the first attempt, ``countdown`` seconds later."""
    if order.state.attempt == 1:
        order.retry("the oven is still cold", countdown=order.context.get("countdown"))
    return f"/bakery/loaves/{order.id}/"
