"""A TaskResult-like table (the django-celery-results design): one indexed row per task."""

from __future__ import annotations

from django.db import models


class TaskResult(models.Model):
    """The state of one task, looked up by its (unique, hence indexed) task id."""

    task_id = models.CharField(max_length=255, unique=True)
    task_name = models.CharField(max_length=255, null=True)
    status = models.CharField(max_length=50, default="PENDING", db_index=True)
    result = models.JSONField(null=True, default=None)
    date_created = models.DateTimeField(auto_now_add=True)
    date_done = models.DateTimeField(auto_now=True)
    traceback = models.TextField(blank=True, null=True)

    def __str__(self) -> str:
        return f"{self.task_id} ({self.status})"
