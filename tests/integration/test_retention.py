"""Automatic retention from the supervision loop: off by default, on when set, one at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from config.retention import LEASE, PART, retain_if_due
from config.supervision import supervise_once
from orders.application.archive import Archiver, offline_mapper, verify_archive
from orders.application.archive_file import ArchiveWriter
from orders.application.tracker import OrderTracker
from orders.infrastructure.streams import StreamTable
from projections.models import OrderSummary
from projections.projector import catch_up
from projections.retention import ReadModelRetention, take_lease

pytestmark = pytest.mark.services


@pytest.fixture
def ended(store_tracker: OrderTracker) -> list[UUID]:
    """Two ended orders, then a running one (it holds SQLite's newest row), all projected."""
    t = store_tracker
    done = t.place("regina", {}, owner="1")
    t.start(done, "oven")
    t.complete(done, "/pizzas/1/")
    dropped = t.place("calzone", {}, owner=None)
    t.cancel(dropped)
    running = t.place("regina", {}, owner="1")
    t.start(running, "oven")
    catch_up(t)
    return [done, dropped]


@pytest.fixture
def retention(settings: Any, tmp_path: Path) -> Path:
    """Retention on: orders ended a day ago or more, into a folder of the test's own."""
    folder = tmp_path / "archive"
    settings.ASYNC_REST = {**settings.ASYNC_REST, "RETENTION_DAYS": 1, "RETENTION_DIR": folder}
    return folder


def in_two_days() -> datetime:
    return datetime.now(UTC) + timedelta(days=2)


def test_retention_is_off_by_default(
    store_tracker: OrderTracker, ended: list[UUID], settings: Any, tmp_path: Path
) -> None:
    assert settings.ASYNC_REST["RETENTION_DAYS"] == 0
    supervise_once()
    assert set(StreamTable(store_tracker).rows(ended)) == set(ended)
    assert retain_if_due(now=in_two_days()) is None


def test_retention_archives_orders_ended_longer_ago_than_the_setting(
    store_tracker: OrderTracker, ended: list[UUID], retention: Path
) -> None:
    report = retain_if_due(now=in_two_days())
    assert report is not None and report.orders == 2
    (archive,) = retention.glob("orders-*.jsonl.gz")
    check = verify_archive(archive, offline_mapper(store_tracker.env))
    assert (check.orders, check.problems) == (2, [])
    assert StreamTable(store_tracker).rows(ended) == {}
    assert list(OrderSummary.objects.values_list("status", flat=True)) == ["running"]


def test_retention_keeps_orders_that_ended_more_recently(
    store_tracker: OrderTracker, ended: list[UUID], retention: Path
) -> None:
    report = retain_if_due()  # now: they ended less than a day ago
    assert report is not None and report.orders == 0
    assert set(StreamTable(store_tracker).rows(ended)) == set(ended)


def test_the_supervision_pass_runs_retention_when_it_is_on(
    store_tracker: OrderTracker, ended: list[UUID], settings: Any, tmp_path: Path
) -> None:
    settings.ASYNC_REST = {
        **settings.ASYNC_REST,
        "RETENTION_DAYS": 1e-9,  # anything ended before now
        "RETENTION_DIR": tmp_path / "archive",
    }
    supervise_once()
    assert StreamTable(store_tracker).rows(ended) == {}
    assert len(list((tmp_path / "archive").glob("orders-*.jsonl.gz"))) == 1


def test_retention_runs_at_most_once_per_interval(
    store_tracker: OrderTracker, ended: list[UUID], retention: Path
) -> None:
    assert retain_if_due(now=in_two_days()) is not None
    assert retain_if_due(now=in_two_days()) is None
    assert len(list(retention.iterdir())) == 1


def test_retention_does_not_run_while_another_process_holds_the_lease(
    store_tracker: OrderTracker, ended: list[UUID], retention: Path
) -> None:
    assert take_lease(LEASE, interval=0, ttl=600, holder="elsewhere:1")
    assert retain_if_due(now=in_two_days()) is None
    assert set(StreamTable(store_tracker).rows(ended)) == set(ended)


def test_retention_finishes_an_archive_a_crash_left_unfinished(
    store_tracker: OrderTracker, ended: list[UUID], retention: Path
) -> None:
    unfinished = retention / f"orders-20260101T000000.jsonl.gz{PART}"
    retention.mkdir()
    # A run that archived the completed order and died before removing anything:
    archiver = Archiver(store_tracker, ReadModelRetention())
    chosen = archiver.eligible(ended[:1], in_two_days(), ("completed",))
    with ArchiveWriter(unfinished) as writer:
        writer.write(chosen)
    report = retain_if_due(now=in_two_days())
    assert report is not None and (report.settled, report.orders) == (1, 1)
    assert [p.name for p in retention.iterdir()] == ["orders-20260101T000000.jsonl.gz"]
    check = verify_archive(retention / "orders-20260101T000000.jsonl.gz", store_tracker.mapper)
    assert (check.orders, check.problems) == (2, [])
