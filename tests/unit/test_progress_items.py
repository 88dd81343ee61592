"""ProgressItems: throttled progress reporting over large or lazy iterables."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orders.application.tracker import OrderTracker
from orders.task_api import OrderHandle, ProgressItems


@pytest.fixture
def order(memory_tracker: OrderTracker) -> OrderHandle:
    handle = OrderHandle(memory_tracker.place("import", {}, owner=None), memory_tracker)
    handle.start("w")
    return handle


def progress_events(order: OrderHandle) -> list[tuple[int, int | None]]:
    return [
        (e.percent, e.current)
        for e in order.tracker.order_events(order.id)
        if type(e).__name__ == "Progressed"
    ]


def test_items_pass_through_unchanged_and_in_order(order: OrderHandle) -> None:
    assert list(ProgressItems(order, ["a", "b", "c"], min_interval=0)) == ["a", "b", "c"]


def test_a_million_items_write_one_event_per_whole_percent(order: OrderHandle) -> None:
    for _ in ProgressItems(order, range(1_000_000), min_interval=0):
        pass
    assert [p for p, _ in progress_events(order)] == list(range(1, 101))


def test_a_long_interval_still_writes_the_last_report(order: OrderHandle) -> None:
    for _ in ProgressItems(order, range(10_000), min_interval=3600):
        pass
    assert progress_events(order) == [(100, 10_000)]


def test_each_report_counts_the_items_already_consumed(order: OrderHandle) -> None:
    consumed = 0
    seen: list[tuple[int, int]] = []
    tracker = order.tracker
    tracker.listeners.append(
        lambda _t, o, _e: seen.append((o.current, consumed)) if o.current is not None else None
    )
    for _ in ProgressItems(order, range(250), min_interval=0):
        consumed += 1
    assert seen and all(current == consumed_then for current, consumed_then in seen)


def test_the_length_is_taken_with_len_when_not_given(order: OrderHandle) -> None:
    assert len(ProgressItems(order, range(42))) == 42


def test_a_generator_needs_its_length(order: OrderHandle) -> None:
    with pytest.raises(TypeError):
        ProgressItems(order, (i for i in range(3)))


def test_a_generator_is_consumed_lazily(order: OrderHandle) -> None:
    produced = 0

    def rows() -> Iterator[int]:
        nonlocal produced
        for i in range(1000):
            produced += 1
            yield i

    for consumed, _ in enumerate(ProgressItems(order, rows(), length=1000, min_interval=0), 1):
        assert produced == consumed
    assert progress_events(order)[-1] == (100, 1000)


def test_fewer_items_than_announced_end_below_100(order: OrderHandle) -> None:
    assert list(ProgressItems(order, iter(range(30)), length=100, min_interval=0)) == list(
        range(30)
    )
    assert progress_events(order)[-1] == (30, 30)


def test_more_items_than_announced_all_pass_through(order: OrderHandle) -> None:
    assert len(list(ProgressItems(order, iter(range(120)), length=100, min_interval=0))) == 120
    assert progress_events(order)[-1] == (100, 100)


@pytest.mark.parametrize("empty", [[], range(0)], ids=["list", "range"])
def test_an_empty_iterable_reports_completion(order: OrderHandle, empty: list[int]) -> None:
    assert list(ProgressItems(order, empty, min_interval=0)) == []
    assert progress_events(order) == [(100, 0)]


@pytest.mark.parametrize("items", [range(1000), list(range(1000))], ids=["range", "list"])
def test_a_loop_left_early_reports_only_what_was_processed(
    order: OrderHandle, items: list[int]
) -> None:
    for item in ProgressItems(order, items, min_interval=0):
        if item == 500:  # items 0..499 were processed
            break
    assert progress_events(order)[-1] == (50, 500)


def test_fewer_items_than_percent_report_each_item(order: OrderHandle) -> None:
    for _ in ProgressItems(order, range(10), min_interval=0):
        pass
    assert progress_events(order) == [(p, p // 10) for p in range(10, 101, 10)]


@pytest.mark.parametrize("length", [1, 7, 99, 100, 101, 250, 1001])
def test_every_whole_percent_reached_is_reported_once(order: OrderHandle, length: int) -> None:
    for _ in ProgressItems(order, range(length), min_interval=0):
        pass
    percents = [p for p, _ in progress_events(order)]
    expected = sorted({(i * 100) // length for i in range(1, length + 1)} - {0})
    assert percents == expected


def test_a_range_too_long_for_len_works_with_its_length_given(order: OrderHandle) -> None:
    huge = 10**20
    items = iter(ProgressItems(order, range(huge), length=huge, min_interval=0))
    assert [next(items) for _ in range(3)] == [0, 1, 2]
