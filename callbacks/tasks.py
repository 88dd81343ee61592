"""The Celery task that makes delivery attempts (found by the Celery app's autodiscovery)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from celery import shared_task

from callbacks.delivery import attempt


@shared_task(name="async_rest.callbacks.deliver", ignore_result=True, acks_late=True)
def deliver(order_id: str, version: int, force: bool = False) -> None:
    """One attempt; a failed one that may be retried sends the next attempt's message.

    The retry is a new message with a countdown, sent after the failure is recorded: a
    worker lost in between leaves an overdue delivery that the supervision loop re-sends.
    """
    retry_in = attempt(UUID(order_id), int(version), force=force)
    if retry_in is not None:
        deliver.apply_async(args=[order_id, version], countdown=retry_in)


def enqueue(order_id: UUID, version: int, force: bool = False, **options: Any) -> None:
    deliver.apply_async(args=[str(order_id), version], kwargs={"force": force}, **options)
