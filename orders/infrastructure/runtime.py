"""One OrderTracker per process, built lazily from Django settings (after any fork)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from urllib.parse import unquote, urlparse

from orders.application.tracker import OrderTracker, SavedListener

_lock = threading.Lock()
_tracker: OrderTracker | None = None
_pid: int | None = None
_listeners: list[SavedListener] = []


def event_store_env(url: str, *, create_table: bool = False) -> dict[str, str]:
    """eventsourcing's environment for an ``EVENTSTORE_URL``.

    ``sqlite:///path/events.sqlite3``, ``postgres://user:pass@host:port/db?schema=x``
    or ``memory://``. Tables are created only when asked (by ``migrate``): several
    processes creating them at once on PostgreSQL fail ("tuple concurrently updated").
    """
    parsed = urlparse(url)
    env = {
        "CREATE_TABLE": "y" if create_table else "n",
        # Recent orders each process keeps in memory, so that a command does not replay
        # the stream (OrderTracker._update; eventsourcing's own cache stays off).
        OrderTracker.LATEST_ORDERS_MAXSIZE: os.environ.get("ASYNC_REST_AGGREGATE_CACHE", "1000"),
    }
    if parsed.scheme in ("memory", "popo"):
        env["PERSISTENCE_MODULE"] = "eventsourcing.popo"
        env["CREATE_TABLE"] = "y"
    elif parsed.scheme == "sqlite":
        env["PERSISTENCE_MODULE"] = "eventsourcing.sqlite"
        env["SQLITE_DBNAME"] = unquote(parsed.path)
        env["SQLITE_LOCK_TIMEOUT"] = "30"
    elif parsed.scheme in ("postgres", "postgresql"):
        query = dict(p.split("=", 1) for p in parsed.query.split("&") if "=" in p)
        env.update(
            PERSISTENCE_MODULE="eventsourcing.postgres",
            POSTGRES_DBNAME=parsed.path.lstrip("/"),
            POSTGRES_HOST=parsed.hostname or "127.0.0.1",
            POSTGRES_PORT=str(parsed.port or 5432),
            POSTGRES_USER=unquote(parsed.username or "postgres"),
            POSTGRES_PASSWORD=unquote(parsed.password or ""),
            # One statement per save that keeps commits in notification order
            # (orders/persistence.py); eventsourcing's stored function does not.
            APPLICATION_RECORDER_TOPIC="orders.infrastructure.postgres:OrderedPostgresRecorder",
            POSTGRES_ENABLE_DB_FUNCTIONS="n",
            POSTGRES_POOL_SIZE=query.get("pool_size", "5"),
            POSTGRES_CONNECT_TIMEOUT=query.get("connect_timeout", "5"),
        )
        if "schema" in query:
            env["POSTGRES_SCHEMA"] = query["schema"]
    else:
        raise ValueError(f"unsupported EVENTSTORE_URL scheme: {parsed.scheme!r}")
    return env


def build_tracker(url: str, *, create_table: bool = False) -> OrderTracker:
    tracker = OrderTracker(env=event_store_env(url, create_table=create_table))
    tracker.listeners.extend(_listeners)
    return tracker


def get_tracker() -> OrderTracker:
    """This process's tracker; rebuilt in a forked child (a pool opened before fork hangs)."""
    global _tracker, _pid
    if _tracker is None or _pid != os.getpid():
        with _lock:
            if _tracker is None or _pid != os.getpid():
                from django.conf import settings

                _tracker = build_tracker(settings.ASYNC_REST["EVENTSTORE_URL"])
                _pid = os.getpid()
    return _tracker


def set_tracker(tracker: OrderTracker | None) -> None:
    """Use this tracker in this process (tests, benchmarks); None rebuilds from settings.

    The tracker keeps the listeners it has: ``build_tracker`` gives it the projections,
    a bare ``OrderTracker`` has none (unit tests without a database).
    """
    global _tracker, _pid
    with _lock:
        _tracker, _pid = tracker, os.getpid()


def add_saved_listener(listener: Callable[..., None]) -> None:
    """Call ``listener(tracker, order, events)`` after every save (the projections use this)."""
    if listener not in _listeners:
        _listeners.append(listener)
        if _tracker is not None and listener not in _tracker.listeners:
            _tracker.listeners.append(listener)


def create_event_tables() -> None:
    """Create the event store's tables once (called by ``migrate``)."""
    from django.conf import settings

    tracker = build_tracker(settings.ASYNC_REST["EVENTSTORE_URL"], create_table=True)
    tracker.close()
