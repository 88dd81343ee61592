"""A background loop that runs the catch-up pass every few seconds (in each worker)."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections

from orders.runtime import get_tracker
from projections.projector import catch_up

log = logging.getLogger(__name__)

_started = threading.Event()


def follow(stop: threading.Event, interval: float | None = None) -> None:
    interval = interval or settings.ASYNC_REST["CATCHUP_INTERVAL"]
    while not stop.is_set():
        try:
            caught = catch_up(get_tracker())
            if caught:
                log.debug("projection catch-up read %d events", caught)
        except Exception:
            # The database may be away for a while: keep trying, never die.
            log.exception("projection catch-up failed; retrying in %ss", interval)
        finally:
            close_old_connections()
        stop.wait(interval)


def follow_in_background() -> threading.Event:
    """Start the follower thread once per process; set the returned event to stop it."""
    stop = threading.Event()
    if not _started.is_set():
        _started.set()
        threading.Thread(
            target=follow, args=(stop,), name="projection-catch-up", daemon=True
        ).start()
    return stop
