"""``GET /pizzeria/pizzas/<id>/``: the pizza as JSON (where a completed order points)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import can_see
from api.problems import Problem
from examples.pizzeria.models import Pizza
from projections.selectors import order_summary


class PizzaView(APIView):
    """Shown to whoever may see the order that made it (ids count up: no guessing)."""

    @extend_schema(exclude=True)  # the demo's own resource, not part of the order API
    def get(self, request: Request, pk: int) -> Response:
        pizza = Pizza.objects.filter(pk=pk).first()
        order = order_summary(pizza.order_id) if pizza else None
        if pizza is None or order is None or not can_see(request, order.owner):
            raise Problem(404, "Not Found", f"No pizza {pk}.")
        return Response(
            {
                "id": pizza.pk,
                "name": pizza.name,
                "order": str(pizza.order_id),
                "steps": pizza.steps,
                "baked_at": pizza.baked_at.isoformat(),
            }
        )
