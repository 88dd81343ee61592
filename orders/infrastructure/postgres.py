"""The PostgreSQL event recorder: one round trip per save, committed in notification order."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.sql import SQL, Identifier, Literal

# Statements a save runs with its events, in the same statement (SQL, params): the inline
# projection's read models and a new order's key are written this way (config/bootstrap.py).
AlsoWritten = Sequence[tuple[str, Sequence[Any]]]


def writers_lock_key(schema: str, table: str) -> int:
    """The advisory lock that writers of one events table take (a signed 64-bit number)."""
    digest = hashlib.sha256(f"async-rest events {schema}.{table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class OrderedPostgresRecorder(PostgresApplicationRecorder):
    """Inserts a save's events with one prepared statement that first takes a writers' lock.

    The catch-up pass follows the notification log from a stored position, so an id must
    never become visible after a higher one: a reader that saw the higher one would pass
    over the lower one for good. eventsourcing keeps that order with ``LOCK TABLE``, but
    only on its slower path (four statements in a transaction); its stored-function path
    (``POSTGRES_ENABLE_DB_FUNCTIONS``) takes no lock, and there a writer does commit
    while an earlier id is still uncommitted (seen with two sessions). Here a transaction-level
    advisory lock, taken in the same statement before the ids are drawn and released
    only after the commit is visible, serialises the writers of this table, and the save
    is a single round trip: as fast as the stored function, twice the rate of the
    ``LOCK TABLE`` transaction (bench/append.py, docs/benchmarks.md).
    A save may bring other statements (``also``: the read models, written inline): they
    become part of the same statement, so the save is still one round trip, and they
    commit with the events or not at all.
    The recorder sends no ``NOTIFY`` itself: the catch-up polls, and the live streams'
    trigger on the table (``streams/``) notifies their listeners. A save whose answer
    was lost (the connection failed after the commit) is recognised on the next try as
    already recorded instead of being reported as a lost race.
    """

    # Like eventsourcing's recorders: tries when the connection fails, and the pause between.
    attempts = 10
    retry_wait = 0.2

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        table = Identifier(datastore.schema, events_table_name)
        id_type = Identifier(datastore.originator_id_type)
        key = writers_lock_key(datastore.schema, events_table_name)
        # The lock is in a materialised CTE that the inserted rows are joined with, so it
        # is held before the first row exists and thus before its notification id is drawn.
        self.writers_lock = SQL(
            "writers_lock AS MATERIALIZED (SELECT pg_advisory_xact_lock({key}))"
        ).format(key=Literal(key))
        self.insert_from_lock = SQL(
            "INSERT INTO {table} (originator_id, originator_version, topic, state) "
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            "FROM writers_lock, unnest(%s::{id_type}[], %s::bigint[], %s::text[], %s::bytea[]) "
            "AS e (originator_id, originator_version, topic, state) "
            "RETURNING notification_id"
        ).format(table=table, id_type=id_type)
        self.ordered_insert_statement = SQL("WITH {} {}").format(
            self.writers_lock, self.insert_from_lock
        )
        # The statement with other statements, as text: psycopg would compose it again on
        # every execute, a tenth of a save's time (bench/profile_write.py).
        self._with_also: dict[tuple[str, ...], str] = {}
        self.recorded_statement = SQL(
            "SELECT t.originator_id, t.originator_version, t.topic, t.state, t.notification_id "
            "FROM {table} AS t JOIN unnest(%s::{id_type}[], %s::bigint[]) AS k (id, version) "
            "ON t.originator_id = k.id AND t.originator_version = k.version"
        ).format(table=table, id_type=id_type)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], *, also: AlsoWritten = (), **kwargs: Any
    ) -> Sequence[int]:
        if not stored_events:
            return []
        params = (
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
        )
        uncertain = False
        for attempt in range(1, self.attempts + 1):
            try:
                return self._execute_insert(params, also)
            except (InterfaceError, OperationalError):
                if attempt == self.attempts:
                    raise
                uncertain = True  # it may have committed before the connection failed
                time.sleep(self.retry_wait)
            except IntegrityError:
                # After a lost answer, finding our own events there means the first try
                # committed: a success, not a race lost to another writer (which would
                # make the tracker run the command a second time).
                recorded = self._positions_if_recorded(stored_events) if uncertain else None
                if recorded is None:
                    raise
                return recorded
        raise AssertionError("unreachable")  # pragma: no cover

    def _execute_insert(self, params: tuple[list[Any], ...], also: AlsoWritten) -> list[int]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            if also:
                statement = self._statement_with(tuple(sql for sql, _ in also), conn)
                values = [*params, *(value for _, more in also for value in more)]
                curs.execute(statement, values, prepare=True)
            else:
                # Autocommit: the statement is its own transaction, committed before it returns.
                curs.execute(self.ordered_insert_statement, params, prepare=True)
            return [row["notification_id"] for row in curs.fetchall()]

    def _statement_with(self, also: tuple[str, ...], conn: Any) -> str:
        """The insert with other statements as data-modifying CTEs of the same statement.

        The main query reads only the inserted rows, so PostgreSQL runs the other CTEs to
        completion after it, once the writers' lock is held and the events are in; were
        one ever to take a row lock first, a deadlock with another writer would be
        detected by the server and the save tried again, never a hang.
        """
        statement = self._with_also.get(also)
        if statement is None:
            parts = [
                self.writers_lock.as_string(conn),
                f"new_events AS ({self.insert_from_lock.as_string(conn)})",
                *(f"also_{i} AS ({sql})" for i, sql in enumerate(also)),
            ]
            statement = f"WITH {', '.join(parts)} SELECT notification_id FROM new_events"
            if len(self._with_also) < 64:  # a few shapes: one per number of events saved
                self._with_also[also] = statement
        return statement

    def _positions_if_recorded(self, stored_events: Sequence[StoredEvent]) -> list[int] | None:
        """The positions of exactly these events if the store holds them, else None."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                self.recorded_statement,
                (
                    [e.originator_id for e in stored_events],
                    [e.originator_version for e in stored_events],
                ),
            )
            found = {
                (row["originator_id"], row["originator_version"]): row for row in curs.fetchall()
            }
        positions = []
        for e in stored_events:
            row = found.get((e.originator_id, e.originator_version))
            if row is None or row["topic"] != e.topic or bytes(row["state"]) != e.state:
                return None
            positions.append(row["notification_id"])
        return positions
