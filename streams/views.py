"""The live streams, async views under ASGI: an order's events, and every order's (staff only).

``GET /async/orders/<uuid>/events/``: the order's events from the start (or after
``Last-Event-ID``, a version), then each new one as it is committed, ending after the
terminal one. ``GET /async/events/``: every order's events in commit order, staff only,
resumable by position. Who may open a stream is decided by DRF as for every other endpoint
(token or session, ``api.lookup.visible_order``: another user's order is a 404); what is
sent is always read from the event store, after the last id sent, so a stream resumed with
``Last-Event-ID`` misses nothing and repeats nothing.

Under the sync WSGI server a stream would hold a worker for as long as the order runs:
there the endpoints answer 501 and clients fall back to long-polling
(``streams.longpoll``) or polling.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.lookup import visible_order
from api.problems import Problem
from api.representations import event_representation, is_staff
from orders.domain.state import OrderState
from orders.infrastructure.runtime import get_tracker
from projections.projector import history_fields
from streams import sse
from streams.hub import AsyncWaiter
from streams.process import get_hub

TERMINAL_TYPES = frozenset({"Completed", "Failed", "Cancelled"})
# Events read from the store at a time (the firehose's batches).
BATCH = 500


class FirstRenderer(BaseContentNegotiation):
    """Refusals are problem+json whatever the Accept header (it says text/event-stream)."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


class Opened(Response):
    """The gate's answer when the stream may be opened: what the stream needs to start."""

    def __init__(self, request: Request, order: OrderState | None, after: int | None) -> None:
        super().__init__(status=200)
        self.drf_request = request
        self.order = order
        self.after = after


def resume_point(request: Request) -> int | None:
    try:
        return sse.last_event_id(request.headers.get("Last-Event-ID"))
    except ValueError:
        raise Problem(
            400, "Bad Request", "Last-Event-ID must be a non-negative integer.", "Last-Event-ID"
        ) from None


class OrderStreamGate(APIView):
    """Authentication, permission and ownership, exactly as for the order's other endpoints."""

    content_negotiation_class = FirstRenderer

    def get(self, request: Request, order_id: str) -> Response:
        order = visible_order(request, order_id)
        return Opened(request, order, resume_point(request))


class FirehoseGate(APIView):
    content_negotiation_class = FirstRenderer

    def get(self, request: Request) -> Response:
        if not is_staff(request):
            raise Problem(403, "Forbidden", "Only staff may follow every order's events.", "user")
        return Opened(request, None, resume_point(request))


def _closing(view: Any) -> Any:
    """The gate, then this request's database connections closed.

    Under ASGI each request has a thread of its own for its sync code, and its
    connection would stay open for as long as the stream does: a thousand streams would
    hold a thousand connections (PostgreSQL refuses past ``max_connections``).
    """

    def gate(request: HttpRequest, **kwargs: Any) -> Any:
        try:
            return view(request, **kwargs)
        finally:
            connections.close_all()

    return gate


order_gate = _closing(OrderStreamGate.as_view())
firehose_gate = _closing(FirehoseGate.as_view())


def not_served_here() -> Problem:
    return Problem(
        501,
        "Not Implemented",
        "Event streams are served by the ASGI application (config.asgi); this server is "
        "WSGI. Long-poll the order with Prefer: wait=N instead.",
        "path",
    )


def streaming(body: AsyncIterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(body, content_type=sse.MEDIA_TYPE)
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


def _keepalive() -> float:
    return float(settings.ASYNC_REST["STREAM_KEEPALIVE"])


async def order_events(request: HttpRequest, order_id: str) -> HttpResponse:
    opened = await sync_to_async(order_gate)(request, order_id=order_id)
    if not isinstance(opened, Opened):
        return opened  # a problem: 401, 404, 400 (rendered by Django's handler)
    if not isinstance(request, ASGIRequest):
        return await sync_to_async(_refusal)(request)
    assert opened.order is not None
    return streaming(_order_stream(opened.drf_request, opened.order.order_id, opened.after or 0))


async def firehose(request: HttpRequest) -> HttpResponse:
    opened = await sync_to_async(firehose_gate)(request)
    if not isinstance(opened, Opened):
        return opened
    if not isinstance(request, ASGIRequest):
        return await sync_to_async(_refusal)(request)
    after = opened.after
    if after is None:
        after = await sync_to_async(get_tracker().last_position, thread_sensitive=False)()
    return streaming(_firehose_stream(opened.drf_request, after))


class _Refusal(APIView):
    content_negotiation_class = FirstRenderer

    def get(self, request: Request, **kwargs: Any) -> Response:
        raise not_served_here()


_refusal = _Refusal.as_view()


def _event_data(request: Request, domain_event: Any) -> dict[str, Any]:
    return event_representation(request, history_fields(domain_event))


def _order_events_after(order_id: UUID, version: int) -> list[Any]:
    return get_tracker().order_events(order_id, after=version or None)


_read_events = sync_to_async(_order_events_after, thread_sensitive=False)
# Reads of the store under way in this process's event loop, by (order, version after):
# when a hundred streams of one order are woken by one event, one of them reads and the
# others share its answer (bench/streams.py, docs/benchmarks.md, "Live streams").
_reads: dict[tuple[UUID, int], tuple[float, asyncio.Future[list[Any]]]] = {}


async def shared_read(order_id: UUID, after: int, not_before: float) -> list[Any]:
    """The order's events after ``after``, from a read begun at or after ``not_before``.

    A read begun earlier might miss the event whose notification woke the caller, so it
    is not joined: a new one is begun (and shared from then on).
    """
    loop = asyncio.get_running_loop()
    key = (order_id, after)
    found = _reads.get(key)
    if found is None or found[0] < not_before:
        future = asyncio.ensure_future(_read_events(order_id, after))
        entry = (loop.time(), future)
        _reads[key] = entry
        future.add_done_callback(
            lambda _: _reads.pop(key, None) if _reads.get(key) is entry else None
        )
        found = entry
    # Shielded: a stream closed mid-read must not cancel the others' read.
    return await asyncio.shield(found[1])


async def _order_stream(request: Request, order_id: UUID, after: int) -> AsyncIterator[bytes]:
    hub = get_hub()
    # Subscribed before the first read: an event committed between the read and the
    # wait still wakes it.
    waiter = hub.subscribe(AsyncWaiter(order_id))
    loop = asyncio.get_running_loop()
    try:
        yield sse.retry(1000)
        # The event at ``after`` is read too, not sent: if it was the last one, the
        # stream is over at once (a client resuming an ended order).
        last = max(after - 1, 0)
        not_before = loop.time()
        while True:
            waiter.clear()
            for domain_event in await shared_read(order_id, last, not_before):
                version = domain_event.originator_version
                data = _event_data(request, domain_event)
                if version > after:
                    yield sse.frame(version, data["type"], data)
                last = version
                if data["type"] in TERMINAL_TYPES:
                    return
            if await waiter.wait(_keepalive()):
                not_before = waiter.woken_at
            else:
                # Also a safety net: a notification lost on the way costs one interval.
                yield sse.comment("keep-alive")
                not_before = loop.time()
            after = max(after, last)
    finally:
        hub.unsubscribe(waiter)


def _notifications_after(position: int) -> list[tuple[int, Any]]:
    tracker = get_tracker()
    rows = tracker.recorder.select_notifications(start=position + 1, limit=BATCH)
    return [(n.id, tracker.mapper.to_domain_event(n)) for n in rows]


async def _firehose_stream(request: Request, after: int) -> AsyncIterator[bytes]:
    hub = get_hub()
    waiter = hub.subscribe(AsyncWaiter(None))
    read = sync_to_async(_notifications_after, thread_sensitive=False)
    try:
        yield sse.retry(1000)
        position = after
        while True:
            waiter.clear()
            batch = await read(position)
            for notification_id, domain_event in batch:
                data = {
                    "order": str(domain_event.originator_id),
                    **_event_data(request, domain_event),
                }
                yield sse.frame(notification_id, data["type"], data)
                position = notification_id
            if len(batch) == BATCH:
                continue  # more to read before waiting
            if not await waiter.wait(_keepalive()):
                yield sse.comment("keep-alive")
    finally:
        hub.unsubscribe(waiter)
