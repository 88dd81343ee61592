"""Where a process learns that events were written: PostgreSQL LISTEN, or one shared watcher.

- On PostgreSQL a trigger on the events table (``install_trigger``, run after ``migrate``
  creates the tables) sends ``NOTIFY`` for each row at commit, whoever the writer is; one
  thread per process holds a ``LISTEN`` connection and hands each notification to the hub.
- On SQLite (the embedded default) and in memory there is no notification to listen to:
  one thread per process reads the notification log's new rows every
  ``STREAM_POLL_INTERVAL`` seconds (one small query per process, whatever the number of
  streams) and only while someone waits.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from orders.application.tracker import OrderTracker
from streams.hub import Hub, Written

log = logging.getLogger(__name__)

TRIGGER = "async_rest_notify_written"


def channel_of(tracker: OrderTracker) -> str:
    """The NOTIFY channel of the tracker's events table (its name: one per table)."""
    return str(tracker.recorder.events_table_name)  # type: ignore[attr-defined]


def is_postgres(tracker: OrderTracker) -> bool:
    return tracker.env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres"


def install_trigger(tracker: OrderTracker) -> None:
    """Create (or replace) the trigger that notifies each event written to the table.

    ``NOTIFY`` is sent at commit, in commit order, and never for a rolled-back insert,
    so a listener is woken exactly by what a reader of the store can then see. The
    payload is ``position order_id version``.
    """
    datastore = tracker.recorder.datastore  # type: ignore[attr-defined]
    table = sql.Identifier(datastore.schema, channel_of(tracker))
    function = sql.Identifier(datastore.schema, TRIGGER)
    statements = [
        sql.SQL(
            "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN PERFORM pg_notify({channel}, NEW.notification_id::text || ' ' || "
            "NEW.originator_id::text || ' ' || NEW.originator_version::text); "
            "RETURN NULL; END $$"
        ).format(function=function, channel=sql.Literal(channel_of(tracker))),
        sql.SQL(
            "CREATE OR REPLACE TRIGGER {trigger} AFTER INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION {function}()"
        ).format(trigger=sql.Identifier(TRIGGER), table=table, function=function),
    ]
    with datastore.get_connection() as conn, conn.transaction():
        for statement in statements:
            conn.execute(statement)


def parse_payload(payload: str) -> Written | None:
    try:
        position, order_id, version = payload.split(" ")
        return Written(int(position), UUID(order_id), int(version))
    except ValueError:
        return None


def _conninfo(tracker: OrderTracker) -> dict[str, Any]:
    kwargs = tracker.recorder.datastore.pool.kwargs  # type: ignore[attr-defined]
    return {k: kwargs[k] for k in ("dbname", "host", "port", "user", "password") if k in kwargs}


class PostgresListener:
    """One ``LISTEN`` connection per process; reconnects, and then wakes everyone."""

    reconnect_wait = 1.0

    def __init__(self, tracker: OrderTracker, hub: Hub) -> None:
        self.conninfo = _conninfo(tracker)
        self.channel = channel_of(tracker)
        self.hub = hub
        self.connected = threading.Event()
        self.stopped = threading.Event()

    def start(self) -> PostgresListener:
        threading.Thread(target=self.run, name="streams-listen", daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopped.set()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self._listen()
            except Exception:
                log.warning("stream notifications lost; reconnecting", exc_info=True)
            self.connected.clear()
            self.stopped.wait(self.reconnect_wait)

    def _listen(self) -> None:
        with psycopg.connect(**self.conninfo, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            self.connected.set()
            # What was written while no one listened is not lost: the streams re-read.
            self.hub.publish_everyone()
            while not self.stopped.is_set():
                # A bounded wait, so that stop() is seen within a second.
                for notify in conn.notifies(timeout=1.0):
                    written = parse_payload(notify.payload)
                    if written is not None:
                        self.hub.publish([written])


class LogWatcher:
    """One thread per process that reads the notification log's new rows, while anyone waits."""

    def __init__(self, tracker: OrderTracker, hub: Hub, interval: float) -> None:
        self.tracker = tracker
        self.hub = hub
        self.interval = interval
        self.stopped = threading.Event()

    def start(self) -> LogWatcher:
        threading.Thread(target=self.run, name="streams-watch", daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopped.set()

    def run(self) -> None:
        position: int | None = None
        while not self.stopped.wait(self.interval):
            try:
                if self.hub.count() == 0:
                    position = None  # idle: no query; the next waiter reads the store itself
                    continue
                if position is None:
                    position = self.tracker.last_position()
                    self.hub.publish_everyone()  # a write just before may have been missed
                    continue
                position = self._step(position)
            except Exception:
                log.warning("watching the event log failed", exc_info=True)
                position = None

    def _step(self, position: int) -> int:
        rows = self.tracker.recorder.select_notifications(start=position + 1, limit=1000)
        if rows:
            self.hub.publish(
                Written(n.id, UUID(str(n.originator_id)), n.originator_version) for n in rows
            )
            return int(rows[-1].id)
        return position
