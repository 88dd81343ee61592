"""A background loop in each worker: projection catch-up, then the relay and the reaper."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Q

from orders.application.supervision import cutoff, reap, relay
from orders.infrastructure.runtime import get_tracker
from projections.models import OrderSummary
from projections.projector import catch_up

log = logging.getLogger(__name__)

_started = threading.Event()


def supervise_once() -> None:
    """One pass: catch the read models up, then act on what they show as waiting or stuck."""
    conf = settings.ASYNC_REST
    catch_up(get_tracker())
    not_sent, unstarted = float(conf["RELAY_AFTER"]), float(conf["REDISPATCH_AFTER"])
    waiting = OrderSummary.objects.filter(
        Q(status="queued", dispatched=False, updated__lt=cutoff(not_sent))
        | Q(status="queued", dispatched=True, updated__lt=cutoff(unstarted))
    ).values_list("order_id", flat=True)[:500]
    relay(list(waiting), not_sent, unstarted)
    silent = float(conf["WORKER_LOST_AFTER"])
    stuck = OrderSummary.objects.filter(status="running", updated__lt=cutoff(silent)).values_list(
        "order_id", flat=True
    )[:500]
    reap(list(stuck), silent)


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
    """Start the follower thread once per process; set the returned event to stop it."""
    stop = threading.Event()
    if not _started.is_set():
        _started.set()
        thread = threading.Thread(
            target=follow, args=(stop,), name="projection-catch-up", daemon=True
        )
        thread.start()
    return stop
