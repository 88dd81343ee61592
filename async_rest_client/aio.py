"""The asyncio client: ``AsyncClient`` and ``AsyncRemoteOrder``, the sync API with ``await``.

::

    from async_rest_client import AsyncClient

    async with AsyncClient("http://127.0.0.1:8000", token="…") as client:
        order = await client.place("regina", {"steps": 10})
        done = await order.wait(timeout=600)
        async for event in order.history():
            print(event.version, event.type)

It runs the same plans as the blocking client (protocol.py explains them), with httpx's
``AsyncClient`` and ``asyncio.sleep``: the behaviour is the same, tested once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar
from uuid import UUID, uuid4

import httpx

from async_rest_client import operations as op
from async_rest_client.handles import BaseRemoteOrder
from async_rest_client.models import HistoryEvent, Order
from async_rest_client.progress import ProgressBar
from async_rest_client.protocol import (
    CloseStream,
    NextLine,
    OpenStream,
    Plan,
    RetryPolicy,
    Send,
    Session,
    Sleep,
    answer_of,
    api_root,
    default_headers,
)
from async_rest_client.waiting import Strategy, default_strategy, until_ended

T = TypeVar("T")


class AsyncClient:
    """A connection to an async-rest server, for asyncio; options as ``Client``'s."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        waiting: Strategy | None = None,
        api_path: str = "/async/",
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = Session(api_root(base_url, api_path), retry or RetryPolicy(), clock)
        self.waiting = waiting or default_strategy()
        self.timeout = timeout
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            headers=default_headers(token, headers),
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    async def run(self, plan: Plan[T]) -> T:
        """Perform the I/O ``plan`` asks for until it returns; its value (or its error)."""
        stream: httpx.Response | None = None
        lines: AsyncIterator[str] | None = None
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                try:
                    effect = plan.throw(error) if error is not None else plan.send(value)
                except StopIteration as done:
                    return done.value
                value = error = None
                try:
                    if isinstance(effect, Send):
                        value = answer_of(
                            await self._http.request(
                                effect.method,
                                effect.url,
                                headers=dict(effect.headers),
                                params=effect.params,
                                json=effect.json,
                                timeout=effect.timeout or httpx.USE_CLIENT_DEFAULT,
                            )
                        )
                    elif isinstance(effect, Sleep):
                        await self._sleep(effect.seconds)
                    elif isinstance(effect, OpenStream):
                        if stream is not None:
                            await stream.aclose()
                        timeout = httpx.Timeout(self.timeout, read=effect.read_timeout)
                        request = self._http.build_request(
                            "GET", effect.url, headers=dict(effect.headers), timeout=timeout
                        )
                        stream = await self._http.send(request, stream=True)
                        lines = stream.aiter_lines()
                        value = answer_of(stream, with_body=False)
                    elif isinstance(effect, NextLine):
                        value = await anext(lines, None) if lines is not None else None
                    elif isinstance(effect, CloseStream) and stream is not None:
                        await stream.aclose()
                        stream = lines = None
                except httpx.TransportError as exc:
                    error = exc
        finally:
            if stream is not None:
                await stream.aclose()
            plan.close()

    async def place(
        self,
        resource: str,
        context: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> AsyncRemoteOrder:
        """Order ``resource`` with ``context``; retried safely (one key, made here if not given)."""
        key = idempotency_key or str(uuid4())
        placed = await self.run(op.place(self.session, resource, context or {}, key))
        return AsyncRemoteOrder(self, placed)

    async def order(self, ref: UUID | str | Order) -> AsyncRemoteOrder:
        """An existing order, by uuid, URL or listed ``Order`` (read now, unless listed)."""
        if isinstance(ref, Order):
            return AsyncRemoteOrder(self, op.Seen(ref, None))
        seen = await self.run(op.fetch(self.session, op.order_url(self.session, ref)))
        assert seen is not None
        return AsyncRemoteOrder(self, seen)

    async def orders(
        self,
        *,
        status: str | None = None,
        resource: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Order]:
        """The caller's orders (staff: everyone's), newest first, over every cursor page."""
        params = op.list_params(status, resource, created_after, created_before, page_size)
        async for item in self._pages(f"{self.session.api_root}orders/", params):
            yield Order.from_json(item)

    async def _pages(self, url: str, params: Mapping[str, str] | None) -> AsyncIterator[Any]:
        next_url: str | None = url
        while next_url:
            results, next_url = await self.run(op.page(self.session, next_url, params))
            params = None
            for item in results:
                yield item

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class AsyncRemoteOrder(BaseRemoteOrder):
    """An order on the server, for asyncio; methods as ``RemoteOrder``'s, awaited."""

    def __init__(self, client: AsyncClient, seen: op.Seen) -> None:
        super().__init__(seen)
        self.client = client

    async def refresh(self) -> Order:
        """Read the order again (a 304 when unchanged: the state stays as it is)."""
        seen = await self.client.run(op.fetch(self.client.session, self.url, self.etag))
        return self._saw(seen)

    async def wait(
        self,
        timeout: float | None = None,
        progress: bool | ProgressBar = True,
        strategy: Strategy | None = None,
    ) -> Order:
        """Until the order ends; the completed order, else ``OrderFailed``,
        ``OrderCancelled`` or, after ``timeout`` seconds, ``OrderTimeout``.
        """
        watch = self._watch()
        plan = until_ended(
            self.client.session,
            watch,
            strategy or self.client.waiting,
            timeout,
            self._bar(progress),
        )
        try:
            return await self.client.run(plan)
        finally:
            self._after(watch)

    async def history(self, page_size: int | None = None) -> AsyncIterator[HistoryEvent]:
        """Every event of the order, oldest first, over every page."""
        params = {"page_size": str(page_size)} if page_size else None
        async for item in self.client._pages(self.state.links.history, params):
            yield HistoryEvent.from_json(item)

    async def at(self, version: int | None = None, moment: datetime | None = None) -> Order:
        """The order as it was right after event ``version``, or at ``moment``."""
        return await self.client.run(op.replay(self.client.session, self.state, version, moment))

    async def cancel(self, reason: str | None = None) -> Order:
        """Cancel: ended at once when queued; a running order is asked to stop."""
        self.state = await self.client.run(op.cancel(self.client.session, self.state, reason))
        self.etag = None
        return self.state
