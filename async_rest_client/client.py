"""The blocking client: ``Client`` places orders, ``RemoteOrder`` follows one.

::

    from async_rest_client import Client, OrderFailed

    with Client("http://127.0.0.1:8000", token="…") as client:
        order = client.place("regina", {"steps": 10})   # one order, even if retried
        try:
            done = order.wait(timeout=600)              # a tqdm bar on stderr meanwhile
        except OrderFailed as failed:
            print(failed.message, failed.error_type)
        else:
            print(done.resource_url)
        for event in order.history():
            print(event.version, event.type, event.fields)

Every method runs a plan of protocol.py / operations.py / waiting.py with httpx's blocking
client: this module only performs the I/O those plans ask for (``Client.run``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
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


class Client:
    """A connection to an async-rest server (``base_url``: the site, or its ``/async/`` root).

    ``token``: a DRF token (``Authorization: Token …``). ``timeout``: seconds per request.
    ``retry``: how hard each request is retried (429, 503, lost connections). ``waiting``:
    how ``wait()`` follows an order (waiting.py). ``transport``: an httpx transport (tests
    pass ``httpx.MockTransport``). ``sleep`` and ``clock`` stand in for ``time.sleep`` and
    ``time.monotonic``.
    """

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
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = Session(api_root(base_url, api_path), retry or RetryPolicy(), clock)
        self.waiting = waiting or default_strategy()
        self.timeout = timeout
        self._sleep = sleep
        self._http = httpx.Client(
            headers=default_headers(token, headers),
            timeout=timeout,
            transport=transport,
            follow_redirects=False,  # the 302 to an order is read, not followed
        )

    def run(self, plan: Plan[T]) -> T:
        """Perform the I/O ``plan`` asks for until it returns; its value (or its error)."""
        stream: httpx.Response | None = None
        lines: Iterator[str] | None = None
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
                            self._http.request(
                                effect.method,
                                effect.url,
                                headers=dict(effect.headers),
                                params=effect.params,
                                json=effect.json,
                                timeout=effect.timeout or httpx.USE_CLIENT_DEFAULT,
                            )
                        )
                    elif isinstance(effect, Sleep):
                        self._sleep(effect.seconds)
                    elif isinstance(effect, OpenStream):
                        if stream is not None:
                            stream.close()
                        timeout = httpx.Timeout(self.timeout, read=effect.read_timeout)
                        request = self._http.build_request(
                            "GET", effect.url, headers=dict(effect.headers), timeout=timeout
                        )
                        stream = self._http.send(request, stream=True)
                        lines = stream.iter_lines()
                        value = answer_of(stream, with_body=False)
                    elif isinstance(effect, NextLine):
                        value = next(lines, None) if lines is not None else None
                    elif isinstance(effect, CloseStream) and stream is not None:
                        stream.close()
                        stream = lines = None
                except httpx.TransportError as exc:
                    error = exc  # thrown into the plan, which decides whether to retry
        finally:
            if stream is not None:
                stream.close()
            plan.close()

    def place(
        self,
        resource: str,
        context: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> RemoteOrder:
        """Order ``resource`` with ``context``; retried safely (one key, made here if not given)."""
        key = idempotency_key or str(uuid4())
        return RemoteOrder(self, self.run(op.place(self.session, resource, context or {}, key)))

    def order(self, ref: UUID | str | Order) -> RemoteOrder:
        """An existing order, by uuid, URL or listed ``Order`` (read now, unless listed)."""
        if isinstance(ref, Order):
            return RemoteOrder(self, op.Seen(ref, None))
        seen = self.run(op.fetch(self.session, op.order_url(self.session, ref)))
        assert seen is not None  # no ETag sent
        return RemoteOrder(self, seen)

    def orders(
        self,
        *,
        status: str | None = None,
        resource: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int | None = None,
    ) -> Iterator[Order]:
        """The caller's orders (staff: everyone's), newest first, over every cursor page."""
        params = op.list_params(status, resource, created_after, created_before, page_size)
        for item in self._pages(f"{self.session.api_root}orders/", params):
            yield Order.from_json(item)

    def _pages(self, url: str, params: Mapping[str, str] | None) -> Iterator[Any]:
        next_url: str | None = url
        while next_url:
            results, next_url = self.run(op.page(self.session, next_url, params))
            params = None  # the next link carries the query
            yield from results

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class RemoteOrder(BaseRemoteOrder):
    """An order on the server; ``state`` is the newest ``Order`` this client has seen."""

    def __init__(self, client: Client, seen: op.Seen) -> None:
        super().__init__(seen)
        self.client = client

    def refresh(self) -> Order:
        """Read the order again (a 304 when unchanged: the state stays as it is)."""
        return self._saw(self.client.run(op.fetch(self.client.session, self.url, self.etag)))

    def wait(
        self,
        timeout: float | None = None,
        progress: bool | ProgressBar = True,
        strategy: Strategy | None = None,
    ) -> Order:
        """Block until the order ends; the completed order, else ``OrderFailed``,
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
            return self.client.run(plan)
        finally:
            self._after(watch)

    def history(self, page_size: int | None = None) -> Iterator[HistoryEvent]:
        """Every event of the order, oldest first, over every page."""
        params = {"page_size": str(page_size)} if page_size else None
        for item in self.client._pages(self.state.links.history, params):
            yield HistoryEvent.from_json(item)

    def at(self, version: int | None = None, moment: datetime | None = None) -> Order:
        """The order as it was right after event ``version``, or at ``moment``."""
        return self.client.run(op.replay(self.client.session, self.state, version, moment))

    def cancel(self, reason: str | None = None) -> Order:
        """Cancel: ended at once when queued; a running order is asked to stop."""
        self.state = self.client.run(op.cancel(self.client.session, self.state, reason))
        self.etag = None
        return self.state
