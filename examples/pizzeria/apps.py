"""Django app config for the pizzeria: binds the resource names to the task."""

from django.apps import AppConfig


class PizzeriaConfig(AppConfig):
    name = "examples.pizzeria"
    label = "pizzeria"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from examples.pizzeria.tasks import cook_pizza
        from orders.application.dispatch import register

        register("regina", cook_pizza)
        register("margherita", cook_pizza)
