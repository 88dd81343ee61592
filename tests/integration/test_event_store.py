"""The tracker on real stores (SQLite file, PostgreSQL): round trip, topics, races."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import OperationalError

from orders.application.tracker import OrderTracker
from orders.domain.order import Status
from orders.infrastructure.eventstore import event_store_env
from orders.infrastructure.postgres import OrderedPostgresRecorder
from tests.services import fresh_postgres_database, require_postgres


def create_tables(url: str) -> None:
    # A bare tracker (no projection, no Django): spawned writer processes import this module.
    OrderTracker(env=event_store_env(url, create_table=True)).close()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
        create_tables(url)
        yield url
        return
    require_postgres()
    with fresh_postgres_database() as url:
        create_tables(url)
        yield url


@pytest.fixture
def tracker(store_url: str) -> Iterator[OrderTracker]:
    tracker = OrderTracker(env=_env(store_url))
    yield tracker
    tracker.close()


def _env(url: str) -> dict[str, str]:
    return event_store_env(url)


def stored_topics(url: str) -> set[str]:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
            rows = conn.execute("SELECT topic FROM stored_events").fetchall()
    else:
        with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
            rows = conn.execute("SELECT topic FROM async_rest_events").fetchall()
    return {r[0] for r in rows}


def test_an_order_round_trips_through_the_store(tracker: OrderTracker) -> None:
    order_id = tracker.place("regina", {"steps": 2, "note": "é"}, owner="3")
    tracker.start(order_id, "w")
    tracker.progress(order_id, 50, "half", current=1, total=2)
    tracker.complete(order_id, "/pizzas/9/")
    order = tracker.get_order(order_id)
    assert (order.status, order.context, order.owner, order.resource_url, order.version) == (
        Status.COMPLETED,
        {"steps": 2, "note": "é"},
        "3",
        "/pizzas/9/",
        4,
    )


def test_the_state_at_a_version_is_rebuilt_from_the_store(tracker: OrderTracker) -> None:
    order_id = tracker.place("regina", {}, owner=None)
    tracker.start(order_id, "w")
    tracker.progress(order_id, 30)
    tracker.fail(order_id, "burnt", "OvenError")
    assert tracker.get_order(order_id, version=3).progress == 30
    assert tracker.get_order(order_id, version=3).status == Status.RUNNING


def test_the_store_records_stable_topics(tracker: OrderTracker, store_url: str) -> None:
    order_id = tracker.place("regina", {}, owner=None)
    tracker.start(order_id, "w")
    assert stored_topics(store_url) == {"async_rest.Order.Queued", "async_rest.Order.Started"}


def _report_progress(url: str, order_id: str, label: str, count: int) -> None:
    tracker = OrderTracker(env=_env(url))
    for i in range(count):
        tracker.progress(UUID(order_id), 10, message=f"{label}-{i}")
    tracker.close()


WRITERS = ("a", "b", "c", "d")


def test_processes_reporting_at_once_lose_no_event_and_leave_no_gap(
    tracker: OrderTracker, store_url: str
) -> None:
    order_id = tracker.place("import", {}, owner=None)
    tracker.start(order_id, "w")
    count = 25
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_report_progress, args=(store_url, str(order_id), label, count))
        for label in WRITERS
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * len(WRITERS)
    events = tracker.order_events(order_id)
    messages = sorted(e.message for e in events if type(e).__name__ == "Progressed")
    assert messages == sorted(f"{label}-{i}" for label in WRITERS for i in range(count))
    assert [e.originator_version for e in events] == list(range(1, len(WRITERS) * count + 3))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    require_postgres()
    with fresh_postgres_database() as url:
        create_tables(url)
        yield url


def visible_positions(url: str) -> list[int]:
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        rows = conn.execute("SELECT notification_id FROM async_rest_events ORDER BY 1")
        return [row[0] for row in rows]


def last_position_drawn(url: str) -> int:
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        row = conn.execute("SELECT last_value FROM async_rest_events_notification_id_seq")
        return int(row.fetchone()[0])  # type: ignore[index]


def test_on_postgresql_no_position_becomes_visible_before_an_earlier_one(
    postgres_url: str,
) -> None:
    tracker = OrderTracker(env=_env(postgres_url))
    recorder = tracker.recorder
    assert isinstance(recorder, OrderedPostgresRecorder)
    first = tracker.place("regina", {}, owner=None)
    (stored,) = recorder.select_events(first)
    # Another writer's save, held open between drawing its position and committing.
    held = psycopg.connect(postgres_url.replace("postgres://", "postgresql://"))
    held.execute(
        recorder.ordered_insert_statement, ([uuid4()], [1], [stored.topic], [stored.state])
    )
    saved = threading.Thread(target=tracker.place, args=("regina", {}, None))
    saved.start()
    saved.join(timeout=0.5)
    try:
        assert saved.is_alive()  # waits for the earlier writer...
        assert last_position_drawn(postgres_url) == 2  # ...before drawing its own position
        assert visible_positions(postgres_url) == [1]
    finally:
        held.commit()
        held.close()
        saved.join(timeout=10)
        tracker.close()
    assert visible_positions(postgres_url) == [1, 2, 3]


def test_on_postgresql_a_save_whose_answer_was_lost_is_recorded_once(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker = OrderTracker(env=_env(postgres_url))
    recorder = tracker.recorder
    assert isinstance(recorder, OrderedPostgresRecorder)
    order_id = tracker.place("regina", {}, owner=None)
    tracker.start(order_id, "w")
    insert = recorder._execute_insert
    lost: list[list[int]] = []

    def commit_then_lose_the_answer(params: Any, also: Any) -> list[int]:
        positions = insert(params, also)
        if not lost:
            lost.append(positions)
            raise OperationalError("server closed the connection unexpectedly")
        return positions

    monkeypatch.setattr(recorder, "retry_wait", 0.01)
    monkeypatch.setattr(recorder, "_execute_insert", commit_then_lose_the_answer)
    try:
        assert tracker.progress(order_id, 40).version == 3
        assert [type(e).__name__ for e in tracker.order_events(order_id)] == [
            "Queued",
            "Started",
            "Progressed",
        ]
    finally:
        tracker.close()
