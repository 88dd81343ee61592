"""The order endpoints, thin: validate the input, ask the application or a selector, answer.

Placing an order (302 to it), polling it (``api.conditional``), replaying a past state,
cancelling, listing and reading the history. What a request may say is in ``api.inputs``,
who may see an order in ``api.permissions``, how retries of a POST are recognised in
``api.idempotency``, paging in ``api.pagination``, the OpenAPI text in ``api.docs``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.urls import reverse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from api import docs, inputs
from api.conditional import etag_of, replay_response, status_response, unchanged_response
from api.idempotency import idempotent
from api.lookup import visible_order
from api.pagination import HistoryPagination, OrderCursor
from api.permissions import owner_of
from api.problems import Problem, context_rejected
from api.representations import event_representation, is_staff, order_representation
from orders.application import dispatch
from orders.application.services import cancel_order, place_order
from orders.application.tracker import OrderNotFoundError
from orders.domain.context import ContextRejectedError
from orders.domain.errors import OrderClosedError
from orders.domain.state import OrderState, state_of
from orders.infrastructure.runtime import get_tracker
from projections.selectors import history, order_summary, orders_for, state_from_row


def validated(serializer_class: type[Any], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def order_url(request: Request, order_id: UUID | str) -> str:
    return request.build_absolute_uri(reverse("api:order", args=[str(order_id)]))


class PlaceOrderView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "orders"

    @docs.place_order
    def post(self, request: Request, resource_name: str) -> Response:
        inputs.clean_text(resource_name, "resource_name")
        try:
            dispatch.registration(resource_name)
        except dispatch.UnknownResourceError:
            raise Problem(
                404,
                "Unknown Resource",
                f"No task is registered for resource {resource_name!r}.",
                field="resource_name",
            ) from None
        wanted = validated(inputs.PlaceOrderInput, request.data)
        context, callback = wanted["context"], wanted.get("callback")
        owner = owner_of(request)

        def place() -> UUID:
            try:
                return place_order(
                    resource_name, context, owner, callback, request.build_absolute_uri("/")
                )
            except ContextRejectedError as exc:
                raise context_rejected(exc) from None

        def answer(order_id: UUID) -> Response:
            # This process just wrote it: its state is in memory, no need to read it back.
            known = get_tracker().known_state(order_id)
            placed = state_of(known) if known is not None else order_summary(order_id)
            assert placed is not None  # just written, and projected by this process
            body = order_representation(request, placed)
            return Response(body, status=302, headers={"Location": order_url(request, order_id)})

        return idempotent(
            request,
            owner,
            (resource_name, context, callback),
            place,
            answer,
            lambda order_id: order_url(request, order_id),
        )


class OrderView(APIView):
    @docs.get_order
    def get(self, request: Request, order_id: str) -> Response:
        replay = "version" in request.query_params or "at" in request.query_params
        if not replay and "If-None-Match" in request.headers:
            unchanged = unchanged_response(request, order_id)
            if unchanged is not None:
                return unchanged
        order = visible_order(request, order_id)
        if replay:
            return replay_response(request, self._replayed(request, order))
        return status_response(request, order)

    @staticmethod
    def _replayed(request: Request, order: OrderState) -> OrderState:
        wanted = validated(inputs.ReplayInput, request.query_params)
        tracker = get_tracker()
        if "version" in wanted:
            version = wanted["version"]
            if version > order.version:
                raise Problem(
                    400,
                    "Bad Request",
                    f"version must be an integer from 1 to {order.version}, not {version}.",
                    "version",
                )
        else:
            version = tracker.version_at(order.order_id, wanted["at"])
            if version == 0:
                raise Problem(
                    400,
                    "Bad Request",
                    f"The order did not exist yet at {wanted['at'].isoformat()} "
                    f"(placed {order.created.isoformat()}).",
                    "at",
                )
        try:
            return state_of(tracker.get_order(order.order_id, version=version))
        except OrderNotFoundError:
            raise Problem(
                400, "Bad Request", f"version must be 1 to {order.version}.", "version"
            ) from None


class CancelOrderView(APIView):
    @docs.cancel_order
    def post(self, request: Request, order_id: str) -> Response:
        order = visible_order(request, order_id)
        reason = validated(inputs.CancelInput, request.data)["reason"]
        try:
            cancelled = cancel_order(order.order_id, reason)
        except OrderClosedError:
            raise Problem(
                409,
                "Conflict",
                f"The order is {order.status}: only a queued or running order can be cancelled.",
                "status",
            ) from None
        body = order_representation(request, order_summary(order.order_id) or order)
        return Response(body, status=200 if cancelled.is_terminal else 202)


class OrderListView(APIView):
    @docs.list_orders
    def get(self, request: Request) -> Response:
        filters = validated(inputs.OrderFilters, request.query_params)
        rows = orders_for(owner_of(request), everyone=is_staff(request), **filters)
        return order_page(request, self, rows)


def order_page(request: Request, view: APIView, rows: Any) -> Response:
    """One page of orders (``orders_for``'s rows), newest first, by cursor."""
    paginator = OrderCursor()
    page = paginator.paginate_queryset(rows, request, view=view) or []
    return paginator.get_paginated_response(
        [order_representation(request, state_from_row(row)) for row in page]
    )


class OrderChildrenView(APIView):
    @docs.order_children
    def get(self, request: Request, order_id: str) -> Response:
        parent = visible_order(request, order_id)
        filters = validated(inputs.OrderFilters, request.query_params)
        filters["parent"] = parent.order_id
        # The children are the parent's owner's: who may see the parent sees them.
        rows = orders_for(parent.owner, everyone=is_staff(request), **filters)
        return order_page(request, self, rows)


class OrderHistoryView(APIView):
    @docs.order_history
    def get(self, request: Request, order_id: str) -> Response:
        order = visible_order(request, order_id)
        paginator = HistoryPagination()
        page = paginator.paginate_queryset(history(order.order_id), request, view=self) or []
        response = paginator.get_paginated_response(
            [event_representation(request, row) for row in page]
        )
        response["ETag"] = etag_of(order)
        return response
