"""An RQ worker for orders: Django set up, fresh connections in each work horse, supervision.

Run it with RQ's own command line (``DJANGO_SETTINGS_MODULE`` chooses the settings)::

    rq worker --worker-class config.rq_worker.OrderWorker --url redis://... QUEUE
    python -m config.rq_worker --url redis://... QUEUE      # the same, shorter

RQ forks a work horse per job. The horse must not use, nor close, the database
connections it inherits (closing one would end the parent's session on the server):
it forgets them and opens its own, and builds its own event-store tracker. The main
process runs the supervision loop that Celery workers run (projection catch-up, the
relay of unsent orders, the reaper of orders whose worker was lost), and ends the order
of a work horse that was killed, at once, instead of leaving it to the reaper.
"""

from __future__ import annotations

import functools
import inspect
import os
import signal
import sys
from typing import Any

import django
from django.apps import apps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
if not apps.ready:  # `rq worker -w` imports this module first: set Django up for the jobs
    django.setup()

from django.db import connections
from rq import Worker
from rq.job import Job
from rq.queue import Queue

from config.supervision import follow_in_background
from orders.application.supervision import WORKER_LOST
from orders.infrastructure.runtime import get_tracker, set_tracker
from orders.queues.rq import end_lost_job

WORKER_CLASS = "config.rq_worker.OrderWorker"  # by its import path, also under -m

# What the horse inherited: kept referenced so that nothing finalises it in the horse.
_inherited: list[Any] = []


def forget_inherited_connections() -> None:
    """In a forked child: leave the parent's connections alone and open new ones on demand."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None:
            _inherited.append(conn.connection)
            conn.connection = None
    set_tracker(None)


class OrderWorker(Worker):
    """RQ's forking worker, made safe for orders (see the module's docstring)."""

    def work(self, *args: Any, **kwargs: Any) -> bool:
        # The tracker is built here, in the main thread, before the loop's thread exists:
        # no lock of the runtime is then held by another thread when a horse is forked.
        get_tracker()
        follow_in_background()
        return bool(super().work(*args, **kwargs))

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        forget_inherited_connections()
        super().main_work_horse(job, queue)

    def unsubscribe(self) -> None:
        # RQ stops the thread that listens for its commands with stop(), which redis-py 8
        # makes wait for the thread with no bound; the thread may be in a 60 s wait for a
        # subscription that the unsubscribe just ended, so a warm shutdown hung for up to a
        # minute. Bounded here; the thread is a daemon, the process exits without it.
        thread = self.pubsub_thread
        if thread is not None and "timeout" in inspect.signature(thread.stop).parameters:
            thread.stop = functools.partial(thread.stop, timeout=1)
        super().unsubscribe()

    def handle_work_horse_killed(self, job: Job, retpid: Any, ret_val: Any, rusage: Any) -> None:
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        how = (
            f"killed by {signal.Signals(os.WTERMSIG(ret_val)).name}"
            if ret_val and os.WIFSIGNALED(ret_val)
            else f"exited with status {ret_val}"
        )
        message = f"Worker lost: RQ work horse {retpid} {how} while running job {job.id}"
        try:
            if end_lost_job(job, message, WORKER_LOST):
                self.log.warning("order of job %s ended: %s", job.id, message)
        except Exception:
            # The reaper ends it later; the worker must go on with the next job.
            self.log.exception("could not end the order of job %s", job.id)


def main(argv: list[str] | None = None) -> None:
    """``python -m config.rq_worker [rq worker options] QUEUE...``."""
    from rq.cli import main as rq

    rq(args=["worker", "--worker-class", WORKER_CLASS, *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
