"""The per-order key store: a table beside the event tables, in the event store's database.

Why there, and not a Django model: a key must be committed before its order's ``Queued``
event, or with it (on PostgreSQL, in the same statement), whatever transaction the caller
of ``place_order`` is in. Django's connection may be inside an ``atomic`` block that rolls
back after the event store (never part of that transaction) has kept the event: the order
would exist with a context nobody can open.
The event store's own connection commits each statement by itself, and every process
that replays orders (web, workers, ``orders`` commands) already holds it.

A row is ``(order_id, key, forgotten)``; ``orders forget`` sets the key to NULL (or adds
a key-less row for an order recorded before sealing) and keeps the row as the record that
the order was forgotten. A backup of the event store holds the keys: restoring one taken
before a forget brings that key back (run the forget again; see docs/erasure.md).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier

from orders.application.sealing import ContextSealer, KeyStore
from orders.application.tracker import OrderTracker
from orders.infrastructure.postgres import OrderedPostgresRecorder

TABLE = "async_rest_context_keys"


class MemoryKeyStore:
    """Keys in this process's memory, for the ``memory://`` event store (tests, demos)."""

    def __init__(self) -> None:
        self._keys: dict[UUID, bytes | None] = {}
        self._lock = threading.Lock()

    def create(self, order_id: UUID, key: bytes) -> None:
        with self._lock:
            self._keys[order_id] = key

    def lookup(self, order_id: UUID) -> bytes | bool | None:
        with self._lock:
            if order_id not in self._keys:
                return None
            return self._keys[order_id] or False

    def forget(self, order_id: UUID) -> bool:
        with self._lock:
            destroyed = bool(self._keys.get(order_id))
            self._keys[order_id] = None
            return destroyed


class SQLiteKeyStore:
    def __init__(self, recorder: SQLiteApplicationRecorder) -> None:
        self.datastore = recorder.datastore

    def create_table(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (order_id TEXT PRIMARY KEY, "
                "key BLOB, forgotten TEXT)"
            )

    def create(self, order_id: UUID, key: bytes) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(f"INSERT INTO {TABLE} (order_id, key) VALUES (?, ?)", (str(order_id), key))

    def lookup(self, order_id: UUID) -> bytes | bool | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(f"SELECT key FROM {TABLE} WHERE order_id = ?", (str(order_id),))
            row = curs.fetchone()
        return None if row is None else (bytes(row[0]) if row[0] is not None else False)

    def forget(self, order_id: UUID) -> bool:
        now = datetime.now(UTC).isoformat()
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(f"SELECT key FROM {TABLE} WHERE order_id = ?", (str(order_id),))
            row = curs.fetchone()
            curs.execute(
                f"INSERT INTO {TABLE} (order_id, key, forgotten) VALUES (?, NULL, ?) "
                "ON CONFLICT (order_id) DO UPDATE SET key = NULL, "
                "forgotten = COALESCE(forgotten, excluded.forgotten)",
                (str(order_id), now),
            )
        return row is not None and row[0] is not None


class PostgresKeyStore:
    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        self.datastore = recorder.datastore
        self.table = Identifier(self.datastore.schema, TABLE)
        # With the project's recorder, a new key is written by the very statement that
        # records the order's Queued (both or neither, and no round trip of its own).
        self.writes_with_save = isinstance(recorder, OrderedPostgresRecorder)
        self._insert = f"INSERT INTO {self.table.as_string(None)} (order_id, key) VALUES (%s, %s)"

    def statement_for(self, order_id: UUID, key: bytes) -> tuple[str, list[Any]] | None:
        """The key's INSERT, to run with the order's first save; None: use ``create``."""
        return (self._insert, [order_id, key]) if self.writes_with_save else None

    def create_table(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} (order_id uuid PRIMARY KEY, key bytea, "
                    "forgotten timestamptz)"
                ).format(self.table)
            )

    def create(self, order_id: UUID, key: bytes) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("INSERT INTO {} (order_id, key) VALUES (%s, %s)").format(self.table),
                (order_id, key),
            )

    def lookup(self, order_id: UUID) -> bytes | bool | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT key FROM {} WHERE order_id = %s").format(self.table), (order_id,)
            )
            row = curs.fetchone()
        if row is None:
            return None
        return bytes(row["key"]) if row["key"] is not None else False

    def forget(self, order_id: UUID) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            # The old row is locked and read in the same statement that blanks it.
            curs.execute(
                SQL(
                    "WITH old AS (SELECT key FROM {t} WHERE order_id = %s FOR UPDATE) "
                    "INSERT INTO {t} (order_id, key, forgotten) VALUES (%s, NULL, now()) "
                    "ON CONFLICT (order_id) DO UPDATE SET key = NULL, "
                    "forgotten = COALESCE({t}.forgotten, excluded.forgotten) "
                    "RETURNING (SELECT key IS NOT NULL FROM old) AS destroyed"
                ).format(t=self.table),
                (order_id, order_id),
            )
            row = curs.fetchone()
        return bool(row and row["destroyed"])


def key_store_for(tracker: OrderTracker, *, create_table: bool = False) -> KeyStore:
    """The key store in the tracker's event store (its table created when asked, by migrate)."""
    recorder = tracker.recorder
    store: SQLiteKeyStore | PostgresKeyStore
    if isinstance(recorder, POPOApplicationRecorder):
        return MemoryKeyStore()
    if isinstance(recorder, SQLiteApplicationRecorder):
        store = SQLiteKeyStore(recorder)
    elif isinstance(recorder, PostgresApplicationRecorder):
        store = PostgresKeyStore(recorder)
    else:
        raise TypeError(f"no key store for the recorder {type(recorder).__name__}")
    if create_table:
        store.create_table()
    return store


def seal_contexts(
    tracker: OrderTracker, *, seal_new: bool = True, create_table: bool = False
) -> OrderTracker:
    """The tracker, sealing each new context with a key of its own from its event store.

    With ``seal_new`` off, contexts are recorded in clear, but the key store is still
    asked on replay: an order forgotten there stays hidden.
    """
    keys = key_store_for(tracker, create_table=create_table)
    tracker.sealer = ContextSealer(keys, seal_new=seal_new)
    return tracker
