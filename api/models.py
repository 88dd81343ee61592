"""Idempotency keys: a retried POST with the same key replays the first answer."""

from __future__ import annotations

from django.db import models


class IdempotencyKey(models.Model):
    """One client key, scoped to its owner; the answer is stored once the order is placed."""

    owner = models.CharField(max_length=150)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    created = models.DateTimeField(auto_now_add=True)
    # Empty while the first request is being handled.
    status_code = models.PositiveSmallIntegerField(null=True)
    location = models.TextField(blank=True, default="")
    body = models.JSONField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key")
        ]
        indexes = [models.Index(fields=["created"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.owner}:{self.key}"
