"""App config of bench.soak's tasks: registers the retry-once resource."""

from django.apps import AppConfig


class SoakTasksConfig(AppConfig):
    name = "bench.soak_tasks"
    label = "bench_soak_tasks"

    def ready(self) -> None:
        from bench.soak_tasks.tasks import register_tasks

        register_tasks()
