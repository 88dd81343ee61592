"""async-rest's bench task for bench.peer: ``bench-steps``, one ``order.progress`` per step.

The only module of bench.peer that imports the project's task API (``orders.task_api``)
and its registry: a rename is fixed here.
"""

from __future__ import annotations

from celery import shared_task

from bench import steps
from orders.application.dispatch import register
from orders.task_api import OrderHandle, order_task

RESOURCE_NAME = "bench-steps"
RESULT_PATH = "/bench/constant/"  # bench.baseline's constant view: what the order made


@shared_task(name="bench.ours.steps")
@order_task
def bench_steps(order: OrderHandle) -> str:
    """Report ``context["steps"]`` progress events (interval 0 unless given), then complete."""

    def report(step: int, total: int, message: str) -> None:
        order.progress(step * 100 // total, message, current=step, total=total)

    steps.run(order.context, report)
    return RESULT_PATH


def register_tasks() -> None:
    register(RESOURCE_NAME, bench_steps)
