"""The OpenAPI text of a callback delivery: an operation callback of ``place_order``."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiCallback,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers

from api.schema import Order


class CallbackEvent(serializers.Serializer):
    version = serializers.IntegerField(help_text="The event's number in the order's stream.")
    type = serializers.CharField(help_text="Progressed, Completed, Failed or Cancelled.")
    timestamp = serializers.DateTimeField()


class CallbackData(serializers.Serializer):
    order = Order(help_text="The order as the status GET shows it right after the event.")
    event = CallbackEvent(help_text="The event, with its fields as the history shows them.")


class CallbackBody(serializers.Serializer):
    type = serializers.CharField(help_text="order.progressed, order.completed, …")
    timestamp = serializers.DateTimeField()
    data = CallbackData()


def _header(name: str, text: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.HEADER, description=text)


ORDER_EVENT = OpenApiCallback(
    "order_event",
    "{$request.body#/callback/url}",
    extend_schema(
        summary="A chosen event of the order, signed per Standard Webhooks.",
        description=(
            "Sent by a worker after the event is recorded; retried with exponential backoff "
            "and jitter until a 2xx, a bounded number of times; a 410 stops every later "
            "delivery of the order. Redirects are not followed. Each attempt is recorded in "
            "the order's history (CallbackDelivered, CallbackFailed). Verify the signature "
            "with any Standard Webhooks library and de-duplicate on webhook-id."
        ),
        request=CallbackBody,
        parameters=[
            _header("webhook-id", "<order uuid>-<event version>: the same on every attempt."),
            _header("webhook-timestamp", "Seconds since the epoch, when this attempt was sent."),
            _header(
                "webhook-signature",
                "v1,<base64 HMAC-SHA256 of id.timestamp.body>, one per configured secret.",
            ),
        ],
        responses={
            200: OpenApiResponse(description="Any 2xx: delivered, no more attempts."),
            410: OpenApiResponse(description="Gone: no more deliveries for this order."),
        },
    ),
)
