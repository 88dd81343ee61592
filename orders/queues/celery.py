"""The Celery launcher: sends an order's task to the broker with its order and dispatch ids."""

from __future__ import annotations

from typing import Any
from uuid import UUID


class CeleryLauncher:
    """Sends the task to Celery with the order id and the dispatch id as arguments."""

    def launch(self, task: Any, order_id: UUID, dispatch_id: str) -> None:
        task.apply_async(args=[str(order_id), dispatch_id])


def is_celery_task(task: Any) -> bool:
    return hasattr(task, "apply_async")
