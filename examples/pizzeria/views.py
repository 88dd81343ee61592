"""``GET /pizzeria/pizzas/<id>/``: the pizza as JSON (where a completed order points)."""

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404

from examples.pizzeria.models import Pizza


def pizza_detail(request: HttpRequest, pk: int) -> JsonResponse:
    pizza = get_object_or_404(Pizza, pk=pk)
    return JsonResponse(
        {
            "id": pizza.pk,
            "name": pizza.name,
            "order": str(pizza.order_id),
            "steps": pizza.steps,
            "baked_at": pizza.baked_at.isoformat(),
        }
    )
