"""Django app config for metrics: the tallies projected from the event log and /metrics."""

from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "metrics"
    label = "metrics"
    default_auto_field = "django.db.models.BigAutoField"
