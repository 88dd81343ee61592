"""This process's hub, with the notification source that the settings and the event store choose."""

from __future__ import annotations

import os
import threading

from django.conf import settings

from orders.infrastructure.runtime import get_tracker
from streams.hub import Hub
from streams.sources import LogWatcher, PostgresListener, is_postgres

_lock = threading.Lock()
_hub: Hub | None = None
_pid: int | None = None


def start_source(hub: Hub) -> None:
    """Start the process's one source: LISTEN on PostgreSQL, else the shared log watcher.

    ``STREAM_NOTIFY``: ``auto`` (the default: LISTEN when the event store is PostgreSQL),
    ``listen`` or ``poll``.
    """
    conf = settings.ASYNC_REST
    tracker = get_tracker()
    choice = str(conf["STREAM_NOTIFY"])
    if choice == "listen" or (choice == "auto" and is_postgres(tracker)):
        PostgresListener(tracker, hub).start()
    else:
        LogWatcher(tracker, hub, float(conf["STREAM_POLL_INTERVAL"])).start()


def get_hub() -> Hub:
    """This process's hub, made on first use (and again in a forked child: threads do not fork)."""
    global _hub, _pid
    if _hub is None or _pid != os.getpid():
        with _lock:
            if _hub is None or _pid != os.getpid():
                _hub, _pid = Hub(start_source), os.getpid()
    return _hub


def install_notify_trigger(**_: object) -> None:
    """After ``migrate`` made the event tables: on PostgreSQL, the trigger that notifies writes."""
    from orders.infrastructure.runtime import get_tracker as tracker_of
    from streams.sources import install_trigger

    tracker = tracker_of()
    if is_postgres(tracker):
        install_trigger(tracker)
