"""App config of the bench-only baseline app: registers the no-op order task."""

from django.apps import AppConfig


class BaselineConfig(AppConfig):
    name = "bench.baseline"
    label = "bench_baseline"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bench.baseline.tasks import RESOURCE_NAME, bench_noop
        from orders.application.dispatch import register

        register(RESOURCE_NAME, bench_noop)
