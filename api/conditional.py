"""The conditional poll: an ETag per order version, 304 when unchanged, else the status's code.

A client that sends back the ``ETag`` it was given as ``If-None-Match`` gets **304** and
no body until the order changes. Otherwise the code tells the state: **202** with
``Retry-After`` while queued or running, **201** with the result's ``Location`` once
completed, **200** when failed or cancelled.
"""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.utils.http import parse_etags
from rest_framework.request import Request
from rest_framework.response import Response

from api.lookup import visible_head
from api.representations import order_representation
from orders.domain.state import OrderState


def etag_of(order: OrderState) -> str:
    # Changes exactly when the order's version does (replays carry their own version).
    return etag_for(order.order_id, order.version)


def etag_for(order_id: UUID, version: int) -> str:
    return f'"{order_id.hex}-{version}"'


def not_modified(request: Request, etag: str) -> bool:
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    etags = parse_etags(header)
    return etag in etags or etags == ["*"]


def unchanged_response(request: Request, order_id: str) -> Response | None:
    """The 304 of a poll whose ``If-None-Match`` is still current, from the order's version alone.

    Reads two columns instead of the whole row, and renders nothing; None when the
    answer is not a 304 (then the full poll answers, 404s included, as without it).
    """
    head = visible_head(request, order_id)
    if head is None:
        return None
    etag = etag_for(head[0], head[1])
    return Response(status=304, headers={"ETag": etag}) if not_modified(request, etag) else None


def status_response(request: Request, order: OrderState) -> Response:
    """The poll's answer: 304 if unchanged, else 202 (+Retry-After), 201 (+Location) or 200."""
    etag = etag_of(order)
    if not_modified(request, etag):
        return Response(status=304, headers={"ETag": etag})
    body = order_representation(request, order)
    headers = {"ETag": etag}
    if order.status == "completed":
        code = 201
        if body["resource_url"]:
            headers["Location"] = body["resource_url"]
    elif order.status in ("failed", "cancelled"):
        code = 200
    else:
        code = 202
        headers["Retry-After"] = str(settings.ASYNC_REST["RETRY_AFTER"])
    return Response(body, status=code, headers=headers)


def replay_response(request: Request, order: OrderState) -> Response:
    """A past state, rebuilt from the event store: always 200, with its own ETag."""
    etag = etag_of(order)
    if not_modified(request, etag):
        return Response(status=304, headers={"ETag": etag})
    body = order_representation(request, order)
    body["replayed_version"] = order.version
    return Response(body, status=200, headers={"ETag": etag})
