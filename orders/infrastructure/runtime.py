"""This process's tracker: built by the factory the composition root installs, again after a fork.

``config.bootstrap`` installs the factory (with the event store of the settings and the
read-model projection as listener); everything in the process asks ``get_tracker()``. A
tracker is rebuilt in a forked child: a connection pool opened before fork hangs there.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import threading
from collections.abc import Callable

from orders.application.tracker import OrderTracker

_lock = threading.Lock()
_factory: Callable[[], OrderTracker] | None = None
_tracker: OrderTracker | None = None
_pid: int | None = None


def install(factory: Callable[[], OrderTracker]) -> None:
    """Build this process's tracker with ``factory`` from now on (the composition root)."""
    global _factory
    with _lock:
        _factory = factory


def get_tracker() -> OrderTracker:
    """This process's tracker, built on first use (and after a fork)."""
    global _tracker, _pid
    if _tracker is None or _pid != os.getpid():
        with _lock:
            if _tracker is None or _pid != os.getpid():
                if _factory is None:
                    raise RuntimeError("no tracker factory installed: config.bootstrap.wire()")
                _tracker, _pid = _factory(), os.getpid()
    return _tracker


@atexit.register
def _let_go_at_exit() -> None:
    # eventsourcing's PostgreSQL datastore closes itself in __del__, which at interpreter
    # shutdown (modules already torn down) logs an AttributeError in every process: drop
    # the tracker while the interpreter still works, so that it is collected now.
    global _tracker
    if _tracker is not None and _pid == os.getpid():
        with contextlib.suppress(Exception):
            _tracker.close()
        _tracker = None
        gc.collect()


def set_tracker(tracker: OrderTracker | None) -> None:
    """Use this tracker in this process (tests, benchmarks); None builds a new one on next use.

    The tracker keeps the listeners it was built with: ``config.bootstrap.build_tracker``
    gives it the projection, a bare ``OrderTracker`` has none (unit tests, no database).
    """
    global _tracker, _pid
    with _lock:
        _tracker, _pid = tracker, os.getpid()
