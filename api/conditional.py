"""The conditional poll: an ETag per order version, 304 when unchanged, else the status's code.

A client that sends back the ``ETag`` it was given as ``If-None-Match`` gets **304** and
no body until the order changes. Otherwise the code tells the state: **202** with
``Retry-After`` while queued or running, **201** with the result's ``Location`` once
completed, **200** when failed or cancelled.
"""

from __future__ import annotations

from uuid import UUID

from django.utils.http import parse_etags
from rest_framework.request import Request
from rest_framework.response import Response

from api.lookup import visible_head
from api.representations import order_representation
from orders.application.timing import status_timing
from orders.domain.state import OrderState
from orders.domain.timing import Timing


def etag_of(order: OrderState, stalled: bool = False) -> str:
    # Changes exactly when the body does: the version (replays carry their own), the
    # progress (a parent's moves with its children's, between its own events), and
    # "stalled", the one field that changes with the clock alone (eta is the version's).
    return etag_for(order.order_id, order.version, order.progress, stalled)


def etag_for(order_id: UUID, version: int, progress: int, stalled: bool = False) -> str:
    return f'"{order_id.hex}-{version}-{progress}{"-stalled" if stalled else ""}"'


def _pace(timing: Timing) -> dict[str, str]:
    return {} if timing.retry_after is None else {"Retry-After": str(timing.retry_after)}


def not_modified(request: Request, etag: str) -> bool:
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    etags = parse_etags(header)
    return etag in etags or etags == ["*"]


def unchanged_response(request: Request, order_id: str) -> Response | None:
    """The 304 of a poll whose ``If-None-Match`` is still current, from a few columns.

    Reads the columns that the ETag and Retry-After depend on (``SummaryHead``), not the
    whole row, and renders nothing; None when the answer is not a 304 (then the full poll
    answers, 404s included, as without it).
    """
    found = visible_head(request, order_id)
    if found is None:
        return None
    uuid, head = found
    timing = status_timing(head)
    etag = etag_for(uuid, head.version, head.progress, timing.stalled)
    if not not_modified(request, etag):
        return None
    return Response(status=304, headers={"ETag": etag, **_pace(timing)})


def status_response(request: Request, order: OrderState) -> Response:
    """The poll's answer: 304 if unchanged, else 202 (+Retry-After), 201 (+Location) or 200.

    Retry-After follows the order's pace (``orders.domain.timing``), on a 304 too.
    """
    timing = status_timing(order)
    etag = etag_of(order, timing.stalled)
    pace = _pace(timing)
    if not_modified(request, etag):
        return Response(status=304, headers={"ETag": etag, **pace})
    body = order_representation(request, order, timing)
    headers = {"ETag": etag}
    if order.status == "completed":
        code = 201
        if body["resource_url"]:
            headers["Location"] = body["resource_url"]
    elif order.status in ("failed", "cancelled"):
        code = 200
    else:
        code = 202
        headers.update(pace)
    return Response(body, status=code, headers=headers)


def replay_response(request: Request, order: OrderState) -> Response:
    """A past state, rebuilt from the event store: always 200, with its own ETag."""
    etag = etag_of(order)
    if not_modified(request, etag):
        return Response(status=304, headers={"ETag": etag})
    # Seen at its own moment: a past state was not stalled when it was current.
    body = order_representation(request, order, status_timing(order, now=order.updated))
    body["replayed_version"] = order.version
    return Response(body, status=200, headers={"ETag": etag})
