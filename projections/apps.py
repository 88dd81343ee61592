"""Django app config for projections: project every save as soon as it is committed."""

from django.apps import AppConfig


class ProjectionsConfig(AppConfig):
    name = "projections"
    label = "projections"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orders.infrastructure.runtime import add_saved_listener
        from projections.projector import project_saved

        # Read-your-writes: the process that appends an event updates the read
        # models right away; the catch-up follower is only the safety net.
        add_saved_listener(project_saved)
