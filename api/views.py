"""The order endpoints: place (POST → 302), poll (202/201/200), history."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from django.conf import settings
from django.urls import reverse
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import can_see, owner_of
from api.problems import Problem
from api.representations import event_representation, order_representation
from orders import dispatch
from orders.dispatch import UnknownResourceError
from orders.services import place_order
from projections.models import OrderEvent, OrderSummary
from projections.reading import find_summary


def _order_not_found(order_id: str) -> Problem:
    return Problem(404, "Not Found", f"No order {order_id}.", field="uuid")


def visible_summary(request: Request, order_id: str) -> OrderSummary:
    """The order's summary if it exists and the caller may see it; 404 otherwise."""
    try:
        uuid = UUID(order_id)
    except ValueError:
        raise _order_not_found(order_id) from None
    summary = find_summary(uuid)
    if summary is None or not can_see(request, summary.owner):
        raise _order_not_found(order_id)
    return summary


class PlaceOrderView(APIView):
    """``POST /async/<resource_name>/order/`` with ``{"context": {...}}``."""

    def post(self, request: Request, resource_name: str) -> Response:
        limit = settings.ASYNC_REST["MAX_CONTEXT_BYTES"]
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise Problem(413, "Content Too Large", f"The body exceeds {limit} bytes.", "context")
        try:
            dispatch.registration(resource_name)
        except UnknownResourceError:
            raise Problem(
                404,
                "Unknown Resource",
                f"No task is registered for resource {resource_name!r}.",
                field="resource_name",
            ) from None
        context = self._context(request.data, limit)
        order_id = place_order(resource_name, context, owner_of(request))
        summary = find_summary(order_id)
        assert summary is not None
        location = request.build_absolute_uri(reverse("api:order", args=[str(order_id)]))
        return Response(
            order_representation(request, summary), status=302, headers={"Location": location}
        )

    @staticmethod
    def _context(data: Any, limit: int) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise Problem(400, "Bad Request", "The body must be a JSON object.", field="body")
        context = data.get("context", {})
        if not isinstance(context, dict):
            raise Problem(
                400,
                "Bad Request",
                f"context must be a JSON object, not {type(context).__name__}.",
                field="context",
            )
        if len(json.dumps(context).encode()) > limit:
            raise Problem(413, "Content Too Large", f"context exceeds {limit} bytes.", "context")
        return context


class OrderView(APIView):
    """``GET /async/orders/<uuid>/``: the order as its read model has it now."""

    def get(self, request: Request, order_id: str) -> Response:
        summary = visible_summary(request, order_id)
        body = order_representation(request, summary)
        headers: dict[str, str] = {}
        if summary.status == "completed":
            code = 201
            if body["resource_url"]:
                headers["Location"] = body["resource_url"]
        elif summary.status == "failed":
            code = 200
        else:
            code = 202
            headers["Retry-After"] = str(settings.ASYNC_REST["RETRY_AFTER"])
        return Response(body, status=code, headers=headers)


class HistoryPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class OrderHistoryView(APIView):
    """``GET /async/orders/<uuid>/history/``: the order's events, oldest first, paginated."""

    def get(self, request: Request, order_id: str) -> Response:
        summary = visible_summary(request, order_id)
        rows = OrderEvent.objects.filter(order_id=summary.order_id).order_by("version")
        paginator = HistoryPagination()
        page = paginator.paginate_queryset(rows, request, view=self) or []
        return paginator.get_paginated_response([event_representation(request, r) for r in page])
