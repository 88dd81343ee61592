"""One hub per process: a notification that an event was written wakes the streams that wait on it.

A source (``streams.sources``) learns of each write once per process and hands it to the
hub; the hub wakes only the waiters of that order, and the firehose's. A waiter never
receives the event itself: it reads what it has not sent yet from the event store, which
stays the one source of truth (a lost or doubled notification costs a read, never an event).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID


@dataclass(frozen=True)
class Written:
    """What a notification says: an event was committed at this position."""

    position: int
    order_id: UUID
    version: int


class AsyncWaiter:
    """A waiter in an event loop (the ASGI streams and long-polls)."""

    def __init__(self, order_id: UUID | None) -> None:
        self.order_id = order_id
        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()
        # When the last wake-up reached the loop (its clock): a read of the store begun
        # at or after it sees what the notification announced.
        self.woken_at = self.loop.time()

    def clear(self) -> None:
        self.event.clear()

    async def wait(self, timeout: float) -> bool:
        """True when woken, False when ``timeout`` seconds passed first."""
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except TimeoutError:
            return False
        return True


class ThreadWaiter:
    """A waiter in a thread (a long-poll under the sync WSGI server)."""

    def __init__(self, order_id: UUID | None) -> None:
        self.order_id = order_id
        self.event = threading.Event()

    def clear(self) -> None:
        self.event.clear()

    def wait(self, timeout: float) -> bool:
        return self.event.wait(timeout)


Waiter = AsyncWaiter | ThreadWaiter
W = TypeVar("W", AsyncWaiter, ThreadWaiter)


def _set_all(waiters: list[AsyncWaiter]) -> None:
    for waiter in waiters:
        waiter.woken_at = waiter.loop.time()
        waiter.event.set()


class Hub:
    """Waiters by order (None: every order, the firehose), woken by ``publish``."""

    def __init__(self, start_source: Callable[[Hub], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._by_order: dict[UUID | None, set[Waiter]] = {}
        self._start_source = start_source
        self._started = False

    def subscribe(self, waiter: W) -> W:
        with self._lock:
            self._by_order.setdefault(waiter.order_id, set()).add(waiter)
            start = not self._started and self._start_source is not None
            self._started = True
        if start:
            # The source starts with the first waiter: processes that never stream
            # (Celery workers, the sync web workers without long-polls) never listen.
            assert self._start_source is not None
            self._start_source(self)
        return waiter

    def unsubscribe(self, waiter: Waiter) -> None:
        with self._lock:
            waiters = self._by_order.get(waiter.order_id)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._by_order[waiter.order_id]

    def count(self) -> int:
        with self._lock:
            return sum(len(w) for w in self._by_order.values())

    def publish(self, written: Iterable[Written]) -> None:
        """Wake the waiters of each written order, and the firehose's."""
        with self._lock:
            chosen: set[Waiter] = set()
            anything = False
            for item in written:
                anything = True
                chosen.update(self._by_order.get(item.order_id, ()))
            if anything:
                chosen.update(self._by_order.get(None, ()))
        self._wake(chosen)

    def publish_everyone(self) -> None:
        """Wake every waiter: notifications may have been missed (a source reconnected)."""
        with self._lock:
            chosen = {w for waiters in self._by_order.values() for w in waiters}
        self._wake(chosen)

    @staticmethod
    def _wake(waiters: set[Waiter]) -> None:
        # One call per event loop, not one per waiter: a thousand streams on one loop
        # are woken with a single write to its self-pipe.
        by_loop: dict[asyncio.AbstractEventLoop, list[AsyncWaiter]] = {}
        for waiter in waiters:
            if isinstance(waiter, AsyncWaiter):
                by_loop.setdefault(waiter.loop, []).append(waiter)
            else:
                waiter.event.set()
        for loop, woken in by_loop.items():
            # A closed loop's waiters are gone with it.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_set_all, woken)
