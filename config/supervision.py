"""The workers' supervision loop: catch-up, relay, reaper, idempotency keys, retention, metrics.

Each Celery worker runs it in a background thread (``config.celery``); ``manage.py
projections follow`` runs it in the foreground. It composes the read side (which orders
look waiting or stuck), the application (relay and reap them from the event store's
state) and the API's housekeeping, so it lives with the rest of the wiring.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections

from api.idempotency import purge_expired
from callbacks.supervision import resend_overdue
from config.retention import retain_if_due
from metrics.projection import catch_up as count_metrics
from orders.application.supervision import cutoff, reap, relay, settle_parents
from orders.infrastructure.runtime import get_tracker
from projections.projector import catch_up
from projections.selectors import silent_orders, unsettled_parents, waiting_orders

log = logging.getLogger(__name__)

_started = threading.Event()
# Events the metrics projection counts per pass, at most (about a second's work).
METRICS_PER_PASS = 5000


def supervise_once() -> None:
    """One pass: catch the read models up, then act on what they show as waiting or stuck."""
    conf = settings.ASYNC_REST
    catch_up(get_tracker())
    not_sent, unstarted = float(conf["RELAY_AFTER"]), float(conf["REDISPATCH_AFTER"])
    relay(waiting_orders(cutoff(not_sent), cutoff(unstarted)), not_sent, unstarted)
    silent = float(conf["WORKER_LOST_AFTER"])
    reap(silent_orders(cutoff(silent)), silent)
    settle_parents(unsettled_parents(cutoff(float(conf["SETTLE_AFTER"]))))
    resend_overdue()
    purge_expired()
    retain_if_due()  # off by default (ASYNC_REST RETENTION_DAYS)
    # Last, and bounded: the metrics are for watching; they must not hold up relay or reaper.
    count_metrics(get_tracker(), max_events=METRICS_PER_PASS)


def follow(stop: threading.Event, interval: float | None = None) -> None:
    interval = interval or float(settings.ASYNC_REST["CATCHUP_INTERVAL"])
    while not stop.is_set():
        try:
            supervise_once()
        except Exception:
            # The database or the broker may be away for a while: keep trying, never die.
            log.exception("supervision pass failed; retrying in %ss", interval)
        finally:
            close_old_connections()
        stop.wait(interval)


def follow_in_background() -> threading.Event:
    """Start the supervision thread once per process; set the returned event to stop it."""
    stop = threading.Event()
    if not _started.is_set():
        _started.set()
        thread = threading.Thread(target=follow, args=(stop,), name="supervision", daemon=True)
        thread.start()
    return stop
