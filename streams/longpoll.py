"""Long-poll: ``Prefer: wait=N`` (RFC 7240) and ``If-None-Match`` hold a 304 until a change.

A middleware around the status GET, so the view itself is unchanged: the view answers as
always; when its answer is a 304 (the client already has this version) and the client
asked to wait, the answer is held until a notification says the order was written (or N
seconds pass), then the view answers again. Every answer to a request that asked, held or
not, says ``Preference-Applied: wait=N`` with the N applied. Without ``Prefer: wait``
nothing changes.

N is bounded by ``LONGPOLL_MAX_WAIT`` under ASGI (a held request is a coroutine), and by
``LONGPOLL_SYNC_MAX_WAIT`` under the sync WSGI server, where a held request holds a whole
worker: short there (5 s by default), well below gunicorn's 30 s worker timeout.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from streams.hub import AsyncWaiter, ThreadWaiter
from streams.process import get_hub

ORDER_VIEW = "api:order"
# After a wake the read model may not show the new version yet (the writer projects
# right after its commit): the view is asked again after this pause, until the deadline.
SETTLE = 0.02


def preferred_wait(header: str | None) -> int | None:
    """The ``wait`` preference's seconds (RFC 7240 §4.3), or None when absent or malformed."""
    if not header:
        return None
    for preference in header.split(","):
        token = preference.split(";", 1)[0].strip()
        name, _, value = token.partition("=")
        if name.strip().lower() != "wait":
            continue
        value = value.strip().strip('"')
        if value.isascii() and value.isdigit():
            return int(value)
        return None
    return None


def watched_order(request: HttpRequest) -> UUID | None:
    """The order whose status GET this is, or None (another endpoint, a replay, a bad id)."""
    if request.method not in ("GET", "HEAD") or "version" in request.GET or "at" in request.GET:
        return None
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    if match.view_name != ORDER_VIEW:
        return None
    try:
        return UUID(str(match.kwargs.get("order_id")))
    except ValueError:
        return None


class LongPollMiddleware:
    """Holds a status GET's 304 while the client said ``Prefer: wait``; sync and async."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _asked(self, request: HttpRequest, limit_key: str) -> tuple[UUID, int] | None:
        wanted = preferred_wait(request.headers.get("Prefer"))
        if wanted is None:
            return None
        order_id = watched_order(request)
        if order_id is None:
            return None
        return order_id, min(wanted, int(settings.ASYNC_REST[limit_key]))

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        asked = self._asked(request, "LONGPOLL_SYNC_MAX_WAIT")
        if asked is None:
            return self.get_response(request)
        order_id, wait = asked
        hub = get_hub()
        waiter = hub.subscribe(ThreadWaiter(order_id))  # before the view reads the order
        try:
            deadline = time.monotonic() + wait
            response = self.get_response(request)
            while response.status_code == 304 and request.headers.get("If-None-Match"):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                if waiter.wait(left):
                    waiter.clear()
                    time.sleep(min(SETTLE, max(0.0, deadline - time.monotonic())))
                response = self.get_response(request)
        finally:
            hub.unsubscribe(waiter)
        return applied(response, wait)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        get_response: Callable[[HttpRequest], Awaitable[HttpResponse]] = self.get_response
        asked = self._asked(request, "LONGPOLL_MAX_WAIT")
        if asked is None:
            return await get_response(request)
        order_id, wait = asked
        hub = get_hub()
        waiter = hub.subscribe(AsyncWaiter(order_id))
        try:
            loop_time = waiter.loop.time
            deadline = loop_time() + wait
            response = await get_response(request)
            while response.status_code == 304 and request.headers.get("If-None-Match"):
                left = deadline - loop_time()
                if left <= 0:
                    break
                # A held request must not hold its database connection (streams.views).
                await sync_to_async(connections.close_all)()
                if await waiter.wait(left):
                    waiter.clear()
                    await waiter.wait(min(SETTLE, max(0.0, deadline - loop_time())))
                response = await get_response(request)
        finally:
            hub.unsubscribe(waiter)
        return applied(response, wait)


def applied(response: HttpResponse, wait: int) -> HttpResponse:
    if response.status_code < 400:
        response["Preference-Applied"] = f"wait={wait}"
        # A cache must not answer one client's held poll with another's immediate one.
        response["Vary"] = ", ".join(v for v in (response.get("Vary"), "Prefer") if v)
    return response
