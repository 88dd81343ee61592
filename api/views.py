"""The order endpoints: place, poll (with replay), cancel, list, history."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from api import idempotency, schema
from api.pagination import CheckedCursorPagination, CheckedPageNumberPagination
from api.params import int_between
from api.permissions import can_see, owner_of
from api.problems import Problem
from api.representations import event_representation, is_staff, order_representation
from orders import dispatch
from orders.domain import OrderClosedError
from orders.runtime import get_tracker
from orders.services import cancel_order, place_order
from orders.tracker import OrderNotFoundError
from projections.models import OrderEvent, OrderSummary
from projections.projector import summary_fields
from projections.reading import find_summary

PROBLEM_TYPE = "application/problem+json"


def problems(**described: str) -> dict[Any, OpenApiResponse]:
    """Error answers, documented as problem+json: ``problems(_404="Unknown order.")``."""
    return {
        (int(code.lstrip("_")), PROBLEM_TYPE): OpenApiResponse(schema.Problem, description=text)
        for code, text in described.items()
    }


COMMON = {"_401": "Not signed in.", "_403": "Not allowed.", "_503": "The store is unreachable."}
UUID_PARAM = OpenApiParameter("order_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


def clean_text(value: str, field: str) -> str:
    # PostgreSQL text cannot hold NUL: refuse it here rather than fail in the database.
    if "\x00" in value:
        raise Problem(400, "Bad Request", f"{field} must not contain NUL characters.", field)
    return value


def parse_moment(raw: str, field: str) -> datetime:
    """An ISO 8601 date and time from a query parameter, in UTC (400 naming it otherwise)."""
    try:
        when = parse_datetime(clean_text(raw, field).replace(" ", "+"))
    except ValueError:  # well formed, impossible: month 13, an offset of a day or more
        when = None
    if when is None:
        raise Problem(400, "Bad Request", f"{field} must be an ISO 8601 date and time.", field)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)  # offsets past ±16h are valid ISO, not in PostgreSQL
    except OverflowError:
        raise Problem(400, "Bad Request", f"{field} is out of range.", field) from None


def checked_page_size(request: Request, maximum: int) -> None:
    raw = request.query_params.get("page_size")
    if raw is not None and int_between(raw, 1, maximum) is None:
        raise Problem(
            400, "Bad Request", f"page_size must be an integer from 1 to {maximum}.", "page_size"
        )


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


def etag_of(summary: OrderSummary) -> str:
    # Changes exactly when the order's version does (replays carry their own version).
    return f'"{summary.order_id.hex}-{summary.version}"'


def not_modified(request: Request, etag: str) -> bool:
    header = request.headers.get("If-None-Match")
    return bool(header) and (etag in parse_etags(header) or parse_etags(header) == ["*"])


def status_response(request: Request, summary: OrderSummary) -> Response:
    """The poll's answer: 304 if unchanged, else 202 (+Retry-After), 201 (+Location) or 200."""
    etag = etag_of(summary)
    if not_modified(request, etag):
        return Response(status=304, headers={"ETag": etag})
    body = order_representation(request, summary)
    headers = {"ETag": etag}
    if summary.status == "completed":
        code = 201
        if body["resource_url"]:
            headers["Location"] = body["resource_url"]
    elif summary.status in ("failed", "cancelled"):
        code = 200
    else:
        code = 202
        headers["Retry-After"] = str(settings.ASYNC_REST["RETRY_AFTER"])
    return Response(body, status=code, headers=headers)


def order_url(request: Request, order_id: UUID | str) -> str:
    return request.build_absolute_uri(reverse("api:order", args=[str(order_id)]))


class PlaceOrderView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "orders"

    @extend_schema(
        operation_id="place_order",
        summary="Order a resource; answered 302 to the new order.",
        request=schema.PlaceOrderRequest,
        parameters=[
            OpenApiParameter(
                idempotency.HEADER,
                str,
                OpenApiParameter.HEADER,
                description="Retries with the same key and body get the first answer.",
            )
        ],
        responses={
            302: OpenApiResponse(schema.Order, description="Placed; Location is the order."),
            **problems(
                _400="Invalid JSON, or a context that is not an object.",
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
    def post(self, request: Request, resource_name: str) -> Response:
        clean_text(resource_name, "resource_name")
        limit = int(settings.ASYNC_REST["MAX_CONTEXT_BYTES"])
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise Problem(400, "Bad Request", "Content-Length is not a number.", "body") from None
        if declared > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise Problem(413, "Content Too Large", f"The body exceeds {limit} bytes.", "context")
        try:
            dispatch.registration(resource_name)
        except dispatch.UnknownResourceError:
            raise Problem(
                404,
                "Unknown Resource",
                f"No task is registered for resource {resource_name!r}.",
                field="resource_name",
            ) from None
        context = self._context(request.data, limit)
        owner = owner_of(request)

        key = request.headers.get(idempotency.HEADER)
        claim = None
        if key is not None:
            print_ = idempotency.fingerprint(resource_name, context)
            claim = idempotency.claim(
                owner or "anonymous", clean_text(key, "Idempotency-Key"), print_
            )
            if claim.replay:
                record = claim.record
                return Response(
                    record.body,
                    status=record.status_code,
                    headers={"Location": record.location, "Idempotent-Replayed": "true"},
                )
        try:
            order_id = place_order(resource_name, context, owner)
        except BaseException:
            if claim is not None:
                idempotency.release(claim.record)  # nothing was placed: the key is free
            raise
        location = order_url(request, order_id)
        try:
            summary = find_summary(order_id)
            assert summary is not None
            body = order_representation(request, summary)
        except BaseException:
            # The order exists: a retry with this key must find it, not place another.
            if claim is not None:
                idempotency.remember(claim.record, 302, location, {"uuid": str(order_id)})
            raise
        if claim is not None:
            idempotency.remember(claim.record, 302, location, body)
        return Response(body, status=302, headers={"Location": location})

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
        try:
            text = json.dumps(context, allow_nan=False)
        except ValueError:
            raise Problem(
                400, "Bad Request", "context must not hold NaN or infinite numbers.", "context"
            ) from None
        if _has_reserved_keys(context):
            raise Problem(
                400,
                "Bad Request",
                "context must not hold an object whose keys are exactly _type_ and _data_ "
                "(the event store's own encoding).",
                "context",
            )
        if len(text.encode()) > limit:
            raise Problem(413, "Content Too Large", f"context exceeds {limit} bytes.", "context")
        if "\\u0000" in text:
            raise Problem(400, "Bad Request", "context must not contain NUL characters.", "context")
        return context


def _has_reserved_keys(value: Any) -> bool:
    # eventsourcing's JSON transcoder reads {"_type_": ..., "_data_": ...} as one of its
    # own tagged values: stored as is, such a context could not be read back.
    if isinstance(value, dict):
        return set(value) == {"_type_", "_data_"} or any(
            _has_reserved_keys(v) for v in value.values()
        )
    if isinstance(value, list):
        return any(_has_reserved_keys(v) for v in value)
    return False


class OrderView(APIView):
    @extend_schema(
        operation_id="get_order",
        summary="Poll an order: 202 while queued or running, 201 once completed.",
        parameters=[
            UUID_PARAM,
            OpenApiParameter(
                "version", int, description="Replay the state right after this event."
            ),
            OpenApiParameter(
                "at", OpenApiTypes.DATETIME, description="Replay the state at this moment."
            ),
            OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER),
        ],
        responses={
            200: OpenApiResponse(schema.Order, description="Failed, cancelled, or a replay."),
            201: OpenApiResponse(schema.Order, description="Completed; Location: the result."),
            202: OpenApiResponse(schema.Order, description="Queued or running; Retry-After."),
            304: OpenApiResponse(description="Not modified since the ETag given."),
            **problems(
                _400="Bad version or moment.", _404="Unknown order, or not yours.", **COMMON
            ),
        },
    )
    def get(self, request: Request, order_id: str) -> Response:
        summary = visible_summary(request, order_id)
        if "version" in request.query_params or "at" in request.query_params:
            return self._replay(request, summary)
        return status_response(request, summary)

    def _replay(self, request: Request, summary: OrderSummary) -> Response:
        tracker = get_tracker()
        version = self._requested_version(request, summary)
        try:
            order = tracker.get_order(summary.order_id, version=version)
        except OrderNotFoundError:
            raise Problem(
                400, "Bad Request", f"version must be 1 to {summary.version}.", "version"
            ) from None
        replayed = OrderSummary(order_id=order.id, **summary_fields(order))
        body = order_representation(request, replayed)
        body["replayed_version"] = order.version
        etag = etag_of(replayed)
        if not_modified(request, etag):
            return Response(status=304, headers={"ETag": etag})
        return Response(body, status=200, headers={"ETag": etag})

    @staticmethod
    def _requested_version(request: Request, summary: OrderSummary) -> int:
        params = request.query_params
        if "version" in params:
            raw = params["version"]
            if int_between(raw, 1, summary.version) is None:
                raise Problem(
                    400,
                    "Bad Request",
                    f"version must be an integer from 1 to {summary.version}, not {raw!r}.",
                    "version",
                )
            return int(raw)
        when = parse_moment(params["at"], "at")
        version = get_tracker().version_at(summary.order_id, when)
        if version == 0:
            raise Problem(
                400,
                "Bad Request",
                f"The order did not exist yet at {when.isoformat()} "
                f"(placed {summary.created.isoformat()}).",
                "at",
            )
        return version


class CancelOrderView(APIView):
    @extend_schema(
        operation_id="cancel_order",
        summary="Cancel: at once when queued; a running order is asked to stop.",
        request=schema.CancelRequest,
        parameters=[UUID_PARAM],
        responses={
            200: OpenApiResponse(schema.Order, description="Cancelled."),
            202: OpenApiResponse(schema.Order, description="Running: asked to stop."),
            **problems(
                _400="A reason that is not a string.",
                _404="Unknown order, or not yours.",
                _409="The order has already ended.",
                _415="Not JSON.",
                **COMMON,
            ),
        },
    )
    def post(self, request: Request, order_id: str) -> Response:
        summary = visible_summary(request, order_id)
        data = request.data if isinstance(request.data, dict) else {}
        reason = data.get("reason") or ""
        if not isinstance(reason, str):
            raise Problem(400, "Bad Request", "reason must be a string.", "reason")
        clean_text(reason, "reason")
        try:
            order = cancel_order(summary.order_id, reason[:1000])
        except OrderClosedError:
            raise Problem(
                409,
                "Conflict",
                f"The order is {summary.status}: only a queued or running order can be cancelled.",
                "status",
            ) from None
        summary = find_summary(summary.order_id) or summary
        body = order_representation(request, summary)
        return Response(body, status=200 if order.is_terminal else 202)


class OrderCursor(CheckedCursorPagination):
    ordering = ("-created", "-order_id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class OrderListView(APIView):
    @extend_schema(
        operation_id="list_orders",
        summary="The caller's orders, newest first (staff: everyone's).",
        parameters=[
            OpenApiParameter("status", str, enum=schema.STATUSES),
            OpenApiParameter("resource", str, description="Resource name."),
            OpenApiParameter("created_after", OpenApiTypes.DATETIME),
            OpenApiParameter("created_before", OpenApiTypes.DATETIME),
            OpenApiParameter("cursor", str),
            OpenApiParameter(
                "page_size", {"type": "integer", "minimum": 1, "maximum": OrderCursor.max_page_size}
            ),
        ],
        responses={
            200: schema.OrderPage,
            **problems(_400="A bad filter.", _404="A bad cursor.", **COMMON),
        },
    )
    def get(self, request: Request) -> Response:
        rows = OrderSummary.objects.all()
        if not is_staff(request):
            rows = rows.filter(owner=owner_of(request))
        params = request.query_params
        if "status" in params:
            if params["status"] not in schema.STATUSES:
                raise Problem(
                    400, "Bad Request", f"status must be one of {schema.STATUSES}.", "status"
                )
            rows = rows.filter(status=params["status"])
        if "resource" in params:
            rows = rows.filter(resource_name=clean_text(params["resource"], "resource"))
        for name, lookup in (("created_after", "created__gt"), ("created_before", "created__lt")):
            if name in params:
                rows = rows.filter(**{lookup: parse_moment(params[name], name)})
        checked_page_size(request, OrderCursor.max_page_size)
        paginator = OrderCursor()
        page = paginator.paginate_queryset(rows, request, view=self) or []
        return paginator.get_paginated_response([order_representation(request, s) for s in page])


class HistoryPagination(CheckedPageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class OrderHistoryView(APIView):
    @extend_schema(
        operation_id="order_history",
        summary="The order's events, oldest first, paginated.",
        parameters=[
            UUID_PARAM,
            OpenApiParameter("page", {"type": "integer", "minimum": 1}),
            OpenApiParameter(
                "page_size",
                {"type": "integer", "minimum": 1, "maximum": HistoryPagination.max_page_size},
            ),
        ],
        responses={
            200: schema.HistoryPage,
            **problems(_404="Unknown order or page.", **COMMON),
        },
    )
    def get(self, request: Request, order_id: str) -> Response:
        summary = visible_summary(request, order_id)
        rows = OrderEvent.objects.filter(order_id=summary.order_id).order_by("version")
        checked_page_size(request, HistoryPagination.max_page_size)
        paginator = HistoryPagination()
        page = paginator.paginate_queryset(rows, request, view=self) or []
        response = paginator.get_paginated_response(
            [event_representation(request, r) for r in page]
        )
        response["ETag"] = etag_of(summary)
        return response
