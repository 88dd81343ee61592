"""App config of async-rest's side of bench.peer: registers the step task."""

from django.apps import AppConfig


class OursConfig(AppConfig):
    name = "bench.ours"
    label = "bench_ours"

    def ready(self) -> None:
        from bench.ours.tasks import register_tasks

        register_tasks()
