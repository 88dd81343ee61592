"""The bench-only order task: does nothing and completes its order at once."""

from __future__ import annotations

from celery import shared_task

from orders.task_api import OrderHandle, order_task

RESOURCE_NAME = "bench-noop"
RESOURCE_URL = "/bench/constant/"


@shared_task(name="bench.noop")
@order_task
def bench_noop(order: OrderHandle) -> str:
    return RESOURCE_URL
