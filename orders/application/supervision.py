"""Relay and reaper: no order lost while the broker was down, none stuck by a lost worker."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

from orders.application import fanout
from orders.application.services import launch_order
from orders.application.tracker import OrderNotFoundError
from orders.domain.order import Order, Status
from orders.infrastructure.runtime import get_tracker

log = logging.getLogger(__name__)

WORKER_LOST = "WorkerLost"


def _now() -> datetime:
    return datetime.now(UTC)


def _existing(order_ids: Iterable[UUID]) -> Iterator[Order]:
    """The current state of each order that the event store has (from the read models' ids)."""
    tracker = get_tracker()
    for order_id in order_ids:
        try:
            yield tracker.get_order(order_id)
        except OrderNotFoundError:
            continue


def relay(order_ids: Iterable[UUID], not_sent_for: float, unstarted_for: float) -> int:
    """(Re)send the task of queued orders that no worker has picked up; return how many.

    An order never dispatched (the broker was down when it was placed) is sent once it
    has waited ``not_sent_for`` seconds; one dispatched but still not started after
    ``unstarted_for`` seconds (its message was lost) is sent again. A message that then
    turns out to be a duplicate does not run: the task helpers compare dispatch ids.
    """
    sent = 0
    for order in _existing(order_ids):
        order_id = order.id
        if order.status is not Status.QUEUED:
            continue
        waited = (_now() - order.modified_on).total_seconds()
        if waited < (unstarted_for if order.dispatched else not_sent_for):
            continue
        if launch_order(order_id, order.resource_name):
            log.info("relay: sent order %s after %.0fs", order_id, waited)
            sent += 1
    return sent


def reap(order_ids: Iterable[UUID], silent_for: float) -> int:
    """Fail running orders with no event for ``silent_for`` seconds: their worker is lost.

    A worker that dies mid-task normally has its message redelivered (late
    acknowledgement) and the order resumes as a new attempt; this is the bound for
    when that does not happen, so that no order stays running forever.
    """
    tracker = get_tracker()
    reaped = 0
    for order in _existing(order_ids):
        order_id = order.id
        silence = (_now() - order.modified_on).total_seconds()
        if order.status is not Status.RUNNING or silence < silent_for:
            continue
        if order.is_awaiting_children:
            continue  # no task of its own runs: its children are the ones watched
        message = (
            f"Worker lost: no sign of life from {order.worker} for {silence:.0f}s "
            f"(attempt {order.attempt})"
        )
        # A sign of life may arrive between the read and the write: then it stays running.
        if not tracker.fail_if_unchanged(order_id, order.version, message, WORKER_LOST):
            continue
        log.warning("reaper: order %s failed, worker %s lost", order_id, order.worker)
        reaped += 1
    return reaped


def cutoff(seconds: float) -> datetime:
    return _now() - timedelta(seconds=seconds)


def settle_parents(order_ids: Iterable[UUID]) -> int:
    """Record the children's ends that parents missed (a crash between the two writes)."""
    tracker = get_tracker()
    settled = 0
    for order_id in order_ids:
        try:
            settled += fanout.settle(tracker, order_id)
        except Exception:  # one parent (a child archived meanwhile) must not stop the pass
            log.exception("could not settle the children of order %s", order_id)
    return settled
