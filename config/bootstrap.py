"""The composition root: the one place that builds the tracker and wires the pieces together.

``wire()`` runs once per process, from the ``config`` app's ``ready()``: it tells the
runtime how to build this process's tracker (the event store named by the settings, the
read-model projection as its listener) and has ``migrate`` create the event tables.
The Celery app (``config.celery``) and the workers' supervision loop
(``config.supervision``) are the other two pieces of wiring.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models.signals import post_migrate

from orders.application.tracker import OrderTracker
from orders.infrastructure import runtime
from orders.infrastructure.eventstore import event_store_env
from projections.projector import project_saved
from streams.process import install_notify_trigger


def build_tracker(url: str | None = None, *, create_table: bool = False) -> OrderTracker:
    """A tracker on the event store at ``url`` (default: the settings'), projecting its saves.

    Read-your-writes: the process that appends an event updates the read models right
    away; the workers' catch-up pass is only the safety net.
    """
    conf = settings.ASYNC_REST
    env = event_store_env(
        url or str(conf["EVENTSTORE_URL"]),
        create_table=create_table,
        cache_size=int(conf["AGGREGATE_CACHE"]),
    )
    return OrderTracker(env=env, listeners=[project_saved])


def create_event_tables(**_: Any) -> None:
    """Create the event store's tables (after ``migrate``, never at process start).

    Several processes creating them at once on PostgreSQL fail ("tuple concurrently
    updated"), so ordinary processes build their trackers with ``CREATE_TABLE=n``.
    """
    build_tracker(create_table=True).close()


def wire() -> None:
    runtime.install(build_tracker)
    post_migrate.connect(
        create_event_tables, sender=apps.get_app_config("orders"), dispatch_uid="event-tables"
    )
    # After the tables exist (receivers run in the order connected): the live streams'
    # NOTIFY trigger on PostgreSQL (streams/sources.py); nothing on SQLite.
    post_migrate.connect(
        install_notify_trigger, sender=apps.get_app_config("orders"), dispatch_uid="stream-trigger"
    )
