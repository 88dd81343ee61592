"""Read models: one summary row per order, one history row per event, the catch-up position."""

from __future__ import annotations

from django.db import models


class OrderSummary(models.Model):
    """The order's current state, as the status endpoint serves it."""

    order_id = models.UUIDField(primary_key=True)
    resource_name = models.CharField(max_length=200)
    status = models.CharField(max_length=16)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.TextField(blank=True, default="")
    current = models.BigIntegerField(null=True)
    total = models.BigIntegerField(null=True)
    resource_url = models.TextField(blank=True, default="")
    context = models.JSONField(default=dict)
    # The context was forgotten (``orders forget``): ``context`` is then ``{}``.
    context_erased = models.BooleanField(default=False)
    owner = models.CharField(max_length=150, null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True, default="")
    attempt = models.PositiveIntegerField(default=0)
    dispatched = models.BooleanField(default=False)
    cancel_requested = models.BooleanField(default=False)
    error_type = models.CharField(max_length=255, blank=True, default="")
    traceback = models.TextField(blank=True, default="")
    created = models.DateTimeField()
    updated = models.DateTimeField()
    version = models.PositiveIntegerField()
    # The hash of the order's last event: ``orders verify`` compares it with the stream.
    chain_hash = models.CharField(max_length=64, blank=True, default="")
    # When the current attempt started: the status's eta is measured from it.
    started_at = models.DateTimeField(null=True, blank=True)
    # Fan-out: the state's fields (orders/domain/state.py), and what the projection alone
    # keeps: the sum of weight x progress of the children (projections/family.py), from
    # which a running parent's ``progress`` is written.
    parent_id = models.UUIDField(null=True, blank=True)
    weight = models.PositiveIntegerField(default=1)
    children = models.PositiveIntegerField(default=0)
    children_ended = models.PositiveIntegerField(default=0)
    children_failed = models.PositiveIntegerField(default=0)
    children_weight = models.BigIntegerField(default=0)
    awaiting_children = models.BooleanField(default=False)
    children_progress = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "order"
        verbose_name_plural = "orders"
        indexes = [
            # The admin's list, newest first (Django adds the primary key to make the
            # order total): read straight from this index, no sort of the whole table.
            # Measured in bench/admin_list.py, see docs/benchmarks.md.
            models.Index(fields=["-created", "-order_id"], name="summary_created"),
            models.Index(fields=["owner", "-created"], name="summary_owner_created"),
            models.Index(fields=["status", "-created"], name="summary_status_created"),
            models.Index(fields=["resource_name", "-created"], name="summary_resource_created"),
            # A parent's children, newest first: its listing, and the settling sweep's count.
            models.Index(fields=["parent_id", "-created"], name="summary_parent_created"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_name} {self.order_id} ({self.status})"


class OrderEvent(models.Model):
    """One event of one order, as the history endpoint serves it."""

    order_id = models.UUIDField()
    version = models.PositiveIntegerField()
    type = models.CharField(max_length=64)
    timestamp = models.DateTimeField()
    data = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order_id", "version"], name="event_order_version")
        ]
        ordering = ["order_id", "version"]

    def __str__(self) -> str:
        return f"{self.order_id} v{self.version} {self.type}"


class ProjectionPosition(models.Model):
    """How far the catch-up pass has followed the event store's notification log."""

    name = models.CharField(max_length=64, primary_key=True)
    position = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}@{self.position}"


class Lease(models.Model):
    """A job that one process at a time runs at most once per interval (automatic retention)."""

    name = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=255, blank=True, default="")
    # The holder's claim lapses then (a crashed holder frees it); renewed while it works.
    expires = models.DateTimeField()
    # When the job last started: the next start waits for the interval to pass.
    started = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'no one'} until {self.expires}"
