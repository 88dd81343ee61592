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
from django.db import connection
from django.db.models.signals import post_migrate

from callbacks.listener import enqueue_owed
from orders.application.tracker import OrderTracker
from orders.infrastructure import runtime
from orders.infrastructure.eventstore import event_store_env
from orders.infrastructure.keystore import seal_contexts
from orders.infrastructure.postgres import OrderedPostgresRecorder
from projections.projector import project_saved, read_model_statements
from receipts import keys as receipt_keys
from streams.process import install_notify_trigger


def build_tracker(url: str | None = None, *, create_table: bool = False) -> OrderTracker:
    """A tracker on the event store at ``url`` (default: the settings'), projecting its saves.

    Read-your-writes: the process that appends an event updates the read models right
    away; the workers' catch-up pass is only the safety net. When the events and the
    read models share one PostgreSQL database, the read models are written in the same
    transaction and round trip as the events (inline); otherwise (SQLite, where they are
    two files, or two databases) in a transaction of their own right after the save.
    """
    conf = settings.ASYNC_REST
    env = event_store_env(
        url or str(conf["EVENTSTORE_URL"]),
        create_table=create_table,
        cache_size=int(conf["AGGREGATE_CACHE"]),
    )
    tracker = OrderTracker(env=env)
    if conf.get("INLINE_PROJECTION", True) and shares_read_models_database(tracker):
        tracker.inline = read_model_statements
    else:
        tracker.listeners.append(project_saved)
    # After the read models: a delivery is enqueued once the event is committed.
    tracker.listeners.append(enqueue_owed)
    # A key per order, so that `orders forget` can destroy it (issue 10).
    return seal_contexts(tracker, seal_new=conf["SEAL_CONTEXTS"], create_table=create_table)


def shares_read_models_database(tracker: OrderTracker) -> bool:
    """Whether the tracker's events table is in the database of the read models.

    Same server, database and user (hence the same search path for the read models'
    unqualified table names), through the project's PostgreSQL recorder.
    """
    if not isinstance(tracker.recorder, OrderedPostgresRecorder):
        return False
    django_db = connection.settings_dict
    if connection.vendor != "postgresql" or "options" in (django_db.get("OPTIONS") or {}):
        return False
    store = tracker.env
    return (
        (django_db.get("NAME") or "") == store.get("POSTGRES_DBNAME")
        and _host(django_db.get("HOST")) == _host(store.get("POSTGRES_HOST"))
        and str(django_db.get("PORT") or 5432) == str(store.get("POSTGRES_PORT") or 5432)
        and (django_db.get("USER") or "") == store.get("POSTGRES_USER")
    )


def _host(name: Any) -> str:
    return "127.0.0.1" if name in (None, "", "localhost") else str(name)


def create_event_tables(**_: Any) -> None:
    """Create the event store's tables (after ``migrate``, never at process start).

    Several processes creating them at once on PostgreSQL fail ("tuple concurrently
    updated"), so ordinary processes build their trackers with ``CREATE_TABLE=n``.
    """
    build_tracker(create_table=True).close()


def wire() -> None:
    runtime.install(build_tracker)
    receipt_keys.install(settings.ASYNC_REST)  # now: a missing or bad key stops the process
    post_migrate.connect(
        create_event_tables, sender=apps.get_app_config("orders"), dispatch_uid="event-tables"
    )
    # After the tables exist (receivers run in the order connected): the live streams'
    # NOTIFY trigger on PostgreSQL (streams/sources.py); nothing on SQLite.
    post_migrate.connect(
        install_notify_trigger, sender=apps.get_app_config("orders"), dispatch_uid="stream-trigger"
    )
