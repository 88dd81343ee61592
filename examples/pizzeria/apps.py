"""Django app config for the pizzeria: binds the resource names to the task."""

from django.apps import AppConfig


class PizzeriaConfig(AppConfig):
    name = "examples.pizzeria"
    label = "pizzeria"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from examples.pizzeria.tasks import cook_pizza, host_party
        from orders.application.dispatch import register

        # A pizza reports progress every step (0.1 s by default): a minute of silence is a stall.
        register("regina", cook_pizza, stall_after=60)
        register("margherita", cook_pizza, stall_after=60)
        # A party spawns one regina per guest (fan-out): it moves as its pizzas do.
        register("party", host_party)
