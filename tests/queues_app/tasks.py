"""Tasks of Django's tasks framework (DEP 14) for the tests, run as orders by AsyncRestBackend."""

from __future__ import annotations

import time

from django_tasks import TaskContext, task

from orders.queues.django_tasks import current_order


class OvenError(RuntimeError):
    """The oven burnt the bread."""


@task
def bake_bread(loaves: int, step_seconds: float = 0.05) -> str:
    """Report progress through the current order, return the URL of what was made."""
    order = current_order()
    for done in range(1, loaves + 1):
        time.sleep(step_seconds)
        order.progress(done * 100 // loaves, "baking", current=done, total=loaves)
    return f"/bakery/batches/{order.id}/"


@task(resource_name="burnt-bread")
def burn_bread(reason: str) -> None:
    raise OvenError(reason)


@task
def sweep_floor() -> None:
    """Returns nothing: the order completes without a resource URL."""


@task(takes_context=True)
def count_attempts(context: TaskContext) -> str:
    return f"/attempts/{context.attempt}/"


@task
def weigh_flour() -> int:
    """Returns a number: not a URL, so the order fails saying so."""
    return 500
