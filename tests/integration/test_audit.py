"""Audit from the record: history, replay, export, and verify against real tampering."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from uuid import UUID

import pytest
from django.core.management import CommandError, call_command

from config.bootstrap import build_tracker
from orders.application.tracker import OrderTracker
from orders.infrastructure.runtime import set_tracker
from projections.models import OrderSummary
from tests.services import fresh_postgres_database, require_postgres

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("orders", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def cooked(tracker: OrderTracker) -> UUID:
    order_id = tracker.place("regina", {"steps": 2}, owner="1")
    tracker.start(order_id, "oven-1")
    tracker.progress(order_id, 50, "half baked", 1, 2)
    tracker.complete(order_id, "/pizzas/1/")
    return order_id


@pytest.fixture
def burnt(tracker: OrderTracker) -> UUID:
    order_id = tracker.place("margherita", {}, owner="2")
    tracker.start(order_id, "oven-2")
    tracker.fail(order_id, "No more ingredients", "OutOfIngredientsError", "Traceback ...")
    return order_id


def test_history_prints_one_timeline_line_per_event(cooked: UUID) -> None:
    lines = run("history", str(cooked))[0].splitlines()
    columns = [line.split() for line in lines]  # version, date, time, +since, type, percent
    assert [c[4] for c in columns] == ["Queued", "Started", "Progressed", "Completed"]
    assert (columns[0][3], columns[2][5]) == ("+0.000s", "50%")
    assert "half baked" in lines[2]


def test_history_as_json_lines_carries_every_stored_field(cooked: UUID) -> None:
    records = [json.loads(line) for line in run("history", str(cooked), "--json")[0].splitlines()]
    assert [r["version"] for r in records] == [1, 2, 3, 4]
    assert records[2]["percent"] == 50 and records[2]["current"] == 1
    assert records[2]["prev_hash"] == records[1]["hash"]
    assert records[0]["topic"] == "async_rest.Order.Queued"


def test_replay_prints_the_state_after_a_version(cooked: UUID) -> None:
    state = json.loads(run("replay", str(cooked), "--version", "3")[0])
    assert (state["status"], state["progress"], state["message"], state["version"]) == (
        "running",
        50,
        "half baked",
        3,
    )


def test_replay_at_a_moment_prints_the_state_then(tracker: OrderTracker, cooked: UUID) -> None:
    started_at = tracker.get_order(cooked, version=2).modified_on
    state = json.loads(run("replay", str(cooked), "--at", started_at.isoformat())[0])
    assert (state["status"], state["version"]) == ("running", 2)


@pytest.mark.parametrize(
    "args", [("--version", "9"), ("--at", "2001-01-01T00:00:00Z")], ids=["version", "at"]
)
def test_replay_out_of_range_is_a_clear_error(cooked: UUID, args: tuple[str, str]) -> None:
    with pytest.raises(CommandError):
        run("replay", str(cooked), *args)


def test_export_streams_the_matching_orders_events(cooked: UUID, burnt: UUID) -> None:
    out, err = run("export", "--status", "failed")
    records = [json.loads(line) for line in out.splitlines()]
    assert {r["order_id"] for r in records} == {str(burnt)}
    assert [r["type"] for r in records] == ["Queued", "Started", "Failed"]
    assert "1/1" in err  # the progress bar, on stderr


def test_export_without_filters_has_every_event(cooked: UUID, burnt: UUID) -> None:
    assert len(run("export")[0].splitlines()) == 7


def test_verify_passes_an_honest_record(cooked: UUID, burnt: UUID) -> None:
    out = run("verify", "--all")[0]
    assert out.startswith("verified 2 orders, 7 events") and out.rstrip().endswith("0 problems")


def tamper_sqlite(tracker: OrderTracker, order_id: UUID, version: int) -> None:
    path = tracker.env["SQLITE_DBNAME"]
    with sqlite3.connect(path) as conn:
        (state,) = conn.execute(
            "SELECT state FROM stored_events WHERE originator_id=? AND originator_version=?",
            (order_id.hex, version),
        ).fetchone()
        edited = state.replace(b'"percent":50', b'"percent":99')
        assert edited != state
        conn.execute(
            "UPDATE stored_events SET state=? WHERE originator_id=? AND originator_version=?",
            (edited, order_id.hex, version),
        )


def test_verify_finds_an_event_edited_by_hand_in_the_table(
    tracker: OrderTracker, cooked: UUID
) -> None:
    tamper_sqlite(tracker, cooked, 3)
    with pytest.raises(CommandError, match="1 problems"):
        out = io.StringIO()
        call_command("orders", "verify", str(cooked), stdout=out, stderr=io.StringIO())
    assert "broken-chain: event 3 (Progressed) was altered" in out.getvalue()


def test_verify_finds_a_read_model_that_drifted(cooked: UUID) -> None:
    OrderSummary.objects.filter(order_id=cooked).update(progress=42)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("orders", "verify", "--all", stdout=out, stderr=io.StringIO())
    assert f"{cooked} drifted: progress: read model 42 != stream 100" in out.getvalue()


@pytest.fixture
def pg_tracker(db: None) -> Iterator[OrderTracker]:
    require_postgres()
    with fresh_postgres_database() as url:
        tracker = build_tracker(url, create_table=True)
        set_tracker(tracker)
        yield tracker
        set_tracker(None)
        tracker.close()


def test_verify_finds_an_event_edited_by_hand_on_postgresql(pg_tracker: OrderTracker) -> None:
    import psycopg

    order_id = pg_tracker.place("regina", {"steps": 1}, owner=None)
    pg_tracker.start(order_id, "w")
    env = pg_tracker.env
    dsn = f"host={env['POSTGRES_HOST']} port={env['POSTGRES_PORT']} dbname={env['POSTGRES_DBNAME']}"
    with psycopg.connect(dsn) as conn:
        edited = conn.execute(
            "UPDATE async_rest_events SET state = convert_to(replace(convert_from(state, 'UTF8'),"
            ' \'"worker":"w"\', \'"worker":"x"\'), \'UTF8\')'
            " WHERE originator_id = %s AND originator_version = 2 AND state <> convert_to("
            'replace(convert_from(state, \'UTF8\'), \'"worker":"w"\', \'"worker":"x"\'),'
            " 'UTF8')",
            (order_id,),
        )
        assert edited.rowcount == 1
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("orders", "verify", str(order_id), stdout=out, stderr=io.StringIO())
    assert "broken-chain: event 2 (Started) was altered" in out.getvalue()


def test_a_stream_with_a_deleted_event_breaks_the_chain(
    tracker: OrderTracker, cooked: UUID
) -> None:
    with sqlite3.connect(tracker.env["SQLITE_DBNAME"]) as conn:
        conn.execute(
            "DELETE FROM stored_events WHERE originator_id=? AND originator_version=3",
            (cooked.hex,),
        )
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("orders", "verify", str(cooked), stdout=out, stderr=io.StringIO())
    assert "event 4 does not follow event 3" in out.getvalue()
