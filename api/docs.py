"""The OpenAPI description of each endpoint, kept apart from the views it decorates.

Request bodies and query parameters are the serializers of ``api.inputs`` (the ones the
views validate with); answers are the shapes of ``api.schema``; every error is a
problem+json (RFC 9457) body.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from api import inputs, schema
from api.idempotency import HEADER as IDEMPOTENCY_KEY
from api.pagination import HistoryPagination, OrderCursor
from api.problems import PROBLEM
from callbacks.docs import ORDER_EVENT


def problems(**described: str) -> dict[Any, OpenApiResponse]:
    """Error answers, documented as problem+json: ``problems(_404="Unknown order.")``."""
    return {
        (int(code.lstrip("_")), PROBLEM): OpenApiResponse(schema.Problem, description=text)
        for code, text in described.items()
    }


COMMON = {"_401": "Not signed in.", "_403": "Not allowed.", "_503": "The store is unreachable."}
UUID_PARAM = OpenApiParameter("order_id", OpenApiTypes.UUID, OpenApiParameter.PATH)

place_order = extend_schema(
    operation_id="place_order",
    summary="Order a resource; answered 302 to the new order.",
    request=inputs.PlaceOrderInput,
    callbacks=[ORDER_EVENT],
    parameters=[
        OpenApiParameter(
            IDEMPOTENCY_KEY,
            str,
            OpenApiParameter.HEADER,
            description="Retries with the same key and body get the first answer.",
        )
    ],
    responses={
        302: OpenApiResponse(schema.Order, description="Placed; Location is the order."),
        **problems(
            _400="Invalid JSON, a context that is not an object, or a refused callback.",
            _404="Unknown resource name.",
            _409="Same Idempotency-Key, first request still in flight.",
            _413="The context or the body is too large.",
            _415="Not JSON.",
            _422="Same Idempotency-Key, another body.",
            _429="Too many orders; see Retry-After.",
            **COMMON,
        ),
    },
)

get_order = extend_schema(
    operation_id="get_order",
    summary="Poll an order: 202 while queued or running, 201 once completed.",
    parameters=[
        UUID_PARAM,
        inputs.ReplayInput,
        OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER),
    ],
    responses={
        200: OpenApiResponse(schema.Order, description="Failed, cancelled, or a replay."),
        201: OpenApiResponse(schema.Order, description="Completed; Location: the result."),
        202: OpenApiResponse(
            schema.Order,
            description="Queued or running; Retry-After: seconds until it should next move "
            "(from its pace; 1 to ASYNC_REST_RETRY_AFTER_MAX).",
        ),
        304: OpenApiResponse(
            description="Not modified since the ETag given (which covers `stalled`)."
        ),
        **problems(_400="Bad version or moment.", _404="Unknown order, or not yours.", **COMMON),
    },
)

cancel_order = extend_schema(
    operation_id="cancel_order",
    summary="Cancel: at once when queued; a running order is asked to stop.",
    request=inputs.CancelInput,
    parameters=[UUID_PARAM],
    responses={
        200: OpenApiResponse(schema.Order, description="Cancelled."),
        202: OpenApiResponse(schema.Order, description="Running: asked to stop."),
        **problems(
            _400="A reason that is not a string, or too long.",
            _404="Unknown order, or not yours.",
            _409="The order has already ended.",
            _415="Not JSON.",
            **COMMON,
        ),
    },
)

list_orders = extend_schema(
    operation_id="list_orders",
    summary="The caller's orders, newest first (staff: everyone's).",
    parameters=[
        inputs.OrderFilters,
        OpenApiParameter("cursor", str),
        OpenApiParameter("page_size", OrderCursor.page_size_schema()),
    ],
    responses={
        200: schema.OrderPage,
        **problems(_400="A bad filter.", _404="A bad cursor.", **COMMON),
    },
)

order_children = extend_schema(
    operation_id="order_children",
    summary="The orders this one spawned (``order.spawn`` in its task), newest first.",
    parameters=[
        UUID_PARAM,
        inputs.OrderFilters,
        OpenApiParameter("cursor", str),
        OpenApiParameter("page_size", OrderCursor.page_size_schema()),
    ],
    responses={
        200: schema.OrderPage,
        **problems(_400="A bad filter.", _404="Unknown order, or a bad cursor.", **COMMON),
    },
)

order_history = extend_schema(
    operation_id="order_history",
    summary="The order's events, oldest first, paginated.",
    parameters=[
        UUID_PARAM,
        OpenApiParameter("page", {"type": "integer", "minimum": 1}),
        OpenApiParameter("page_size", HistoryPagination.page_size_schema()),
    ],
    responses={
        200: schema.HistoryPage,
        **problems(_404="Unknown order or page.", **COMMON),
    },
)
