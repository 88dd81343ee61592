"""Read models built from events: read-your-writes, idempotence, catch-up, rebuild."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.db import connection

from orders.application.tracker import OrderTracker
from projections.models import OrderEvent, OrderSummary, ProjectionPosition
from projections.projector import catch_up, project_saved, rebuild

pytestmark = pytest.mark.django_db


def summary_rows() -> list[tuple]:
    return list(OrderSummary.objects.order_by("order_id").values_list())


def history_rows() -> list[tuple]:
    return list(
        OrderEvent.objects.order_by("order_id", "version").values_list(
            "order_id", "version", "type", "timestamp", "data"
        )
    )


def place_some_orders(tracker: OrderTracker) -> None:
    done = tracker.place("regina", {"steps": 2}, owner="1")
    tracker.start(done, "w")
    tracker.progress(done, 50, "half", 1, 2)
    tracker.complete(done, "/pizzas/1/")
    failed = tracker.place("margherita", {}, owner="2")
    tracker.start(failed, "w")
    tracker.fail(failed, "No more ingredients", "OutOfIngredientsError", "Traceback ...")
    tracker.place("regina", {"steps": 5}, owner=None)


def test_the_summary_shows_a_write_as_soon_as_it_returns(tracker: OrderTracker) -> None:
    order_id = tracker.place("regina", {"steps": 2}, owner="1")
    assert OrderSummary.objects.get(order_id=order_id).status == "queued"
    tracker.start(order_id, "w")
    tracker.progress(order_id, 40, "in the oven")
    summary = OrderSummary.objects.get(order_id=order_id)
    assert (summary.status, summary.progress, summary.message, summary.version) == (
        "running",
        40,
        "in the oven",
        3,
    )


def test_the_history_has_one_row_per_event_in_version_order(tracker: OrderTracker) -> None:
    order_id = tracker.place("regina", {}, owner=None)
    tracker.start(order_id, "w")
    tracker.complete(order_id, "/p/")
    rows = OrderEvent.objects.filter(order_id=order_id).order_by("version")
    assert [(r.version, r.type) for r in rows] == [(1, "Queued"), (2, "Started"), (3, "Completed")]


def test_projecting_the_same_events_twice_changes_nothing(tracker: OrderTracker) -> None:
    place_some_orders(tracker)
    before = (summary_rows(), history_rows())
    for order_id in OrderSummary.objects.values_list("order_id", flat=True):
        project_saved(tracker, tracker.get_order(order_id), tracker.order_events(order_id))
    catch_up(tracker)
    catch_up(tracker)
    assert (summary_rows(), history_rows()) == before


def test_an_older_state_projected_late_does_not_overwrite_a_newer_one(
    tracker: OrderTracker,
) -> None:
    order_id = tracker.place("regina", {}, owner=None)
    tracker.start(order_id, "w")
    tracker.progress(order_id, 70)
    project_saved(tracker, tracker.get_order(order_id, version=2), [])
    assert OrderSummary.objects.get(order_id=order_id).progress == 70


def test_events_a_writer_did_not_project_are_projected_by_catch_up(
    tracker: OrderTracker,
) -> None:
    listeners, tracker.listeners = tracker.listeners, []  # a writer that died before projecting
    order_id = tracker.place("regina", {}, owner="1")
    tracker.start(order_id, "w")
    tracker.listeners = listeners
    assert not OrderSummary.objects.filter(order_id=order_id).exists()
    assert catch_up(tracker) == 2
    assert OrderSummary.objects.get(order_id=order_id).status == "running"
    assert OrderEvent.objects.filter(order_id=order_id).count() == 2


def test_catch_up_resumes_from_its_stored_position(tracker: OrderTracker) -> None:
    place_some_orders(tracker)
    catch_up(tracker)
    tracker.place("regina", {}, owner=None)
    assert catch_up(tracker) == 1
    assert ProjectionPosition.objects.get().position == tracker.last_position()


def test_rebuild_gives_the_same_rows_as_the_live_projection(tracker: OrderTracker) -> None:
    place_some_orders(tracker)
    live = (summary_rows(), history_rows())
    OrderSummary.objects.filter(status="failed").update(message="drifted")
    rebuild(tracker)
    assert (summary_rows(), history_rows()) == live


def test_the_rebuild_command_reports_what_it_projected(tracker: OrderTracker) -> None:
    place_some_orders(tracker)
    live = (summary_rows(), history_rows())
    out, err = io.StringIO(), io.StringIO()
    call_command("projections", "rebuild", stdout=out, stderr=err)
    assert out.getvalue().strip() == f"rebuild: {tracker.last_position()} events projected"
    assert (summary_rows(), history_rows()) == live


def test_a_nul_character_reported_by_a_task_does_not_stop_projection(
    tracker: OrderTracker,
) -> None:
    order_id = tracker.place("regina", {}, owner=None)
    tracker.start(order_id, "w")
    tracker.progress(order_id, 10, "bad\x00byte")
    assert OrderSummary.objects.get(order_id=order_id).message == "bad\ufffdbyte"
    rebuild(tracker)
    assert OrderSummary.objects.get(order_id=order_id).version == 3


@pytest.fixture
def oldest_sqlite_parameter_limit() -> Iterator[None]:
    """SQLite as built before 3.32: at most 999 parameters per statement."""
    if connection.vendor != "sqlite":
        pytest.skip("a limit of SQLite's")
    connection.ensure_connection()
    before = connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    yield
    connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, before)


def test_a_catch_up_batch_fits_in_older_sqlites_999_parameters(
    tracker: OrderTracker, oldest_sqlite_parameter_limit: None
) -> None:
    listeners, tracker.listeners = tracker.listeners, []  # leave everything to the catch-up
    order_id = tracker.place("import", {}, owner=None)
    tracker.start(order_id, "w")
    for percent in range(1, 499):
        tracker.progress(order_id, percent // 5)
    tracker.listeners = listeners
    assert catch_up(tracker, batch=500) == 500
    assert OrderEvent.objects.filter(order_id=order_id).count() == 500
