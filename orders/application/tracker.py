"""The OrderTracker application: commands and queries over order event streams."""

from __future__ import annotations

import copy
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from orders.application import fanout
from orders.application.latest_orders import LatestOrders
from orders.application.sealing import ContextSealer
from orders.domain.errors import CancelRequestedError, OrderError
from orders.domain.family import FAIL_FAST
from orders.domain.order import Order

log = logging.getLogger(__name__)

# Called after each save with the saved order (its full new state) and the new events.
SavedListener = Callable[["OrderTracker", Order, Sequence[Any]], None]
# Given the order as it will be once saved and the events that take it there, the
# statements (SQL, params) that the event store runs in the same statement as the
# events: the read models written inline, where the store can (config/bootstrap.py).
InlineProjection = Callable[[Order, Sequence[Any]], Sequence[tuple[str, Sequence[Any]]]]
# One progress report's arguments: percent, message, current, total.
ProgressReport = tuple[int, str | None, int | None, int | None]


class OrderNotFoundError(LookupError):
    """No order has this id (or the requested version does not exist)."""


def detached(order: Order) -> Order:
    """A copy of ``order`` that shares nothing mutable with it (for callers to keep)."""
    clone = copy.copy(order)
    clone.__dict__["_pending_events"] = []
    clone.context = copy.deepcopy(order.context)
    return clone


def replay(order: Order | None, events: Iterable[Any]) -> Order | None:
    """Apply stored events to an order (None: from its first event).

    Handed to the repository as its ``projector_func`` for past versions, and used to
    bring a known order up to date with the events written since.
    """
    # eventsourcing's project_aggregate also asserts a runtime-checkable Protocol on
    # every event, which was half of the replay time (docs/benchmarks.md); our events
    # are all Order.Event, whose mutate() checks the version sequence itself.
    for domain_event in events:
        order = domain_event.mutate(order)
    return order


class OrderTracker(Application[UUID]):
    """Places orders and records what happens to them, one append-only stream each."""

    name = "async_rest"
    # How often a command is re-run after losing a race with another writer.
    max_write_attempts = 20
    # Environment variable: how many recent orders each process keeps in memory.
    LATEST_ORDERS_MAXSIZE = "LATEST_ORDERS_MAXSIZE"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        listeners: Sequence[SavedListener] = (),
        inline: InlineProjection | None = None,
    ) -> None:
        super().__init__(env)
        # Called after each save, in order (the read-model projection, when not inline).
        self.listeners: list[SavedListener] = list(listeners)
        # Statements written with each save's events, in its statement (or None).
        self.inline = inline
        self.latest = LatestOrders(int(self.env.get(self.LATEST_ORDERS_MAXSIZE, "1000")))
        # Seals each new context with a key of its own and opens it on replay
        # (orders/infrastructure/keystore.py); None records contexts in clear.
        self.sealer: ContextSealer | None = None

    # ------------------------------------------------------------------ commands

    def place(
        self,
        resource_name: str,
        context: dict[str, Any],
        owner: str | None,
        callback: dict[str, Any] | None = None,
        parent: tuple[UUID, int] | None = None,
    ) -> UUID:
        """Record a new order (``parent``: the id and weight of the order that spawns it)."""
        # A copy: the caller's dict must not become this process's memory of the order.
        order_id, clear = uuid.uuid4(), copy.deepcopy(context)
        recorded, key_write = (
            self.sealer.seal_for_save(order_id, clear) if self.sealer else (clear, None)
        )
        order = Order._create(
            Order.Queued, id=order_id, resource_name=resource_name, context=recorded, owner=owner
        )
        order.context = clear  # the stream keeps the sealed token, this process the context
        if parent is not None:
            order.spawned_by(str(parent[0]), parent[1])  # saved with Queued, in one write
        if callback is not None:
            # Saved with Queued, in one write: an order never exists without its callback.
            order.request_callback(**callback)
        events = self._store(order, also=[key_write] if key_write else [])
        self._tell_listeners(detached(order), events)
        return order.id

    def spawn(
        self,
        parent_id: UUID,
        resource_name: str,
        context: dict[str, Any],
        weight: int = 1,
        policy: str = FAIL_FAST,
    ) -> UUID:
        """Place a child order of the running order ``parent_id`` (orders/application/fanout.py)."""
        return fanout.spawn(self, parent_id, resource_name, context, weight, policy)

    def await_children(self, order_id: UUID, resource_url: str = "") -> Order:
        """The order's task returned: it completes now, or once its children have ended."""
        return self._update(order_id, lambda order: order.await_children(resource_url))

    def record_child(
        self, parent_id: UUID, child_id: UUID, resource_name: str, weight: int, policy: str
    ) -> Order:
        return self._update(
            parent_id,
            lambda order: order.spawn_child(str(child_id), resource_name, weight, policy),
        )

    def record_child_ended(self, parent_id: UUID, child: Order) -> Order:
        return self._update(
            parent_id,
            lambda order: order.record_child_ended(
                str(child.id), str(child.status), child.message or ""
            ),
        )

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

    def progress_many(
        self, order_id: UUID, reports: Sequence[ProgressReport]
    ) -> tuple[Order, Callable[[], None]]:
        """Record several progress reports, each its own event, in one save (in order).

        The listeners are not told yet: the caller calls what is returned once it has let
        go of its own locks (orders/progress_batch.py), since a listener may wait on a
        database lock that a thread waiting for the caller's lock holds.
        """

        def report_all(order: Order) -> None:
            for percent, message, current, total in reports:
                order.report_progress(percent, message, current, total)

        return self._update_untold(order_id, report_all)

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

    def forget_context(self, order_id: UUID, key_destroyed: bool) -> Order:
        return self._update(order_id, lambda order: order.forget_context(key_destroyed))

    def record_callback_delivered(
        self, order_id: UUID, event_version: int, status_code: int, duration_ms: int
    ) -> Order:
        return self._update(
            order_id,
            lambda order: order.record_callback_delivered(event_version, status_code, duration_ms),
        )

    def record_callback_failed(
        self,
        order_id: UUID,
        event_version: int,
        reason: str,
        status_code: int | None,
        duration_ms: int,
        retry_in: float | None,
    ) -> Order:
        return self._update(
            order_id,
            lambda order: order.record_callback_failed(
                event_version, reason, status_code, duration_ms, retry_in
            ),
        )

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

    def known_state(self, order_id: UUID) -> Order | None:
        """The newest state of the order that this process knows, without reading the store.

        What this process just wrote (a placed order, for the answer to its POST); None
        when it knows none. Another process may have written since: for "now", use
        :meth:`get_order`.
        """
        order = self.latest.get(order_id)
        return None if order is None else detached(order)

    def get_order(self, order_id: UUID, version: int | None = None) -> Order:
        """The order's state now, or as it was right after event number ``version``.

        "Now" includes what other processes wrote: the known state is brought up to
        date with the events added since (one small read).
        """
        if version is not None:
            try:
                order = self.repository.get(order_id, version=version, projector_func=replay)
            except AggregateNotFoundError:
                raise OrderNotFoundError(order_id) from None
            if order.version != version:
                raise OrderNotFoundError(f"order {order_id} has no version {version}")
            return self.sealer.open_order(order) if self.sealer else order
        with self.latest.locked(order_id):
            return detached(self._refreshed(order_id))

    def advanced(self, order_id: UUID, events: Sequence[Any]) -> Order:
        """The order's state at least as new as the last of ``events`` (its own, oldest first).

        For a follower of the notification log: the events are applied to the state this
        process knows when they carry on from it, so a rebuild reads each stream once, in
        the log; otherwise the order is brought up to date from the store.
        """
        with self.latest.locked(order_id):
            known = self.latest.get(order_id)
            have = known.version if known is not None else 0
            if known is not None and have >= events[-1].originator_version:
                return detached(known)
            if events[0].originator_version > have + 1:
                return detached(self._refreshed(order_id))  # a gap: read what is missing
            try:
                order = replay(known, [e for e in events if e.originator_version > have])
            except BaseException:
                self.latest.drop(order_id)
                raise
            assert order is not None
            if known is None and self.sealer:
                self.sealer.open_order(order)
            self.latest.put(order)
            return detached(order)

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

    def _refreshed(self, order_id: UUID) -> Order:
        """The order brought up to date from the store (call holding its lock)."""
        known = self.latest.get(order_id)
        try:
            order = replay(known, self.events.get(order_id, gt=known.version if known else None))
        except BaseException:
            self.latest.drop(order_id)  # possibly half brought up to date
            raise
        if order is None:
            raise OrderNotFoundError(order_id)
        if known is None and self.sealer:
            self.sealer.open_order(order)
        self.latest.put(order)
        return order

    def _update(self, order_id: UUID, command: Callable[[Order], None]) -> Order:
        """Run ``command`` on the order and save what it appended, retrying lost races.

        Optimistic: the command runs on the newest state this process knows, without
        reading the store first. If another process appended meanwhile, the save collides
        on the (order, version) key and the command runs again on the state brought up to
        date, so the rules are always checked against the real latest state: a save that
        succeeds proves no one else wrote that version. A command that is refused or moot
        on a state that may be stale is also run again on the up-to-date state before its
        answer is believed. One process's commands on one order take turns (its lock).
        """
        saved, tell = self._update_untold(order_id, command)
        tell()
        return saved

    def _update_untold(
        self, order_id: UUID, command: Callable[[Order], None]
    ) -> tuple[Order, Callable[[], None]]:
        """``_update`` up to the save; what is returned tells the listeners when called."""
        with self.latest.locked(order_id):
            saved, events = self._run(order_id, command)

        # The listeners run once the order is let go: the catch-up pass may hold a
        # read-model transaction that this projection waits for while it waits for the
        # order itself (tests/unit/test_tracker.py, listeners after the lock).
        def tell() -> None:
            if events:
                self._tell_listeners(saved, events)
                fanout.follow_up(self, saved, events)

        return saved, tell

    def _run(self, order_id: UUID, command: Callable[[Order], None]) -> tuple[Order, list[Any]]:
        order = self.latest.get(order_id)
        fresh = order is None
        if order is None:
            order = self._refreshed(order_id)
        for attempt in range(1, self.max_write_attempts + 1):
            try:
                command(order)
            except (OrderError, CancelRequestedError):
                self.latest.drop(order_id)  # the command may have changed it halfway
                if fresh:
                    raise
                order, fresh = self._refreshed(order_id), True
                continue
            except BaseException:
                self.latest.drop(order_id)
                raise
            if not order.pending_events:
                if fresh:
                    return detached(order), []  # moot (e.g. a late Dispatched)
                order, fresh = self._refreshed(order_id), True
                continue
            try:
                events = self._store(order)
            except IntegrityError:
                self.latest.drop(order_id)
                if attempt == self.max_write_attempts:
                    raise
                time.sleep(0.001 * attempt)
                order, fresh = self._refreshed(order_id), True
                continue
            except BaseException:
                self.latest.drop(order_id)  # not known whether it was written
                raise
            return detached(order), events
        raise IntegrityError(f"order {order_id}: gave up after {self.max_write_attempts} races")

    def _store(self, order: Order, also: Sequence[tuple[str, Sequence[Any]]] = ()) -> list[Any]:
        """Save the order's new events; it is then the newest state this process knows.

        ``also``: statements the event store writes in the same statement (the new
        order's key); the inline projection's are added to them.
        """
        if self.inline is not None:
            also = [*also, *self.inline(order, order.pending_events)]
        recordings = self.save(order, also=also) if also else self.save(order)
        self.latest.put(order)
        return [r.domain_event for r in recordings]

    def _tell_listeners(self, order: Order, events: Sequence[Any]) -> None:
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
