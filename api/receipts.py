"""The receipt endpoints: an ended order's signed receipt, and the key set that checks it.

``GET /async/orders/<uuid>/receipt/`` follows the status endpoint's rules (404 for an
unknown, malformed or someone else's order) and answers **409** naming ``status`` while
the order has not ended: the order exists, its state is what stands in the way, as for
cancelling an ended order. ``GET /.well-known/async-rest-keys`` is public.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.docs import COMMON, UUID_PARAM, problems
from api.lookup import visible_order
from api.problems import Problem
from orders.infrastructure.runtime import get_tracker
from receipts.issue import BrokenRecordError, NotEndedError, issue
from receipts.keys import key_ring

KEYS_PATH = "/.well-known/async-rest-keys"


class ReceiptShape(serializers.Serializer):
    """Every member but ``signature`` is signed (receipts/signing.py says how)."""

    format = serializers.CharField(help_text="async-rest.receipt.v1")
    order_id = serializers.UUIDField()
    resource_name = serializers.CharField()
    status = serializers.ChoiceField(choices=["completed", "failed", "cancelled"])
    version = serializers.IntegerField(min_value=1, help_text="The number of events.")
    head = serializers.CharField(help_text="SHA-256 hash of the last event: the chain's head.")
    ended_at = serializers.DateTimeField(help_text="The terminal event's timestamp.")
    resource_url = serializers.CharField(help_text="What was made (completed), else empty.")
    alg = serializers.CharField(help_text="Ed25519")
    kid = serializers.CharField(help_text=f"The signing key's id in {KEYS_PATH}.")
    signature = serializers.CharField(help_text="base64url Ed25519 signature.")


class KeyShape(serializers.Serializer):
    kty = serializers.CharField(help_text="OKP")
    crv = serializers.CharField(help_text="Ed25519")
    x = serializers.CharField(help_text="The public key, base64url.")
    kid = serializers.CharField(help_text="RFC 7638 thumbprint.")
    alg = serializers.CharField()
    use = serializers.CharField()


class KeySetShape(serializers.Serializer):
    keys = KeyShape(many=True, help_text="The current key first, then retired ones.")


class ReceiptView(APIView):
    @extend_schema(
        operation_id="order_receipt",
        summary="The signed receipt of an ended order, verifiable offline.",
        parameters=[UUID_PARAM],
        responses={
            200: OpenApiResponse(ReceiptShape, description=f"Signed; keys at {KEYS_PATH}."),
            **problems(
                _404="Unknown order, or not yours.",
                _409="The order has not ended yet.",
                _500="The stored record fails its own hash chain: it is not signed.",
                **COMMON,
            ),
        },
    )
    def get(self, request: Request, order_id: str) -> Response:
        order = visible_order(request, order_id)
        try:
            receipt = issue(get_tracker().order_events(order.order_id), key_ring())
        except NotEndedError as exc:
            raise Problem(
                409,
                "Conflict",
                f"The order is {exc.status}: a receipt is issued once it has ended.",
                "status",
                headers={"Retry-After": str(settings.ASYNC_REST["RETRY_AFTER"])},
            ) from None
        except BrokenRecordError as exc:
            # Never sign a stream that fails its own chain; `orders verify` says more.
            raise Problem(
                500, "Internal Server Error", f"The order's record is broken: {exc}."
            ) from None
        return Response(receipt, headers={"Link": f'<{KEYS_PATH}>; rel="jwks"'})


class ReceiptKeysView(APIView):
    authentication_classes: list[type] = []  # public: a bad token must not hide the keys
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="receipt_keys",
        summary="The public keys of receipts (a JWK Set); retired keys stay listed.",
        responses={200: KeySetShape},
    )
    def get(self, request: Request) -> Response:
        return Response(key_ring().key_set(), headers={"Cache-Control": "public, max-age=300"})
