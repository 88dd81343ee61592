"""The ``config`` app: its ``ready()`` runs the composition root once per process."""

from django.apps import AppConfig


class AsyncRestConfig(AppConfig):
    name = "config"
    label = "async_rest"
    verbose_name = "async-rest wiring"

    def ready(self) -> None:
        from config.bootstrap import wire

        wire()
