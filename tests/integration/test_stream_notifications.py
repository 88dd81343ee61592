"""What wakes the streams, for real: PostgreSQL's NOTIFY from the events table, SQLite's watcher."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from orders.application.tracker import OrderTracker
from orders.infrastructure.eventstore import event_store_env
from streams.hub import Hub, ThreadWaiter, Written
from streams.sources import LogWatcher, PostgresListener, install_trigger
from tests.services import fresh_postgres_database, require_postgres


class RecordingHub(Hub):
    """A hub that also keeps what it was told, to compare with what was written."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[Written] = []
        self.changed = threading.Condition()

    def publish(self, written: Iterable[Written]) -> None:
        items = list(written)
        with self.changed:
            self.written.extend(items)
            self.changed.notify_all()
        super().publish(items)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Written]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.written) >= count, timeout)
            return list(self.written)


@pytest.fixture
def postgres_tracker() -> Iterator[OrderTracker]:
    require_postgres()
    with fresh_postgres_database() as url:
        tracker = OrderTracker(env=event_store_env(url, create_table=True))
        install_trigger(tracker)
        yield tracker
        tracker.close()


@pytest.mark.services
def test_on_postgresql_each_committed_event_is_notified_with_its_position_order_and_version(
    postgres_tracker: OrderTracker,
) -> None:
    hub = RecordingHub()
    listener = PostgresListener(postgres_tracker, hub).start()
    try:
        assert listener.connected.wait(10)
        order_id = postgres_tracker.place("regina", {}, None)
        postgres_tracker.dispatch(order_id, "d1")
        postgres_tracker.start(order_id, "w1", "d1")
        written = hub.wait_for(3)
    finally:
        listener.stop()
    positions = [n.id for n in postgres_tracker.recorder.select_notifications(start=1, limit=10)]
    assert written == [Written(p, order_id, v) for p, v in zip(positions, (1, 2, 3), strict=True)]


@pytest.mark.services
def test_on_postgresql_a_write_by_another_connection_wakes_a_waiter_of_that_order(
    postgres_tracker: OrderTracker,
) -> None:
    order_id = postgres_tracker.place("regina", {}, None)
    hub = Hub()
    listener = PostgresListener(postgres_tracker, hub).start()
    try:
        assert listener.connected.wait(10)
        waiter = hub.subscribe(ThreadWaiter(order_id))
        waiter.clear()  # the listener's first wake-up (it may have missed writes)
        writer = OrderTracker(env=postgres_tracker.env)  # another pool: another process's
        writer.dispatch(order_id, "d1")
        woken = waiter.wait(10)
        writer.close()
    finally:
        listener.stop()
    assert woken


def test_on_sqlite_one_watcher_per_process_wakes_a_waiter_for_a_write(tmp_path: Path) -> None:
    tracker = OrderTracker(
        env=event_store_env(f"sqlite:///{tmp_path / 'events.sqlite3'}", create_table=True)
    )
    order_id = tracker.place("regina", {}, None)
    hub = RecordingHub()
    watcher = LogWatcher(tracker, hub, interval=0.02).start()
    try:
        waiter = hub.subscribe(ThreadWaiter(order_id))
        assert waiter.wait(10)  # the watcher's first pass: it starts from the log's end
        tracker.dispatch(order_id, "d1")
        written = hub.wait_for(1)
    finally:
        watcher.stop()
    assert [(w.order_id, w.version) for w in written] == [(order_id, 2)]
