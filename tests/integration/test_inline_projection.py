"""Statements written with a save's events, in the same PostgreSQL statement: all or nothing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

from config import bootstrap
from orders.application.tracker import OrderTracker
from orders.domain.order import Order
from orders.infrastructure.eventstore import event_store_env
from tests.services import fresh_postgres_database, require_postgres


def side_rows(order: Order, events: Sequence[Any]) -> list[tuple[str, list[Any]]]:
    """One row per event in a side table, as the read models' statements would write."""
    return [
        (
            "INSERT INTO side (order_id, version) VALUES (%s, %s)",
            [e.originator_id, e.originator_version],
        )
        for e in events
    ]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    require_postgres()
    with fresh_postgres_database() as url:
        OrderTracker(env=event_store_env(url, create_table=True)).close()
        with psycopg.connect(url) as conn:
            conn.execute(
                "CREATE TABLE side (order_id uuid, version int, UNIQUE (order_id, version))"
            )
        yield url


def tracker_on(url: str) -> OrderTracker:
    return OrderTracker(env=event_store_env(url), inline=side_rows)


def side_table(url: str) -> list[tuple[Any, int]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT order_id, version FROM side ORDER BY version").fetchall()


def test_the_statements_are_written_with_the_events(postgres_url: str) -> None:
    tracker = tracker_on(postgres_url)
    order_id = tracker.place("regina", {}, None)
    tracker.start(order_id, "w")
    tracker.progress(order_id, 50)
    tracker.close()
    assert side_table(postgres_url) == [(order_id, 1), (order_id, 2), (order_id, 3)]


def test_a_save_that_loses_a_race_writes_none_of_its_statements(postgres_url: str) -> None:
    first, second = tracker_on(postgres_url), tracker_on(postgres_url)
    order_id = first.place("regina", {}, None)
    second.start(order_id, "w")  # first still believes the order is at version 1
    first.cancel(order_id, "changed my mind")  # collides on version 2, runs again at 3
    first.close()
    second.close()
    # One row per event recorded: the colliding attempt's row went with its events.
    assert [version for _, version in side_table(postgres_url)] == [1, 2, 3]


def test_a_failing_statement_records_no_event(postgres_url: str) -> None:
    tracker = tracker_on(postgres_url)
    order_id = tracker.place("regina", {}, None)
    with psycopg.connect(postgres_url) as conn:
        conn.execute("INSERT INTO side (order_id, version) VALUES (%s, 2)", [order_id])
    with pytest.raises(Exception, match="side"):
        tracker.start(order_id, "w")
    assert [e.originator_version for e in tracker.order_events(order_id)] == [1]
    tracker.close()


# ------------------------------------------------------------------ where inline applies


@pytest.fixture
def store_on_app(postgres_url: str) -> Iterator[OrderTracker]:
    tracker = OrderTracker(env=event_store_env(postgres_url))
    yield tracker
    tracker.close()


@pytest.fixture
def django_db(store_on_app: OrderTracker) -> Any:
    """The Django side of the decision: a database connection's vendor and settings."""

    def make(**settings: Any) -> SimpleNamespace:
        base: dict[str, Any] = {
            "NAME": store_on_app.env.get("POSTGRES_DBNAME"),
            "HOST": "127.0.0.1",
            "PORT": "5432",
            "USER": "postgres",
            "OPTIONS": {},
        }
        return SimpleNamespace(vendor="postgresql", settings_dict=base | settings)

    return make


def test_inline_applies_when_the_read_models_are_in_the_event_stores_database(
    store_on_app: OrderTracker, django_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bootstrap, "connection", django_db(HOST="localhost", PORT=5432))
    assert bootstrap.shares_read_models_database(store_on_app)


@pytest.mark.parametrize(
    "settings",
    [
        {"NAME": "other"},
        {"HOST": "db.example.org"},
        {"PORT": "5433"},
        {"USER": "app"},
        {"OPTIONS": {"options": "-c search_path=app"}},
    ],
)
def test_inline_does_not_apply_to_another_database_or_search_path(
    store_on_app: OrderTracker,
    django_db: Any,
    monkeypatch: pytest.MonkeyPatch,
    settings: dict[str, Any],
) -> None:
    monkeypatch.setattr(bootstrap, "connection", django_db(**settings))
    assert not bootstrap.shares_read_models_database(store_on_app)


def test_inline_does_not_apply_to_sqlite_read_models(
    store_on_app: OrderTracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = store_on_app.env.get("POSTGRES_DBNAME")
    sqlite = SimpleNamespace(vendor="sqlite", settings_dict={"NAME": name, "OPTIONS": {}})
    monkeypatch.setattr(bootstrap, "connection", sqlite)
    assert not bootstrap.shares_read_models_database(store_on_app)
