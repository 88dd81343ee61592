"""Task-side helpers: the order handle, ``order_task``, ``fail_on_error`` and ``ProgressItems``."""

from __future__ import annotations

import itertools
import logging
import math
import os
import socket
import time
import traceback as tb
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar
from uuid import UUID

from orders.domain import Order
from orders.runtime import get_tracker
from orders.tracker import OrderTracker

log = logging.getLogger(__name__)

T = TypeVar("T")

# Fewest seconds between two progress events written by ProgressItems.
DEFAULT_MIN_INTERVAL = float(os.environ.get("ASYNC_REST_PROGRESS_INTERVAL", "0.2"))


class OrderHandle:
    """What a task sees of its order: its context, and the commands to report with."""

    def __init__(self, order_id: UUID | str, tracker: OrderTracker | None = None) -> None:
        self.id = order_id if isinstance(order_id, UUID) else UUID(str(order_id))
        self.tracker = tracker or get_tracker()

    @property
    def state(self) -> Order:
        return self.tracker.get_order(self.id)

    @property
    def context(self) -> dict[str, Any]:
        return dict(self.state.context)

    def start(self, worker: str | None = None) -> Order:
        return self.tracker.start(self.id, worker or f"{socket.gethostname()}:{os.getpid()}")

    def progress(
        self,
        percent: int,
        message: str | None = None,
        current: int | None = None,
        total: int | None = None,
    ) -> Order:
        return self.tracker.progress(self.id, percent, message, current, total)

    def complete(self, resource_url: str) -> Order:
        return self.tracker.complete(self.id, resource_url=resource_url)

    def fail(self, message: str, error_type: str = "", traceback: str = "") -> Order:
        return self.tracker.fail(self.id, message, error_type, traceback)

    def __repr__(self) -> str:
        return f"<OrderHandle {self.id}>"


def _record_failure(order: OrderHandle, message: str, exc: BaseException) -> None:
    if order.state.is_terminal:
        return
    text = "".join(tb.format_exception(type(exc), exc, exc.__traceback__))
    order.fail(message, error_type=type(exc).__name__, traceback=text)


@contextmanager
def fail_on_error(order: OrderHandle, message: str) -> Iterator[None]:
    """On an exception inside the block, fail the order with ``message``, then re-raise."""
    try:
        yield
    except Exception as exc:
        _record_failure(order, message, exc)
        raise


def order_task(func: Callable[[OrderHandle], str | None]) -> Callable[[str], None]:
    """Turn ``func(order)`` into a task body taking the order id (for Celery, RQ, a thread).

    When the task runs it appends ``Started``, hands ``func`` an :class:`OrderHandle`,
    and makes sure the order ends: an unhandled exception appends ``Failed`` (and is
    re-raised for the queue to see); a returned string is taken as the resource URL;
    returning without completing is a failure too, so no order is left running. An
    order that has already ended (a redelivered message) is not run again.
    """

    def run(order_id: str) -> None:
        order = OrderHandle(order_id)
        if order.state.is_terminal:
            log.info("order %s already ended; not running it again", order.id)
            return
        order.start()
        try:
            result = func(order)
        except Exception as exc:
            _record_failure(order, str(exc) or type(exc).__name__, exc)
            raise
        state = order.state
        if state.is_terminal:
            return
        if isinstance(result, str) and result:
            order.complete(resource_url=result)
        else:
            order.fail(
                f"task {func.__name__} returned without completing the order",
                error_type="IncompleteOrder",
            )

    # Copy the identity, not __wrapped__: queues inspect the signature they call.
    run.__name__ = func.__name__
    run.__qualname__ = func.__qualname__
    run.__module__ = func.__module__
    run.__doc__ = func.__doc__
    return run


class ProgressItems(Generic[T]):
    """Iterate ``iterable`` and report the order's progress as items are consumed.

    Writes at most one event per whole percent, no more often than ``min_interval``
    seconds, and always the last one. The items pass through C-level iterators
    (``itertools.islice`` chained), so the per-item cost is nearly that of a bare loop;
    Python code runs only at percent boundaries. Nothing is loaded into memory.
    """

    def __init__(
        self,
        order: OrderHandle,
        iterable: Iterable[T],
        length: int | None = None,
        message: str | None = None,
        min_interval: float | None = None,
    ) -> None:
        if length is None:
            length = len(iterable)  # type: ignore[arg-type]
        if length < 0:
            raise ValueError("length must not be negative")
        self.order = order
        self.iterable = iterable
        self.length = length
        self.message = message
        self.min_interval = DEFAULT_MIN_INTERVAL if min_interval is None else min_interval
        self.consumed = 0
        self.written: list[int] = []
        self._last_write = -math.inf

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[T]:
        self._ran_out = False
        self._last_write = time.monotonic()  # the interval also runs from the start
        items = itertools.chain(self.iterable, self._mark_end())
        return itertools.chain.from_iterable(self._chunks(items))

    def _mark_end(self) -> Iterator[T]:
        # Runs once, only if the iterable ends before the announced length.
        self._ran_out = True
        yield from ()

    def _chunks(self, items: Iterator[T]) -> Iterator[Iterable[T]]:
        # Each chunk holds the items up to the next whole percent; the chain asks for
        # the next chunk only once every item of the previous one has been consumed.
        length, done = self.length, 0
        while done < length:
            percent = (done * 100) // length + 1
            boundary = min(length, -(-percent * length // 100))  # ceil
            yield itertools.islice(items, boundary - done)
            if self._ran_out:
                # Fewer items than announced: ``done`` stays at the last boundary
                # reached in full (items are not counted one by one, for speed).
                break
            done = boundary
            self.consumed = done
            if done < length:
                self._report(done, last=False)
        self._report(done, last=True)
        # Items beyond the announced length still pass through, at 100%.
        yield items

    def _report(self, done: int, last: bool) -> None:
        percent = 100 if self.length == 0 else min(100, (done * 100) // self.length)
        now = time.monotonic()
        if self.written and percent <= self.written[-1]:
            return
        if not last and now - self._last_write < self.min_interval:
            return
        self.order.progress(percent, self.message, current=done, total=self.length)
        self.written.append(percent)
        self._last_write = now
