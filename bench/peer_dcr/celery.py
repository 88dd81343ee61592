"""The peer's Celery app: configured from the Django settings (``CELERY_*``), tasks discovered."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peer_dcr.settings")

app = Celery("peer_dcr")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
