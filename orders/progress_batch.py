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
from django.db import close_old_connections

from orders.application.tracker import OrderTracker, ProgressReport
from orders.domain.errors import CancelRequestedError
from orders.domain.order import Order

log = logging.getLogger(__name__)

T = TypeVar("T")
# What saving kept reports can run into: the order's refusals (a cancel request is a
# BaseException, so that a task's ``except Exception`` does not swallow it) and I/O.
SAVE_ERRORS = (Exception, CancelRequestedError)


def default_window() -> float:
    """How long a report may wait to be saved with others, in seconds (see settings)."""
    return float(settings.ASYNC_REST["PROGRESS_BATCH_WINDOW"])


class ProgressBatch:
    """The progress reports of one order that a task made but that are not saved yet.

    A report that comes ``window`` seconds or more after the order's last save is saved
    at once, as without a batch: a task that reports every second writes each report
    when it makes it. One that comes sooner (a task reporting in a tight loop) is checked
    against the order's rules on the order as the task sees it, so a percent that goes
    backwards still raises at the call, and is kept. The reports kept are saved together,
    each its own event, in the order they were made, in one write: when the window ends
    (a timer thread of the process) or before the task's next other command (complete,
    fail, spawn...), whichever comes first. A burst of reports costs one save, and no
    report is seen later than ``window`` after it was made (plus the save).

    What the save runs into (a cancel request, the order ended by someone else) is raised
    at the task's next call, where an unbatched report would have raised it: a task
    learns of a cancel request at most one window later. Reports kept when the worker
    process dies are lost with it, like the work done since them; the order is then
    retried or failed as after any lost worker.
    """

    def __init__(self, tracker: OrderTracker, order_id: UUID, window: float) -> None:
        self.tracker = tracker
        self.order_id = order_id
        self.window = window
        # The task's thread and the timer thread take turns; a save holds it, so a report
        # made during a save is kept for the next one, never saved before it.
        self.lock = threading.RLock()
        self.reports: list[ProgressReport] = []
        self.view: Order | None = None  # the order with the kept reports applied
        self.saved_at = -math.inf
        self.error: BaseException | None = None  # what the timer's save ran into

    def report(self, state: Order, report: ProgressReport) -> Order:
        """Save the report now, or keep it; the order as the task now sees it."""
        with self.lock:
            self.raise_error()
            if not self.reports and time.monotonic() - self.saved_at >= self.window:
                return self.saved(self.tracker.progress(self.order_id, *report))
            # A copy that shares no list or dict the report changes (its events are
            # dropped): a report's event only sets fields. The rules run here, in the call.
            view = copy.copy(self.view or state)
            view.__dict__["_pending_events"] = []
            view.report_progress(*report)
            view.__dict__["_pending_events"] = []
            self.view = view
            if not self.reports:
                _timer.call_at(self.saved_at + self.window, self.save_due)
            self.reports.append(report)
            return view

    def saved(self, state: Order) -> Order:
        """Note that the order was just saved (by a report or another command)."""
        self.saved_at = time.monotonic()
        return state

    def around(self, command: Callable[[], T], saves: bool = True) -> T:
        """Run another command of the task (complete, fail, spawn...) after saving the kept reports.

        Reports that cannot be saved any more (a cancel was requested, or the order ended,
        since they were made) are dropped, and the command runs on the order as it is: its
        own rules then decide, as for a task whose reports were all saved (``complete``
        still ends a cancel-requested order whose work is done). ``saves``: the command
        writes (a read does not start a new window).
        """
        with self.lock:
            error, self.error = self.error, None
            try:
                self.save_kept()
            except SAVE_ERRORS as exc:
                error = exc
            if error is not None:
                log.info("order %s: progress reports dropped: %s", self.order_id, error)
            result = command()
            if saves:
                self.saved_at = time.monotonic()
            return result

    def save_kept(self) -> Order | None:
        """Save the reports kept, in one write (None: there were none)."""
        with self.lock:
            reports, self.reports, self.view = self.reports, [], None
            if not reports:
                return None
            return self.saved(self.tracker.progress_many(self.order_id, reports))

    def save_due(self) -> None:
        """The window ended (the timer thread): save what is kept, keep what it ran into."""
        with self.lock:
            try:
                self.save_kept()
            except SAVE_ERRORS as exc:
                self.error = exc

    def raise_error(self) -> None:
        with self.lock:
            error, self.error = self.error, None
            if error is not None:
                raise error


class _Timer:
    """One thread per process that calls functions at their time (the batches' saves)."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()  # ties keep the order they were asked in
        self._wakeup = threading.Condition()
        self._pid: int | None = None

    def call_at(self, when: float, func: Callable[[], None]) -> None:
        with self._wakeup:
            if self._pid != os.getpid():  # first use, or a forked worker: its own thread
                self._pid, self._due = os.getpid(), []
                threading.Thread(target=self._run, name="progress-batches", daemon=True).start()
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
            except Exception:  # pragma: no cover - save_due keeps its own errors
                log.exception("a progress batch's timer failed")
            finally:
                # This thread lives as long as the process: let its database connection
                # (the read models, on SQLite) age out as a worker's or a request's does.
                close_old_connections()


_timer = _Timer()
