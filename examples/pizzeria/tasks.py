"""``cook_pizza``: the long-running task behind the ``regina`` and ``margherita`` resources."""

from __future__ import annotations

import time

from celery import shared_task
from django.urls import reverse

from examples.pizzeria.models import Pizza
from orders.task_api import OrderHandle, ProgressItems, fail_on_error, order_task


class OutOfIngredientsError(RuntimeError):
    """The kitchen cannot make this pizza."""


@shared_task(name="pizzeria.cook_pizza")
@order_task
def cook_pizza(order: OrderHandle) -> None:
    context = order.context
    steps = int(context.get("steps", 20))
    step_seconds = float(context.get("step_seconds", 0.1))
    with fail_on_error(order, context.get("fail_with") or "The pizza could not be cooked"):
        if context.get("fail_with"):
            raise OutOfIngredientsError(context["fail_with"])
        for _ in ProgressItems(order, range(steps), message="The pizza is in the oven"):
            time.sleep(step_seconds)
        pizza, _ = Pizza.objects.get_or_create(
            order_id=order.id, defaults={"name": order.state.resource_name, "steps": steps}
        )
    url = reverse("pizzeria:pizza", args=[pizza.pk])
    order.complete(resource_url=url)


@shared_task(name="pizzeria.host_party")
@order_task
def host_party(order: OrderHandle) -> None:
    """A fan-out: one pizza order per guest; the party's progress is the pizzas', weighted.

    Context: ``pizzas`` (how many, 3), ``pizza`` (each one's context), ``policy``
    (``fail_fast``: the first pizza that fails ends the party; ``all_settled``: it waits for
    all). A pizza of ``big`` guests weighs double. Returning nothing: the party is done when
    its pizzas are, and its resource is the list of them.
    """
    context = order.context
    pizza = dict(context.get("pizza") or {})
    policy = str(context.get("policy", "fail_fast"))
    big = int(context.get("big", 0))
    for guest in range(int(context.get("pizzas", 3))):
        order.spawn("regina", pizza, weight=2 if guest < big else 1, policy=policy)
