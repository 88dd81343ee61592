"""The OrderTracker application: commands and queries over order event streams."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from orders.domain import Order

log = logging.getLogger(__name__)

# Called after each save with the saved order (its full new state) and the new events.
SavedListener = Callable[["OrderTracker", Order, Sequence[Any]], None]


class OrderNotFoundError(LookupError):
    """No order has this id (or the requested version does not exist)."""


class OrderTracker(Application[UUID]):
    """Places orders and records what happens to them, one append-only stream each."""

    name = "async_rest"
    # How often a command is re-run after losing a race with another writer.
    max_write_attempts = 20

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self.listeners: list[SavedListener] = []

    # ------------------------------------------------------------------ commands

    def place(self, resource_name: str, context: dict[str, Any], owner: str | None) -> UUID:
        order = Order(resource_name=resource_name, context=context, owner=owner)
        self._save(order)
        return order.id

    def dispatch(self, order_id: UUID, dispatch_id: str) -> Order:
        return self._update(order_id, lambda order: order.dispatch(dispatch_id))

    def start(self, order_id: UUID, worker: str, dispatch_id: str | None = None) -> Order:
        return self._update(order_id, lambda order: order.start(worker, dispatch_id))

    def progress(
        self,
        order_id: UUID,
        percent: int,
        message: str | None = None,
        current: int | None = None,
        total: int | None = None,
    ) -> Order:
        return self._update(
            order_id, lambda order: order.report_progress(percent, message, current, total)
        )

    def retry(self, order_id: UUID, reason: str) -> Order:
        return self._update(order_id, lambda order: order.retry(reason))

    def cancel(self, order_id: UUID, reason: str = "") -> Order:
        return self._update(order_id, lambda order: order.cancel(reason))

    def confirm_cancelled(self, order_id: UUID, reason: str = "") -> Order:
        return self._update(order_id, lambda order: order.confirm_cancelled(reason))

    def complete(self, order_id: UUID, resource_url: str) -> Order:
        return self._update(order_id, lambda order: order.complete(resource_url))

    def fail(
        self, order_id: UUID, message: str, error_type: str = "", traceback: str = ""
    ) -> Order:
        return self._update(order_id, lambda order: order.fail(message, error_type, traceback))

    def fail_if_unchanged(
        self, order_id: UUID, version: int, message: str, error_type: str = ""
    ) -> bool:
        """Fail the order only if nothing happened to it since ``version`` (the reaper)."""

        failed = False

        def fail(order: Order) -> None:
            nonlocal failed
            failed = order.version == version and not order.is_terminal
            if failed:
                order.fail(message, error_type)

        self._update(order_id, fail)
        return failed

    # ------------------------------------------------------------------- queries

    def get_order(self, order_id: UUID, version: int | None = None) -> Order:
        """The order's state now, or as it was right after event number ``version``."""
        try:
            order: Order = self.repository.get(order_id, version=version)
        except AggregateNotFoundError:
            raise OrderNotFoundError(order_id) from None
        if version is not None and order.version != version:
            raise OrderNotFoundError(f"order {order_id} has no version {version}")
        return order

    def version_at(self, order_id: UUID, when: datetime) -> int:
        """The order's version at a moment: that of its last event at or before ``when``.

        0 when the order did not exist yet; OrderNotFoundError for an unknown order.
        """
        version = None
        for domain_event in self.events.get(order_id):
            if domain_event.timestamp > when:  # type: ignore[attr-defined]
                break
            version = domain_event.originator_version
        if version is None and not list(self.events.get(order_id, limit=1)):
            raise OrderNotFoundError(order_id)
        return version or 0

    def order_events(self, order_id: UUID, after: int | None = None) -> list[Any]:
        """The order's events, oldest first (only those after version ``after``)."""
        return list(self.events.get(order_id, gt=after))

    # ------------------------------------------------------------------ internals

    def _update(self, order_id: UUID, command: Callable[[Order], None]) -> Order:
        # Two processes may write the same order at once (say, progress from two
        # threads of one task). The loser of the race gets IntegrityError on the
        # (originator_id, version) key: reload and run the command again, so that
        # no report is lost and the rules are checked against the real latest state.
        for attempt in range(1, self.max_write_attempts + 1):
            order = self.get_order(order_id)
            command(order)
            if not order.pending_events:
                return order  # the command was moot (e.g. a late Dispatched)
            try:
                self._save(order)
            except IntegrityError:
                if attempt == self.max_write_attempts:
                    raise
                time.sleep(0.001 * attempt)
                continue
            return order
        raise AssertionError("unreachable")  # pragma: no cover

    def _save(self, order: Order) -> None:
        recordings = self.save(order)
        events = [r.domain_event for r in recordings]
        for listener in self.listeners:
            # A listener (the read-model projector) failing must not undo or hide a
            # write that is already committed: the catch-up pass will redo its work.
            try:
                listener(self, order, events)
            except Exception:
                log.exception("listener %r failed after saving order %s", listener, order.id)

    def event_batches(self, start: int = 1, batch: int = 500) -> Iterator[tuple[int, list[Any]]]:
        """The store's events in commit order, a batch at a time, each with its last position."""
        while True:
            notifications = self.recorder.select_notifications(start=start, limit=batch)
            if not notifications:
                return
            yield notifications[-1].id, [self.mapper.to_domain_event(n) for n in notifications]
            start = notifications[-1].id + 1

    def all_events(self, start: int = 1, batch: int = 500) -> Iterator[Any]:
        """Every event in the store, in commit order."""
        for _, events in self.event_batches(start, batch):
            yield from events

    def last_position(self) -> int:
        return int(self.recorder.max_notification_id() or 0)
