"""The metrics projection's tables: tallies (counters, histogram buckets) and orders in flight."""

from __future__ import annotations

from django.db import models


class Tally(models.Model):
    """One number that only grows: a counter, a histogram's bucket or its sum.

    ``label`` is the metric's second label when it has one: the end status of ``ended``,
    the event type of ``events``, the upper bound of a histogram bucket (``"+Inf"`` last).
    Nothing here names a user or a context: resources and statuses only.
    """

    metric = models.CharField(max_length=64)
    resource = models.CharField(max_length=200)
    label = models.CharField(max_length=64, blank=True, default="")
    value = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "resource", "label"], name="metrics_tally_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric}{{{self.resource},{self.label}}}={self.value}"


class LiveOrder(models.Model):
    """An order that has not ended yet, as far as the metrics projection has read.

    What the next event of the order needs to be counted (its resource, the status it
    leaves, since when); the row goes when the order ends, so the table holds the orders
    in flight only and the status gauges are a GROUP BY over it.
    """

    order_id = models.UUIDField(primary_key=True)
    resource = models.CharField(max_length=200)
    status = models.CharField(max_length=16)
    # When it entered its status: queued (placed or retried) or running (started).
    since = models.DateTimeField()
    dispatches = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["resource", "status"], name="metrics_live_status")]

    def __str__(self) -> str:
        return f"{self.resource} {self.order_id} ({self.status})"
