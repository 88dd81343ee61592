"""Progress reports that come faster than a window apart are saved together, one write per burst."""

from __future__ import annotations

import copy
import heapq
import itertools
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

from django.conf import settings
from django.db import close_old_connections, transaction

from orders.application.tracker import OrderTracker, ProgressReport
from orders.domain.errors import CancelRequestedError, OrderClosedError
from orders.domain.order import Order

log = logging.getLogger(__name__)

T = TypeVar("T")
# What saving kept reports can run into: the order's refusals (a cancel request is a
# BaseException, so that a task's ``except Exception`` does not swallow it) and I/O.
SAVE_ERRORS = (Exception, CancelRequestedError)
Tell = Callable[[], None]


def default_window() -> float:
    """How long a report may wait to be saved with others, in seconds (see settings)."""
    return float(settings.ASYNC_REST["PROGRESS_BATCH_WINDOW"])


def _in_transaction() -> bool:
    # A body writing in a transaction of its own (atomic): its reports are saved in the
    # call, projected in that transaction as without batching, and the timer's thread
    # never waits on a lock the task's transaction holds.
    return bool(transaction.get_connection().in_atomic_block)


class ProgressBatch:
    """The progress reports of one order that a task made but that are not saved yet.

    A report that comes ``window`` seconds or more after the order's last save is saved
    at once, as without a batch: a task that reports every second writes each report
    when it makes it. One that comes sooner (a task reporting in a tight loop) is checked
    against the order's rules on the order as the task sees it, so a percent that goes
    backwards still raises at the call, and is kept. The reports kept are saved together,
    each its own event, in the order they were made, in one write: when the window ends
    (a timer thread of the process), at the first report after it, or before the task's
    next other command (complete, fail, spawn...), whichever comes first. A burst of
    reports costs one save, and no report is seen later than ``window`` after it was made
    (plus the save); its event's timestamp is when it was saved. Inside a database
    transaction of the task's (``atomic``), every report is saved in its call.

    What the save runs into (a cancel request, the order ended by someone else) is raised
    at the task's next report, where an unbatched report would have raised it: a task
    learns of a cancel request at most one window later. Reports kept when the worker
    process dies are lost with it, like the work done since them; the order is then
    retried or failed as after any lost worker. A handle, and so its batch, belongs to
    the task running it.
    """

    def __init__(self, tracker: OrderTracker, order_id: UUID, window: float) -> None:
        self.tracker = tracker
        self.order_id = order_id
        self.window = window
        # Held while reports are kept or stored, never while the listeners run: the
        # events of one order are stored in the order their reports were made.
        self.lock = threading.Lock()
        self.reports: list[ProgressReport] = []
        self.view: Order | None = None  # the order with the kept reports applied
        self.base: Order | None = None  # the order as last saved or answered
        self.saved_at = -math.inf
        self.error: BaseException | None = None  # what the timer's save ran into

    def report(self, state: Order, report: ProgressReport) -> Order:
        """Save the report now, or keep it; the order as the task now sees it."""
        with self.lock:
            self._raise_error()
            due = time.monotonic() - self.saved_at >= self.window or _in_transaction()
            if not self.reports and due:
                saved, tell = self._store([report])
            else:
                # The rules run here, in the call: a refused report raises and is not kept.
                view = _applied(self.view or self._newest(state), report)
                self.reports.append(report)
                self.view = view
                if not due:
                    if len(self.reports) == 1:
                        _timer.call_at(self.saved_at + self.window, self.save_due)
                    return view
                # The window is over and the timer has not saved yet: this call does.
                saved, tell = self._store(self._take())
        tell()
        return saved

    def around(self, command: Callable[[], T], saves: bool = True) -> T:
        """Run another command of the task (complete, fail, spawn...) after saving the kept reports.

        Reports that cannot be saved any more (a cancel was requested, or the order ended,
        since they were made) are dropped, and the command runs on the order as it is: its
        own rules then decide, as for a task whose reports were all saved (``complete``
        still ends a cancel-requested order whose work is done). ``saves``: the command
        writes (a read does not start a new window).
        """
        with self.lock:
            earlier, self.error = self.error, None
            tell, error = self._try_store_kept()
            error = error or earlier
        if tell is not None:
            tell()
        if error is not None:
            expected = isinstance(error, CancelRequestedError | OrderClosedError)
            log.log(
                logging.INFO if expected else logging.WARNING,
                "order %s: progress reports dropped: %s",
                self.order_id,
                error,
                exc_info=None if expected else error,
            )
        result = command()
        with self.lock:
            if saves:
                self.saved_at = time.monotonic()
            self.base = result if isinstance(result, Order) else None
        return result

    def save_due(self) -> None:
        """The window ended (the timer thread): save what is kept, keep what it ran into."""
        if not self.lock.acquire(blocking=False):
            # The task is keeping or storing a report: look again a window later rather
            # than hold up the other orders' saves behind this one.
            _timer.call_at(time.monotonic() + self.window, self.save_due)
            return
        try:
            tell, error = self._try_store_kept()
            if error is not None:
                self.error = error
        finally:
            self.lock.release()
        if tell is not None:
            tell()

    # Under the lock.

    def _store(self, reports: list[ProgressReport]) -> tuple[Order, Tell]:
        saved, tell = self.tracker.progress_many(self.order_id, reports)
        self.saved_at, self.base = time.monotonic(), saved
        return saved, tell

    def _try_store_kept(self) -> tuple[Tell | None, BaseException | None]:
        """Store the kept reports: the listeners' turn, or what the save ran into."""
        reports = self._take()
        if not reports:
            return None, None
        try:
            return self._store(reports)[1], None
        except SAVE_ERRORS as exc:
            return None, exc

    def _take(self) -> list[ProgressReport]:
        reports, self.reports, self.view = self.reports, [], None
        return reports

    def _newest(self, state: Order) -> Order:
        base = self.base
        return state if base is None or state.version >= base.version else base

    def _raise_error(self) -> None:
        error, self.error = self.error, None
        if error is not None:
            raise error


def _applied(order: Order, report: ProgressReport) -> Order:
    """A copy of ``order`` with the report applied; the copy's events are dropped.

    A report's event only sets attributes (the callback ledger it may touch is replaced,
    not changed), so a shallow copy shares nothing the report changes.
    """
    view = copy.copy(order)
    view.__dict__["_pending_events"] = []
    view.report_progress(*report)
    view.__dict__["_pending_events"] = []
    return view


class _Timer:
    """One thread per process that calls functions at their time (the batches' saves)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        # Also in a forked child: the parent's thread is not there, nor may its lock be free.
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()  # ties keep the order they were asked in
        self._wakeup = threading.Condition()
        self._thread: threading.Thread | None = None

    def call_at(self, when: float, func: Callable[[], None]) -> None:
        with self._wakeup:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="progress-batches")
                self._thread.daemon = True
                self._thread.start()
            heapq.heappush(self._due, (when, next(self._order), func))
            self._wakeup.notify()

    def _run(self) -> None:
        while True:
            with self._wakeup:
                while not self._due or self._due[0][0] > time.monotonic():
                    timeout = self._due[0][0] - time.monotonic() if self._due else None
                    self._wakeup.wait(timeout)
                _, _, func = heapq.heappop(self._due)
            try:
                func()
                # This thread lives as long as the process: let its database connection
                # (the read models, on SQLite) age out as a worker's or a request's does.
                close_old_connections()
            except BaseException:  # the thread must outlive any one save
                log.exception("a progress batch's timer failed")


_timer = _Timer()
os.register_at_fork(after_in_child=_timer._reset)
