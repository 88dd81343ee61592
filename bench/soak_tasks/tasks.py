"""bench.soak's ``soak-retry`` resource: attempt 1 asks for a retry, attempt 2 completes."""

from __future__ import annotations

from celery import shared_task

from orders.application.dispatch import register
from orders.task_api import OrderHandle, order_task

RESOURCE_NAME = "soak-retry"
RESULT_PATH = "/bench/constant/"  # bench.baseline's constant view: what the order made


@shared_task(name="bench.soak.retry_once", max_retries=3)
@order_task
def retry_once(order: OrderHandle) -> str:
    """Record ``Retried`` and have Celery run it again on attempt 1; complete on the next.

    The order's own attempt count, not Celery's ``request.retries``: a message the relay
    sends again (its first was lost with the broker) is a fresh one, with ``retries`` 0.
    """
    if order.state.attempt == 1:
        order.retry("soak: the first attempt always retries", countdown=0.5)
    order.progress(100, "retried once, done")
    return RESULT_PATH


def register_tasks() -> None:
    register(RESOURCE_NAME, retry_once)
