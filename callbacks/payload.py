"""A delivery's body: the order as the status GET shows it at the triggering event, and the event.

Rebuilt from the event store at that event's version, so every attempt sends the same
body (only the signature's timestamp changes) and a late attempt does not describe a
later state. Links are absolute against the address the order was placed through.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from django.http import HttpRequest
from rest_framework.request import Request

from api.representations import STAFF_ONLY_FIELDS, order_representation
from orders.application.tracker import OrderTracker
from orders.domain.order import event_fields, event_type
from orders.domain.state import state_of


class _RecordedRequest(HttpRequest):
    """A request as seen by the representation: only its scheme and host matter."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        parts = urlsplit(base_url)
        self._scheme = parts.scheme or "http"
        self.META["HTTP_HOST"] = parts.netloc
        self.path = self.path_info = "/"

    def _get_scheme(self) -> str:
        return self._scheme

    def get_host(self) -> str:
        # Recorded from an accepted request (or the settings): not a client's header.
        return str(self.META["HTTP_HOST"])


def message_id(order_id: UUID, version: int) -> str:
    """The delivery's ``webhook-id``: the same on every attempt, so receivers can de-duplicate."""
    return f"{order_id}-{version}"


def body_of(tracker: OrderTracker, order_id: UUID, version: int, base_url: str) -> str:
    """The JSON text sent for the order's event number ``version``."""
    order = tracker.get_order(order_id, version=version)
    triggering: Any = next(iter(tracker.events.get(order_id, gt=version - 1, lte=version)))
    request = Request(_RecordedRequest(base_url))
    fields = {k: v for k, v in event_fields(triggering).items() if k not in STAFF_ONLY_FIELDS}
    kind = event_type(triggering)
    document: dict[str, Any] = {
        "type": f"order.{kind.lower()}",
        "timestamp": triggering.timestamp.isoformat(),
        "data": {
            "order": order_representation(request, state_of(order)),
            "event": {
                "version": version,
                "type": kind,
                "timestamp": triggering.timestamp.isoformat(),
                **fields,
            },
        },
    }
    return json.dumps(document, separators=(",", ":"), default=str)
