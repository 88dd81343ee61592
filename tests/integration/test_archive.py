"""Retention on SQLite and PostgreSQL: archive, verify an archive, restore, dry run, positions."""

from __future__ import annotations

import base64
import gzip
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from django.core.management import CommandError, call_command

from orders.application.tracker import OrderTracker
from orders.infrastructure.streams import StreamTable
from projections.models import OrderEvent, OrderSummary
from projections.projector import catch_up

pytestmark = pytest.mark.services


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("orders", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def soon() -> str:
    return (datetime.now(UTC) + timedelta(seconds=5)).isoformat()


def rows_of(tracker: OrderTracker, ids: list[UUID]) -> dict[UUID, list[tuple[int, str, bytes]]]:
    streams = StreamTable(tracker).rows(ids)
    return {i: [(r.version, r.topic, r.state) for r in rows] for i, rows in streams.items()}


@pytest.fixture
def ended(store_tracker: OrderTracker) -> list[UUID]:
    """Three ended orders (completed, failed, cancelled), then a running one, all projected."""
    t = store_tracker
    cooked = t.place("regina", {"steps": 2}, owner="1")
    t.start(cooked, "oven-1")
    t.progress(cooked, 50, "half baked", 1, 2)
    t.complete(cooked, "/pizzas/1/")
    burnt = t.place("margherita", {}, owner="2")
    t.start(burnt, "oven-2")
    t.fail(burnt, "No more ingredients", "OutOfIngredientsError", "Traceback ...")
    dropped = t.place("calzone", {}, owner=None)
    t.cancel(dropped, "changed my mind")
    running = t.place("regina", {}, owner="1")
    t.start(running, "oven-3")
    catch_up(t)
    return [cooked, burnt, dropped]


@pytest.fixture
def running(store_tracker: OrderTracker, ended: list[UUID]) -> UUID:
    return OrderSummary.objects.get(status="running").order_id


def test_archive_removes_ended_streams_and_read_models_and_keeps_the_rest(
    store_tracker: OrderTracker, ended: list[UUID], running: UUID, tmp_path: Path
) -> None:
    out = run("archive", "--ended-before", soon(), "--to", str(tmp_path / "a.jsonl.gz"))
    assert "archived 3 orders, 9 events (1 cancelled, 1 completed, 1 failed)" in out
    assert rows_of(store_tracker, ended) == {}
    assert not OrderSummary.objects.filter(order_id__in=ended).exists()
    assert not OrderEvent.objects.filter(order_id__in=ended).exists()
    assert list(OrderSummary.objects.values_list("order_id", flat=True)) == [running]


def test_an_archive_verifies_alone_and_restores_byte_for_byte(
    store_tracker: OrderTracker, ended: list[UUID], running: UUID, tmp_path: Path
) -> None:
    before = rows_of(store_tracker, ended)
    archive = str(tmp_path / "a.jsonl.gz")
    run("archive", "--ended-before", soon(), "--to", archive)
    assert run("verify", "--archive", archive).rstrip().endswith(": 0 problems")
    assert "restored 3 orders, 9 events" in run("restore", archive)
    assert rows_of(store_tracker, ended) == before
    assert run("verify", "--all").rstrip().endswith("0 problems")
    assert OrderSummary.objects.count() == 4 and OrderEvent.objects.count() == 11


def test_verifying_an_archive_reports_its_orders_and_no_problem(
    store_tracker: OrderTracker, ended: list[UUID], tmp_path: Path
) -> None:
    archive = str(tmp_path / "a.jsonl.gz")
    run("archive", "--ended-before", soon(), "--to", archive)
    out = run("verify", "--archive", archive)
    assert out.startswith(f"verified archive {archive}: 3 orders, 9 events")
    assert out.rstrip().endswith(": 0 problems")


def test_restoring_twice_changes_nothing(
    store_tracker: OrderTracker, ended: list[UUID], tmp_path: Path
) -> None:
    archive = str(tmp_path / "a.jsonl.gz")
    run("archive", "--ended-before", soon(), "--to", archive)
    run("restore", archive)
    positions = {r.position for rows in StreamTable(store_tracker).rows(ended).values()
                 for r in rows}  # fmt: skip
    again = run("restore", archive)
    assert "restored 0 orders, 0 events" in again and "(3 already there)" in again
    after = {r.position for rows in StreamTable(store_tracker).rows(ended).values() for r in rows}
    assert after == positions
    assert OrderEvent.objects.count() == 11


def test_a_dry_run_says_what_would_go_and_removes_nothing(
    store_tracker: OrderTracker, ended: list[UUID], tmp_path: Path
) -> None:
    before = rows_of(store_tracker, ended)
    archive = tmp_path / "a.jsonl.gz"
    out = run("archive", "--ended-before", soon(), "--to", str(archive), "--dry-run", "--list")
    assert "would archive 3 orders, 9 events" in out
    assert {str(i) for i in ended} <= set(out.split())
    assert rows_of(store_tracker, ended) == before
    assert OrderSummary.objects.count() == 4 and not archive.exists()


def test_only_the_statuses_named_are_archived(
    store_tracker: OrderTracker, ended: list[UUID], tmp_path: Path
) -> None:
    out = run("archive", "--ended-before", soon(), "--status", "failed",
              "--to", str(tmp_path / "a.jsonl.gz"))  # fmt: skip
    assert "archived 1 orders, 3 events (1 failed)" in out
    assert set(rows_of(store_tracker, ended)) == {ended[0], ended[2]}


def test_orders_ended_after_the_date_stay(
    store_tracker: OrderTracker, ended: list[UUID], tmp_path: Path
) -> None:
    out = run("archive", "--ended-before", "2001-01-01T00:00:00Z", "--to",
              str(tmp_path / "a.jsonl.gz"))  # fmt: skip
    assert "archived 0 orders" in out
    assert set(rows_of(store_tracker, ended)) == set(ended)


def test_a_status_that_is_not_an_end_is_refused(
    store_tracker: OrderTracker, ended: list[UUID], tmp_path: Path
) -> None:
    with pytest.raises(CommandError, match="not an ended status: running"):
        run("archive", "--ended-before", soon(), "--status", "running",
            "--to", str(tmp_path / "a.jsonl.gz"))  # fmt: skip


def test_an_archive_with_an_edited_event_fails_verification(
    store_tracker: OrderTracker, ended: list[UUID], tmp_path: Path
) -> None:
    archive = tmp_path / "a.jsonl.gz"
    run("archive", "--ended-before", soon(), "--to", str(archive))
    lines = gzip.decompress(archive.read_bytes()).decode().splitlines()
    records = [json.loads(line) for line in lines]
    failed = next(r for r in records if r.get("status") == "failed")
    last = failed["events"][-1]
    state = base64.b64decode(last["state"])
    last["state"] = base64.b64encode(state.replace(b"No more", b"Plenty of")).decode()
    forged = tmp_path / "forged.jsonl.gz"
    forged.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode()))
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 problems"):
        call_command("orders", "verify", "--archive", str(forged), stdout=out)
    assert "event 3 (Failed) does not match its recorded hash" in out.getvalue()


def test_archiving_twice_to_the_same_file_archives_each_order_once(
    store_tracker: OrderTracker, ended: list[UUID], tmp_path: Path
) -> None:
    archive = str(tmp_path / "a.jsonl.gz")
    run("archive", "--ended-before", soon(), "--to", archive)
    assert "archived 0 orders" in run("archive", "--ended-before", soon(), "--to", archive)
    assert run("verify", "--archive", archive).startswith(f"verified archive {archive}: 3 orders")


def test_new_events_after_an_archive_are_projected_by_the_catch_up_pass(
    store_tracker: OrderTracker, ended: list[UUID], tmp_path: Path
) -> None:
    run("archive", "--ended-before", soon(), "--to", str(tmp_path / "a.jsonl.gz"))
    later = store_tracker.place("regina", {}, owner=None)
    OrderSummary.objects.filter(order_id=later).delete()  # as if its own projection was lost
    OrderEvent.objects.filter(order_id=later).delete()
    assert catch_up(store_tracker) == 1
    assert OrderSummary.objects.filter(order_id=later).exists()
    assert run("verify", "--all").rstrip().endswith("0 problems")


def test_restored_events_get_new_positions_that_rebuild_and_verify_follow(
    store_tracker: OrderTracker, ended: list[UUID], tmp_path: Path
) -> None:
    archive = str(tmp_path / "a.jsonl.gz")
    newest = store_tracker.last_position()
    run("archive", "--ended-before", soon(), "--to", archive)
    run("restore", archive)
    positions = [r.position for rows in StreamTable(store_tracker).rows(ended).values()
                 for r in rows]  # fmt: skip
    assert min(positions) > newest
    call_command("projections", "rebuild", stdout=io.StringIO(), stderr=io.StringIO())
    assert OrderSummary.objects.count() == 4 and OrderEvent.objects.count() == 11
    assert run("verify", "--all").rstrip().endswith("0 problems")


def test_the_order_holding_the_newest_sqlite_row_is_kept_for_a_later_run(
    store_tracker: OrderTracker, tmp_path: Path
) -> None:
    if "SQLITE_DBNAME" not in store_tracker.env:
        pytest.skip("PostgreSQL never hands a notification id out twice")
    last = store_tracker.place("regina", {}, owner=None)
    store_tracker.cancel(last)
    catch_up(store_tracker)
    out = run("archive", "--ended-before", soon(), "--to", str(tmp_path / "a.jsonl.gz"))
    assert "archived 0 orders" in out and "kept 1: holds the store's newest position" in out
    assert set(rows_of(store_tracker, [last])) == {last}


@pytest.mark.django_db
def test_archiving_an_in_memory_store_is_a_clear_error(
    memory_tracker: OrderTracker, tmp_path: Path
) -> None:
    with pytest.raises(CommandError, match="needs an SQLite or PostgreSQL event store"):
        run("archive", "--ended-before", soon(), "--to", str(tmp_path / "a.jsonl.gz"))
