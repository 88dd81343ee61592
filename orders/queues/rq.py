"""Orders as RQ jobs: the launcher, RQ's retries as ``Retried``, and no job's order left running.

``register("imports", import_rows, launcher=RQLauncher(queue))`` enqueues the ``order_task``
function with ``(order_id, dispatch_id)``, like Celery's ``apply_async``. Inside the job the
task helpers behave as under Celery: an error RQ will retry (the job was enqueued with
``Retry(max=...)`` and has retries left) and ``order.retry(...)`` are recorded as ``Retried``.

RQ runs no task code when a worker dies, so three hooks end the order from outside the job:
the job's ``on_failure`` callback (RQ calls it for an abandoned job, the one left started by a
dead worker, when it cleans its registries), its ``on_stopped`` callback (``rq`` asked to stop
it: cancelled), and :class:`config.rq_worker.OrderWorker`, which ends the order at
once when its work horse is killed. The reaper of any supervision loop is the last resort.
"""

from __future__ import annotations

import logging
import math
from typing import Any
from uuid import UUID

from rq import Callback, Queue, Retry, get_current_job
from rq.exceptions import AbandonedJobError
from rq.job import Job
from rq.utils import import_attribute

from orders.application.supervision import WORKER_LOST
from orders.application.tracker import OrderNotFoundError
from orders.domain.order import Status
from orders.infrastructure.runtime import get_tracker
from orders.task_api import queue_retries

log = logging.getLogger(__name__)


class RetryRequestedError(Exception):
    """Raised by ``order.retry()`` inside an RQ job: RQ runs it again if it has retries left."""


class RQLauncher:
    """Enqueues an order's task on an RQ queue, called with ``(order_id, dispatch_id)``.

    ``retry=Retry(max=3, interval=[10, 60])`` lets RQ run failed attempts again (a retry
    after an interval needs a worker started with ``--with-scheduler``); any other keyword
    goes to ``Queue.enqueue`` (``job_timeout``, ``result_ttl``, ``failure_ttl``, ...).
    """

    def __init__(self, queue: Queue, retry: Retry | None = None, **enqueue_options: Any) -> None:
        self.queue = queue
        self.retry = retry
        self.options = enqueue_options

    def launch(self, task: Any, order_id: UUID, dispatch_id: str) -> None:
        _check_importable(task)
        self.queue.enqueue(
            task,
            str(order_id),
            dispatch_id,
            retry=self.retry,
            on_failure=Callback(job_failed),
            on_stopped=Callback(job_stopped),
            meta={"order_id": str(order_id), "dispatch_id": dispatch_id},
            **self.options,
        )

    def __repr__(self) -> str:
        return f"<RQLauncher queue={self.queue.name!r}>"


def _check_importable(task: Any) -> None:
    # RQ stores a function by its module path and imports it in the worker: that path
    # must lead back to the order_task wrapper, not to the undecorated body it copies
    # its name from (the body would be called with an order id instead of a handle).
    path = f"{getattr(task, '__module__', '?')}.{getattr(task, '__qualname__', '?')}"
    try:
        found = import_attribute(path)
    except (AttributeError, ImportError, ValueError):
        found = None
    if found is not task:
        raise TypeError(
            f"RQ imports its jobs by module path, and {path} does not lead to this task: "
            "decorate a module-level function with @order_task and register that"
        )


class RQRetries:
    """RQ's answer for the task helpers: RQ retries any error while the job has retries left."""

    def will_retry(self, exc: BaseException) -> bool | None:
        job = get_current_job()
        if job is None:
            return None
        return job.should_retry

    def retry_error(
        self, reason: str, countdown: float | None, exc: BaseException | None
    ) -> BaseException | None:
        job = get_current_job()
        if job is None:
            return None
        if countdown is not None and job.should_retry:
            _next_interval(job, countdown)
        return exc if exc is not None else RetryRequestedError(reason)


def _next_interval(job: Job, countdown: float) -> None:
    """Make RQ wait ``countdown`` seconds before the next attempt, the later ones unchanged.

    RQ picks the interval at ``max(len(intervals) - retries_left, 0)``: with as many
    intervals as retries left, the first one is this retry's and the others keep theirs.
    """
    left = job.retries_left or 0
    old = job.retry_intervals or [0]
    later = [old[max(len(old) - remaining, 0)] for remaining in range(left - 1, 0, -1)]
    job.retry_intervals = [math.ceil(countdown), *later]


if not any(isinstance(queue, RQRetries) for queue in queue_retries):
    queue_retries.append(RQRetries())


def end_lost_job(job: Job, message: str, error_type: str) -> bool:
    """End the order of a job that no task code will finish; True if something was recorded.

    ``Retried`` when RQ will run the job again, else ``Failed``. Only the order's current
    message counts: an order that moved on (ended, or started by another message) is left be.
    """
    order_id, dispatch_id = _order_of(job)
    if order_id is None:
        return False
    tracker = get_tracker()
    try:
        order = tracker.get_order(order_id)
    except OrderNotFoundError:
        return False
    if order.is_terminal or order.dispatch_id not in (None, dispatch_id):
        return False
    if job.should_retry:
        if order.status is not Status.RUNNING:
            return False  # queued already: the next attempt starts it
        tracker.retry(order.id, message)
        return True
    return tracker.fail_if_unchanged(order.id, order.version, message, error_type)


def _order_of(job: Job) -> tuple[UUID | None, str | None]:
    try:
        order_id, dispatch_id = job.args[:2]
        return UUID(str(order_id)), str(dispatch_id)
    except (TypeError, ValueError):
        log.warning("RQ job %s does not carry an order id and a dispatch id", job.id)
        return None, None


def job_failed(job: Job, connection: Any, exc_type: Any, exc: Any, traceback: Any) -> None:
    """RQ's ``on_failure``: end an order its job could not (worker dead, or task not run).

    After an error inside the task the helpers have recorded it already and nothing is
    added; an abandoned job's order (its worker died) is failed as ``WorkerLost``.
    """
    if isinstance(exc, AbandonedJobError):
        message = f"Worker lost: RQ found job {job.id} abandoned by its worker (died mid-job)"
        ended = end_lost_job(job, message, WORKER_LOST)
    else:
        message = f"RQ job {job.id} failed: {exc or getattr(exc_type, '__name__', exc_type)}"
        ended = end_lost_job(job, message, getattr(exc_type, "__name__", str(exc_type)))
    if ended:
        log.warning("order of RQ job %s ended: %s", job.id, message)


def job_stopped(job: Job, connection: Any) -> None:
    """RQ's ``on_stopped`` (``send_stop_job_command``): the order ends cancelled."""
    order_id, dispatch_id = _order_of(job)
    if order_id is None:
        return
    tracker = get_tracker()
    try:
        order = tracker.get_order(order_id)
    except OrderNotFoundError:
        return
    if not order.is_terminal and order.dispatch_id in (None, dispatch_id):
        tracker.confirm_cancelled(order.id, f"Stopped through RQ (job {job.id})")


__all__ = ["RQLauncher", "RQRetries", "Retry", "RetryRequestedError", "end_lost_job"]
