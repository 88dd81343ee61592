"""The Celery app; workers build their own tracker after fork and run projection catch-up."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("async_rest")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _fresh_tracker_after_fork(**_: Any) -> None:
    # A connection pool opened before fork hangs in the children: start clean.
    from orders.infrastructure.runtime import set_tracker

    set_tracker(None)


@worker_ready.connect
def _start_catch_up(**_: Any) -> None:
    # The safety net for read models: events written by a process that died before
    # projecting them are projected by this loop (idempotently, from a stored position).
    from config.supervision import follow_in_background

    follow_in_background()


__all__ = ["app"]
