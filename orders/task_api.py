"""The public task API: what a task body sees of its order, and the helpers to report with.

``order_task`` turns ``func(order)`` into a queue's task body; ``OrderHandle`` is the order
as the task sees it; ``fail_on_error`` and ``ProgressItems`` (``orders/progress_items.py``)
report failures and progress.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback as tb
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from types import MappingProxyType
from typing import Any, Protocol
from uuid import UUID

from orders.application.sealing import ContextErasedError
from orders.application.tracker import OrderTracker
from orders.domain.errors import CancelRequestedError, DuplicateDeliveryError, OrderClosedError
from orders.domain.family import FAIL_FAST
from orders.domain.order import Order, Status
from orders.infrastructure.runtime import get_tracker
from orders.progress_batch import ProgressBatch, default_window
from orders.progress_items import ProgressItems

__all__ = ["OrderHandle", "ProgressItems", "fail_on_error", "order_task", "queue_retries"]

log = logging.getLogger(__name__)


class QueueRetries(Protocol):
    """How one queue runs a task again; both answer None when the running task is not its own."""

    def will_retry(self, exc: BaseException) -> bool | None: ...

    def retry_error(
        self, reason: str, countdown: float | None, exc: BaseException | None
    ) -> BaseException | None: ...


# One per queue other than Celery (orders/queues/rq.py adds RQ's); Celery's is built in below.
queue_retries: list[QueueRetries] = []


class OrderHandle:
    """What a task sees of its order: its context, its state, the commands to report with.

    The state is read from the store once, when first asked for, and then kept up to
    date from what each command answers (the order's state right after it), so a
    task reads its order once, not at every look. ``refresh()`` reads it again, for
    a task that wants to see what others did meanwhile (a cancel request is seen
    anyway: a later progress report raises). The context is read-only. Progress
    reports that come faster than ``ASYNC_REST["PROGRESS_BATCH_WINDOW"]`` apart are
    saved together (``orders/progress_batch.py``): every one recorded, one write a burst.
    """

    def __init__(self, order_id: UUID | str, tracker: OrderTracker | None = None) -> None:
        self.id = order_id if isinstance(order_id, UUID) else UUID(str(order_id))
        self.tracker = tracker or get_tracker()
        self._state: Order | None = None
        # The children an earlier run of this task spawned (read at the first spawn), and
        # how many spawns this run has made: the n-th spawn of a run is the n-th child.
        self._earlier_children: tuple[str, ...] | None = None
        self._spawns = 0
        window = default_window()
        self._batch = ProgressBatch(self.tracker, self.id, window) if window > 0 else None

    @property
    def state(self) -> Order:
        """The order as of the last command this handle ran (or the last refresh)."""
        if self._state is None:
            self._state = self.tracker.get_order(self.id)
        return self._state

    def refresh(self) -> Order:
        """Read the order again (progress reports kept for a batch are saved first)."""
        return self._command(lambda: self.tracker.get_order(self.id), saves=False)

    @property
    def context(self) -> Mapping[str, Any]:
        """The order's context, read-only (``dict(order.context)`` for a copy to change).

        ContextErasedError once the context was forgotten (``orders forget``): the task
        is told, rather than given an empty context to work on as if it were asked for.
        """
        if self.state.context_erased:
            raise ContextErasedError(f"the context of order {self.id} was erased")
        return MappingProxyType(self.state.context)

    def _kept(self, state: Order) -> Order:
        self._state = state
        return state

    def _command(self, command: Callable[[], Order], saves: bool = True) -> Order:
        """Run a command other than a progress report, after the reports kept are saved."""
        if self._batch is None:
            return self._kept(command())
        return self._kept(self._batch.around(command, saves))

    def start(self, worker: str | None = None, dispatch_id: str | None = None) -> Order:
        worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        return self._command(lambda: self.tracker.start(self.id, worker, dispatch_id))

    def progress(
        self,
        percent: int,
        message: str | None = None,
        current: int | None = None,
        total: int | None = None,
    ) -> Order:
        if self._batch is None:
            return self._kept(self.tracker.progress(self.id, percent, message, current, total))
        return self._kept(self._batch.report(self.state, (percent, message, current, total)))

    def complete(self, resource_url: str) -> Order:
        return self._command(lambda: self.tracker.complete(self.id, resource_url=resource_url))

    def confirm_cancelled(self, reason: str) -> Order:
        return self._command(lambda: self.tracker.confirm_cancelled(self.id, reason))

    def record_retry(self, reason: str) -> Order:
        """Record ``Retried``: this attempt failed and the queue will run the task again."""
        return self._command(lambda: self.tracker.retry(self.id, reason))

    def retry(
        self, reason: str, countdown: float | None = None, exc: BaseException | None = None
    ) -> None:
        """Record ``Retried`` and ask Celery to run the task again (raises, like ``Task.retry``).

        Recorded before the message is sent, so the next attempt never starts before it.
        Past the task's ``max_retries`` nothing is recorded and Celery's error fails the order.
        Inside another queue's task, that queue's :class:`QueueRetries` does the same.
        """
        for queue in queue_retries:
            error = queue.retry_error(reason, countdown, exc)
            if error is not None:
                if queue.will_retry(error):
                    self.record_retry(reason)
                raise error
        from celery import current_task

        task = current_task._get_current_object()
        if task is None:
            raise RuntimeError("order.retry() works inside a running Celery task")
        if task.max_retries is None or task.request.retries < task.max_retries:
            self.record_retry(reason)
        raise task.retry(exc=exc, countdown=countdown)

    def spawn(
        self,
        resource_name: str,
        context: dict[str, Any] | None = None,
        weight: int = 1,
        policy: str = FAIL_FAST,
    ) -> UUID:
        """Place a child order, run by ``resource_name``'s task; its progress counts ``weight``.

        The parent's progress is then its children's, weighted; it ends once its task has
        returned and its children have ended: completed, or failed at the first child
        that does not complete (``fail_fast``), or completed whatever they did
        (``all_settled``). Cancelling it cancels them. A child spawns no children itself.
        """
        from orders.application.services import spawn_order

        if self._earlier_children is None:
            family = self.refresh().family
            self._earlier_children = family.ids if family is not None else ()
        index, self._spawns = self._spawns, self._spawns + 1
        if index < len(self._earlier_children):
            # Run again (retried, or redelivered after its worker was lost): the child this
            # spawn placed the first time is the one, running or ended, not a second one.
            return UUID(self._earlier_children[index])

        def place() -> UUID:
            return spawn_order(self.id, resource_name, dict(context or {}), weight, policy)

        child_id = place() if self._batch is None else self._batch.around(place)
        self._state = None  # the parent moved: read again when next looked at
        return child_id

    def await_children(self, resource_url: str = "") -> Order:
        """End now if no child is open, else once they have (``order_task`` calls it)."""
        return self._command(lambda: self.tracker.await_children(self.id, resource_url))

    def fail(self, message: str, error_type: str = "", traceback: str = "") -> Order:
        return self._command(lambda: self.tracker.fail(self.id, message, error_type, traceback))

    def __repr__(self) -> str:
        return f"<OrderHandle {self.id}>"


def _record_failure(order: OrderHandle, message: str, exc: BaseException) -> None:
    # Read again: on this rare path, what another process did (a cancel) must count.
    if order.refresh().is_terminal:
        return
    text = "".join(tb.format_exception(type(exc), exc, exc.__traceback__))
    order.fail(message, error_type=type(exc).__name__, traceback=text)


@contextmanager
def fail_on_error(order: OrderHandle, message: str) -> Iterator[None]:
    """On an exception inside the block, fail the order with ``message``, then re-raise.

    A cancel request (a ``BaseException``) passes through untouched.
    """
    try:
        yield
    except Exception as exc:
        if not _will_be_retried(exc):
            _record_failure(order, message, exc)
        raise


def _will_be_retried(exc: BaseException) -> bool:
    """Whether the queue will run the task again after this exception (autoretry or retry)."""
    for queue in queue_retries:
        answer = queue.will_retry(exc)
        if answer is not None:
            return answer
    try:
        from celery import current_task
        from celery.exceptions import Retry
    except ImportError:  # another queue: no retries known here
        return False
    if isinstance(exc, Retry):
        return True
    task = current_task._get_current_object()  # a proxy; None outside a worker
    if task is None or not getattr(task.request, "id", None):
        return False
    autoretry = tuple(getattr(task, "autoretry_for", ()) or ())
    dont = tuple(getattr(task, "dont_autoretry_for", ()) or ())
    if not autoretry or not isinstance(exc, autoretry) or (dont and isinstance(exc, dont)):
        return False
    # The same limit Celery's autoretry applies: retry_kwargs, then the task's own.
    max_retries = (getattr(task, "retry_kwargs", None) or {}).get("max_retries", task.max_retries)
    return max_retries is None or task.request.retries < max_retries


def _parent_has_ended(order: OrderHandle) -> bool:
    """Whether a queued child's parent has ended: then it is cancelled, not run.

    The parent's end cancels its open children once; should that be cut short (its
    process died), a child sent later (the relay) is stopped here.
    """
    state = order.state
    if state.parent_id is None or state.status is not Status.QUEUED:
        return False
    parent = order.tracker.get_order(UUID(state.parent_id))
    if not parent.is_terminal:
        return False
    with suppress(OrderClosedError):
        order.tracker.cancel(order.id, f"parent order {parent.status}")
    log.info("order %s: not run, its parent %s has ended", order.id, parent.id)
    return True


def order_task(func: Callable[[OrderHandle], str | None]) -> Callable[..., None]:
    """Turn ``func(order)`` into a task body taking the order id (for Celery, RQ, a thread).

    When the task runs it appends ``Started``, hands ``func`` an :class:`OrderHandle`,
    and makes sure the order ends: an unhandled exception appends ``Failed`` (and is
    re-raised for the queue to see), or ``Retried`` when the queue will run it again; a
    cancel request (raised at a progress report) ends it ``Cancelled``; a returned
    string is taken as the resource URL; returning without completing is a failure,
    so no order is left running. An order that has ended, or a duplicate message for
    one that another message already started, does not run.
    """

    def run(order_id: str, dispatch_id: str | None = None) -> None:
        order = OrderHandle(order_id)
        if _parent_has_ended(order):
            return
        if not order.state.should_run(dispatch_id):
            log.info("order %s: not running message %s (ended or duplicate)", order.id, dispatch_id)
            return
        try:
            order.start(dispatch_id=dispatch_id)
        except (DuplicateDeliveryError, OrderClosedError):
            log.info("order %s: message %s lost the race to start it", order.id, dispatch_id)
            return
        try:
            result = func(order)
        except CancelRequestedError:
            if not order.refresh().is_terminal:
                order.confirm_cancelled("Cancelled while running")
            return
        except Exception as exc:
            if isinstance(exc, OrderClosedError) and order.refresh().is_terminal:
                # Ended by someone else while the body ran (a child failed its parent).
                log.info("order %s ended while its task ran", order.id)
                return
            if not _will_be_retried(exc):
                _record_failure(order, str(exc) or type(exc).__name__, exc)
            elif order.refresh().status is Status.RUNNING:  # not yet recorded by order.retry()
                order.record_retry(str(exc) or type(exc).__name__)
            raise
        if order.state.is_terminal:  # the body ended it through this handle
            return
        if order.state.family is not None:
            # A parent: it ends once its children have (with what it returned, or them).
            with suppress(OrderClosedError):
                order.await_children(result if isinstance(result, str) else "")
            return
        if isinstance(result, str) and result:
            with suppress(OrderClosedError):  # ended meanwhile, by a cancel or another way
                order.complete(resource_url=result)
        elif not order.refresh().is_terminal:
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
