"""Bench settings on top of config.production: adds the baseline app and the bench URLs."""

from __future__ import annotations

import os

from config.production import *  # noqa: F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.baseline"]
ROOT_URLCONF = "bench.urls"
# With BENCH_CELERY_QUEUE set, the bench's tasks go to a queue and exchange of their own
# (no other worker on the same Redis takes them, and they are deleted afterwards), and
# the worker leaves the shared remote-control keys alone.
if os.environ.get("BENCH_CELERY_QUEUE"):
    CELERY_TASK_DEFAULT_QUEUE = os.environ["BENCH_CELERY_QUEUE"]
    CELERY_TASK_DEFAULT_EXCHANGE = CELERY_TASK_DEFAULT_QUEUE
    CELERY_TASK_DEFAULT_ROUTING_KEY = CELERY_TASK_DEFAULT_QUEUE
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
