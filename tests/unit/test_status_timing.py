"""The status's timing rules: eta from the attempt's pace, stalled, Retry-After within bounds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from orders.domain.state import OrderState
from orders.domain.timing import eta, is_stalled, retry_after, timing

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


@pytest.fixture
def running() -> OrderState:
    """Started at T0, 25% done 50 s later (2 s per percent), its last event then."""
    return OrderState(
        order_id=uuid4(),
        resource_name="regina",
        status="running",
        progress=25,
        message="",
        current=None,
        total=None,
        resource_url="",
        context={},
        owner=None,
        worker="w",
        attempt=1,
        dispatched=True,
        cancel_requested=False,
        error_type="",
        traceback="",
        created=T0 - seconds(5),
        updated=T0 + seconds(50),
        version=4,
        chain_hash="",
        started_at=T0,
    )


def test_the_eta_extends_the_attempts_pace_to_100_percent(running: OrderState) -> None:
    assert eta(running) == T0 + seconds(50 + 75 * 2)


def test_a_running_order_at_0_percent_has_no_eta(running: OrderState) -> None:
    assert eta(replace(running, progress=0)) is None


def test_a_queued_order_has_no_eta(running: OrderState) -> None:
    assert eta(replace(running, status="queued", started_at=None, progress=0)) is None


def test_an_ended_order_has_no_eta(running: OrderState) -> None:
    assert eta(replace(running, status="completed", progress=100)) is None


def test_a_running_order_silent_past_its_limit_is_stalled(running: OrderState) -> None:
    assert is_stalled(running, running.updated + seconds(31), stall_after=30)


def test_a_running_order_silent_within_its_limit_is_not_stalled(running: OrderState) -> None:
    assert not is_stalled(running, running.updated + seconds(29), stall_after=30)


def test_a_queued_order_never_stalls(running: OrderState) -> None:
    queued = replace(running, status="queued")
    assert not is_stalled(queued, queued.updated + seconds(3600), stall_after=30)


def test_no_limit_means_never_stalled(running: OrderState) -> None:
    assert not is_stalled(running, running.updated + seconds(3600), stall_after=None)


def test_retry_after_is_the_time_to_the_next_percent(running: OrderState) -> None:
    # 2 s per percent, the last move 0.5 s ago: the next is due in 1.5 s, rounded up.
    assert retry_after(running, running.updated + seconds(0.5), default=1, ceiling=30) == 2


def test_retry_after_of_an_order_counting_few_items_is_the_time_to_the_next_item(
    running: OrderState,
) -> None:
    steps = replace(running, current=1, total=4)  # 25% per item, 2 s per percent
    assert retry_after(steps, steps.updated + seconds(10), default=1, ceiling=60) == 40


def test_retry_after_of_a_slow_order_is_capped_by_the_ceiling(running: OrderState) -> None:
    slow = replace(running, updated=T0 + seconds(25 * 600))  # 10 min per percent
    assert retry_after(slow, slow.updated, default=1, ceiling=30) == 30


def test_retry_after_of_a_fast_order_is_never_below_one_second(running: OrderState) -> None:
    fast = replace(running, updated=T0 + seconds(0.5))  # 20 ms per percent
    assert retry_after(fast, fast.updated, default=1, ceiling=30) == 1


def test_retry_after_of_an_order_late_for_its_next_move_is_one_pace(
    running: OrderState,
) -> None:
    assert retry_after(running, running.updated + seconds(7), default=1, ceiling=30) == 2


def test_retry_after_near_the_end_is_the_time_left(running: OrderState) -> None:
    nearly = replace(running, progress=99, updated=T0 + seconds(99 * 20))  # 20 s per percent
    # 19 s in, 1 s to the eta: sooner than a next percent that is the end itself.
    assert retry_after(nearly, nearly.updated + seconds(19), default=1, ceiling=30) == 1


def test_retry_after_without_a_pace_is_the_default(running: OrderState) -> None:
    queued = replace(running, status="queued", progress=0, started_at=None)
    assert retry_after(queued, queued.updated, default=3, ceiling=30) == 3


def test_an_ended_order_has_no_retry_after(running: OrderState) -> None:
    done = replace(running, status="failed")
    assert retry_after(done, done.updated, default=1, ceiling=30) is None


def test_timing_reports_the_last_event_as_the_states_update(running: OrderState) -> None:
    assert timing(running, running.updated, 30, 1, 30).last_event_at == running.updated


def test_each_start_of_an_order_marks_when_its_current_attempt_began() -> None:
    from orders.domain.order import Order

    order = Order(resource_name="regina", context={}, owner=None)
    order.start("w1")
    first = order.started_at
    order.retry("flaky")
    order.start("w2")
    assert (first, order.started_at) == (
        order.pending_events[1].timestamp,
        order.pending_events[3].timestamp,
    )
