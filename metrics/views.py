"""``GET /metrics``: the Prometheus text format, for staff or whoever holds the scrape token."""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from api.representations import is_staff
from metrics.collector import TallyCollector
from orders.infrastructure.runtime import get_tracker


def holds_scrape_token(request: Request) -> bool:
    """``Authorization: Bearer <ASYNC_REST_METRICS_TOKEN>`` (never true without a token set)."""
    token = str(settings.ASYNC_REST["METRICS_TOKEN"])
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return (
        bool(token)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode(), token.encode())
    )


class CanScrape(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return holds_scrape_token(request) or is_staff(request)


class MetricsView(APIView):
    permission_classes = [CanScrape]
    # Operations, not the order API: left out of /async/schema/ (Prometheus knows the format).
    schema = None

    def get(self, request: Request) -> HttpResponse:
        # A registry per scrape: the collector reads the database each time, so no process
        # keeps a value of its own (no multiprocess mode needed; see metrics.collector).
        registry = CollectorRegistry(auto_describe=False)
        registry.register(TallyCollector(get_tracker()))
        return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
