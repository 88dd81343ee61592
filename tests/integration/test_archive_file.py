"""The archive file on disk: whole members only, a torn last one cut off, checked alone."""

from __future__ import annotations

import gzip
from pathlib import Path
from uuid import UUID

import pytest

from orders.application.archive import (
    as_archived,
    decode,
    offline_mapper,
    stored_rows,
    verify_archive,
)
from orders.application.archive_file import (
    ArchivedOrder,
    ArchiveError,
    ArchiveWriter,
    Member,
    Truncated,
    archived_orders,
    read_members,
    whole_batches,
)
from orders.application.tracker import OrderTracker


def archived(tracker: OrderTracker, order_id: UUID) -> ArchivedOrder:
    rows = stored_rows(tracker, order_id)
    return as_archived(rows, decode(tracker.mapper, rows))


@pytest.fixture
def orders(memory_tracker: OrderTracker) -> list[ArchivedOrder]:
    done = []
    for n in range(3):
        order_id = memory_tracker.place("regina", {"n": n}, owner=None)
        memory_tracker.start(order_id, "oven")
        memory_tracker.complete(order_id, f"/pizzas/{n}/")
        done.append(archived(memory_tracker, order_id))
    return done


def test_each_batch_is_one_member_after_the_header(
    tmp_path: Path, orders: list[ArchivedOrder]
) -> None:
    path = tmp_path / "a.jsonl.gz"
    with ArchiveWriter(path) as writer:
        writer.write(orders[:2])
        writer.write(orders[2:])
    members = list(read_members(path))
    assert [len(m.lines) for m in members if isinstance(m, Member)] == [1, 2, 1]
    assert [[o.order_id for o in batch] for batch in whole_batches(path)] == [
        [orders[0].order_id, orders[1].order_id],
        [orders[2].order_id],
    ]


def test_an_archived_order_reads_back_as_it_was_written(
    tmp_path: Path, orders: list[ArchivedOrder]
) -> None:
    path = tmp_path / "a.jsonl.gz"
    with ArchiveWriter(path) as writer:
        writer.write(orders)
    assert [o for batch in whole_batches(path) for o in batch] == orders


def test_a_torn_last_member_is_reported_and_cut_off_on_reopening(
    tmp_path: Path, orders: list[ArchivedOrder], memory_tracker: OrderTracker
) -> None:
    path = tmp_path / "a.jsonl.gz"
    with ArchiveWriter(path) as writer:
        writer.write(orders[:1])
    whole = path.stat().st_size
    with ArchiveWriter(path) as writer:
        writer.write(orders[1:])
    with open(path, "r+b") as f:  # as if the process died halfway through the write
        f.truncate(whole + (path.stat().st_size - whole) // 2)
    assert isinstance(list(read_members(path))[-1], Truncated)
    check = verify_archive(path, memory_tracker.mapper)
    assert check.orders == 1 and "ends with an incomplete batch at byte" in check.problems[0]
    with ArchiveWriter(path) as writer:
        assert writer.repaired_at == whole
        writer.write(orders[1:])
    assert verify_archive(path, memory_tracker.mapper).problems == []


def test_a_second_writer_of_one_archive_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl.gz"
    with ArchiveWriter(path), pytest.raises(ArchiveError, match="another run"):
        ArchiveWriter(path)


def test_a_file_that_is_not_an_archive_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"hello": 1}\n'))
    with pytest.raises(ArchiveError, match="no header"):
        list(archived_orders(path))


def test_an_order_that_had_not_ended_fails_verification(
    tmp_path: Path, memory_tracker: OrderTracker
) -> None:
    order_id = memory_tracker.place("regina", {}, owner=None)
    memory_tracker.start(order_id, "oven")
    path = tmp_path / "a.jsonl.gz"
    with ArchiveWriter(path) as writer:
        writer.write([archived(memory_tracker, order_id)])
    problems = verify_archive(path, memory_tracker.mapper).problems
    assert problems == [f"{order_id}: not ended (running)"]


def test_an_archive_missing_an_event_fails_verification(
    tmp_path: Path, orders: list[ArchivedOrder], memory_tracker: OrderTracker
) -> None:
    gap = orders[0]
    holed = ArchivedOrder(
        gap.order_id, gap.status, gap.ended, [gap.rows[0], gap.rows[2]],
        [gap.readable[0], gap.readable[2]],
    )  # fmt: skip
    path = tmp_path / "a.jsonl.gz"
    with ArchiveWriter(path) as writer:
        writer.write([holed])
    (problem,) = verify_archive(path, memory_tracker.mapper).problems
    assert problem == f"{gap.order_id}: versions are not 1..2: [1, 3]"


def test_an_archive_is_checked_without_an_event_store(
    tmp_path: Path, orders: list[ArchivedOrder]
) -> None:
    path = tmp_path / "a.jsonl.gz"
    with ArchiveWriter(path) as writer:
        writer.write(orders)
    check = verify_archive(path, offline_mapper({}))
    assert (check.orders, check.events, check.problems) == (3, 9, [])
