"""Whole streams as stored, removed and put back: SQL on the recorder's table (SQLite, PostgreSQL).

eventsourcing has no delete API (an event store is append-only by design), so retention
reads and deletes rows of the recorder's own table here. Putting a stream back goes
through the recorder's ``insert_events``: on PostgreSQL that takes the writers' lock
(``orders.infrastructure.postgres``), so a restored event's new notification id never
becomes visible after a higher one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier

from orders.application.tracker import OrderTracker


@dataclass(frozen=True)
class StoredRow:
    """One event exactly as the store holds it, with its position in the notification log."""

    order_id: UUID
    version: int
    topic: str
    state: bytes
    position: int

    def stored_event(self) -> StoredEvent:
        return StoredEvent(
            originator_id=self.order_id,
            originator_version=self.version,
            topic=self.topic,
            state=self.state,
        )


class RemovalMismatchError(RuntimeError):
    """The rows a removal would delete are not those that were archived: nothing was deleted."""


class StreamTable:
    """Reads, deletes and re-inserts whole streams of one tracker's event store."""

    def __init__(self, tracker: OrderTracker) -> None:
        recorder = tracker.recorder
        if isinstance(recorder, PostgresApplicationRecorder):
            self._impl: _Postgres | _SQLite = _Postgres(recorder)
        elif isinstance(recorder, SQLiteApplicationRecorder):
            self._impl = _SQLite(recorder)
        else:
            raise NotImplementedError(
                f"archiving needs an SQLite or PostgreSQL event store, not {type(recorder)}"
            )
        self.recorder = recorder

    def rows(self, order_ids: Sequence[UUID]) -> dict[UUID, list[StoredRow]]:
        """The stored events of these orders, each stream oldest first (absent: no events)."""
        streams: dict[UUID, list[StoredRow]] = {}
        for row in self._impl.rows(list(order_ids)):
            streams.setdefault(row.order_id, []).append(row)
        return streams

    def remove(self, expected: dict[UUID, int]) -> None:
        """Delete these orders' streams in one transaction; ``expected``: events per order.

        If the store holds another number of events for them than was archived (nothing
        should append to an ended order, but the store is the judge), nothing is deleted.
        """
        self._impl.remove(expected)

    def newest_row_order(self) -> UUID | None:
        """The order holding the highest notification id, where removing it would reuse ids.

        SQLite gives a new row the highest rowid + 1, so deleting the newest row would hand
        its id out again, behind the position the catch-up pass has already passed. PostgreSQL's
        sequence never goes back: None there.
        """
        return self._impl.newest_row_order()

    def put_back(self, rows: Sequence[StoredRow]) -> None:
        """Insert events as they were stored, in one transaction (they get new positions)."""
        if rows:
            self.recorder.insert_events([r.stored_event() for r in rows])


class _SQLite:
    def __init__(self, recorder: SQLiteApplicationRecorder) -> None:
        self.datastore = recorder.datastore
        self.table = recorder.events_table_name

    def rows(self, order_ids: list[UUID]) -> list[StoredRow]:
        if not order_ids:
            return []
        marks = ",".join("?" * len(order_ids))
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                f"SELECT rowid, originator_id, originator_version, topic, state FROM {self.table}"
                f" WHERE originator_id IN ({marks}) ORDER BY originator_id, originator_version",
                [i.hex for i in order_ids],
            )
            return [
                StoredRow(UUID(r[1]), int(r[2]), str(r[3]), bytes(r[4]), int(r[0]))
                for r in curs.fetchall()
            ]

    def remove(self, expected: dict[UUID, int]) -> None:
        if not expected:
            return
        marks = ",".join("?" * len(expected))
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                f"DELETE FROM {self.table} WHERE originator_id IN ({marks})",
                [i.hex for i in expected],
            )
            deleted = curs.sqlite_cursor.rowcount
            if deleted != sum(expected.values()):
                raise RemovalMismatchError(f"{deleted} rows, {sum(expected.values())} archived")

    def newest_row_order(self) -> UUID | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(f"SELECT originator_id FROM {self.table} ORDER BY rowid DESC LIMIT 1")
            row = curs.fetchone()
        return UUID(row[0]) if row else None


class _Postgres:
    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        self.datastore = recorder.datastore
        table = Identifier(recorder.datastore.schema, recorder.events_table_name)
        id_type = Identifier(recorder.datastore.originator_id_type)
        self.select = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {t}"
            " WHERE originator_id = ANY(%s::{id_type}[])"
            " ORDER BY originator_id, originator_version"
        ).format(t=table, id_type=id_type)
        self.delete = SQL("DELETE FROM {t} WHERE originator_id = ANY(%s::{id_type}[])").format(
            t=table, id_type=id_type
        )

    def rows(self, order_ids: list[UUID]) -> list[StoredRow]:
        if not order_ids:
            return []
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.select, (order_ids,))
            return [
                StoredRow(
                    UUID(str(r["originator_id"])),
                    int(r["originator_version"]),
                    str(r["topic"]),
                    bytes(r["state"]),
                    int(r["notification_id"]),
                )
                for r in curs.fetchall()
            ]

    def remove(self, expected: dict[UUID, int]) -> None:
        if not expected:
            return
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self.delete, (list(expected),))
            if curs.rowcount != sum(expected.values()):
                raise RemovalMismatchError(
                    f"{curs.rowcount} rows, {sum(expected.values())} archived"
                )

    def newest_row_order(self) -> UUID | None:
        return None
