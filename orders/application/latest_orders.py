"""The newest state this process knows of its recent orders, with a lock per order."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from orders.domain.order import Order


class LatestOrders:
    """The newest state this process knows of recent orders, bounded, with a lock per order.

    The lock makes one process's commands on an order take turns (threads of one task,
    a progress report and a cancel); other processes are kept in line by the store. It
    exists only while someone holds or waits for it, so a slow save of one order never
    holds up another.

    Why not the repository's cache (``AGGREGATE_CACHE_MAXSIZE``): with fast-forwarding on,
    its ``get()`` reads the store on every call, which is the read a command here skips
    (one INSERT per command, bench/append.py); with it off, nothing brings a cached order
    up to date after a lost race. Either way it deep-copies on every get, and its
    per-aggregate lock covers the fast-forward only, not the command and its save.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._orders: OrderedDict[UUID, Order] = OrderedDict()
        self._guard = threading.Lock()
        self._locks: dict[UUID, tuple[threading.RLock, int]] = {}

    @contextmanager
    def locked(self, order_id: UUID) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(order_id) or (threading.RLock(), 0)
            self._locks[order_id] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[order_id]
                if users == 1:
                    del self._locks[order_id]
                else:
                    self._locks[order_id] = (lock, users - 1)

    def get(self, order_id: UUID) -> Order | None:
        with self._guard:
            order = self._orders.get(order_id)
            if order is not None:
                self._orders.move_to_end(order_id)
            return order

    def put(self, order: Order) -> None:
        if self.maxsize <= 0:
            return
        with self._guard:
            self._orders[order.id] = order
            self._orders.move_to_end(order.id)
            while len(self._orders) > self.maxsize:
                self._orders.popitem(last=False)

    def drop(self, order_id: UUID) -> None:
        with self._guard:
            self._orders.pop(order_id, None)
