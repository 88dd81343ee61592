"""How an order and its events look to a client (built from the read models)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.urls import reverse
from rest_framework.request import Request

from orders.application.timing import status_timing
from orders.domain.state import OrderState
from orders.domain.timing import Timing

STAFF_ONLY_FIELDS = ("traceback",)


def is_staff(request: Request) -> bool:
    return bool(request.user and request.user.is_authenticated and request.user.is_staff)


def absolute(request: Request, url: str) -> str:
    """Resource URLs recorded as paths are answered as absolute URLs."""
    return request.build_absolute_uri(url) if url.startswith("/") else url


@lru_cache(maxsize=1)
def _orders_path() -> str:
    # Resolved once: reverse() on every poll is a measurable part of a status GET.
    return reverse("api:orders")


@lru_cache(maxsize=1)
def _body_fields() -> tuple[str, ...]:
    # The schema's Order names the body's keys, in order: a field of OrderState that it
    # declares is answered as the state holds it, unless rendered here. Optional keys
    # (error, replayed_version) are added by whoever has them.
    from api.schema import Order

    optional = {"error", "replayed_version"}
    return tuple(name for name in Order().fields if name not in optional)


def _resource_url(request: Request, summary: OrderState, self_url: str) -> str | None:
    if summary.resource_url:
        return absolute(request, summary.resource_url)
    if summary.children and summary.status == "completed":
        return self_url + "children/"  # a parent whose task returned nothing: its children
    return None


def order_representation(
    request: Request, summary: OrderState, timing: Timing | None = None
) -> dict[str, Any]:
    """The order's body; ``timing`` (``orders.application.timing``) is computed now if not given."""
    order_id = str(summary.order_id)
    timing = timing or status_timing(summary)
    self_url = f"{request.scheme}://{request.get_host()}{_orders_path()}{order_id}/"
    rendered: dict[str, Any] = {
        "uuid": order_id,
        "message": summary.message or None,
        # Forgotten (`orders forget`): null, and context_erased says why.
        "context": None if summary.context_erased else summary.context,
        "resource_url": _resource_url(request, summary, self_url),
        "created": summary.created.isoformat(),
        "updated": summary.updated.isoformat(),
        "last_event_at": timing.last_event_at.isoformat(),
        "stalled": timing.stalled,
        "eta": timing.eta.isoformat() if timing.eta else None,
        "parent": (
            f"{request.scheme}://{request.get_host()}{_orders_path()}{summary.parent_id}/"
            if summary.parent_id
            else None
        ),
        "children": (
            {
                "count": summary.children,
                "ended": summary.children_ended,
                "failed": summary.children_failed,
                "weight": summary.children_weight,
                "awaiting": summary.awaiting_children,
                "url": self_url + "children/",
            }
            if summary.children
            else None
        ),
        "links": {
            "self": self_url,
            "history": self_url + "history/",
            "cancel": self_url + "cancel/",
        },
    }
    body = {
        name: rendered[name] if name in rendered else getattr(summary, name)
        for name in _body_fields()
    }
    if summary.status == "failed":
        body["error"] = {"message": summary.message, "type": summary.error_type or None}
        if is_staff(request):
            body["error"]["traceback"] = summary.traceback
    return body


def event_representation(request: Request, row: dict[str, Any]) -> dict[str, Any]:
    """One history row (``projections.selectors.history``) as the client sees it."""
    data = dict(row["data"])
    if not is_staff(request):
        for name in STAFF_ONLY_FIELDS:
            data.pop(name, None)
    return {
        "version": row["version"],
        "type": row["type"],
        "timestamp": row["timestamp"].isoformat(),
        **data,
    }
