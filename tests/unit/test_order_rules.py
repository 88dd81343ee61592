"""The Order aggregate's life cycle rules, with no store at all."""

from __future__ import annotations

import pytest
from eventsourcing.utils import resolve_topic
from hypothesis import given
from hypothesis import strategies as st

from orders.domain.errors import (
    CancelRequestedError,
    DuplicateDeliveryError,
    InvalidProgressError,
    InvalidTransitionError,
    OrderClosedError,
)
from orders.domain.order import EVENT_CLASSES, TERMINAL, Order, Status


@pytest.fixture
def order() -> Order:
    return Order(resource_name="regina", context={"steps": 3}, owner="7")


@pytest.fixture
def running(order: Order) -> Order:
    order.start("worker-1")
    return order


def test_a_new_order_is_queued_with_its_context(order: Order) -> None:
    assert (order.status, order.context, order.owner, order.version) == (
        Status.QUEUED,
        {"steps": 3},
        "7",
        1,
    )


def test_starting_makes_it_running_and_counts_attempts(order: Order) -> None:
    order.start("worker-1")
    order.start("worker-2")
    assert (order.status, order.worker, order.attempt) == (Status.RUNNING, "worker-2", 2)


def test_progress_is_recorded_with_message_and_counts(running: Order) -> None:
    running.report_progress(40, "in the oven", current=4, total=10)
    assert (running.progress, running.message, running.current, running.total) == (
        40,
        "in the oven",
        4,
        10,
    )


def test_progress_never_goes_backwards_and_writes_nothing(running: Order) -> None:
    running.report_progress(50)
    running.collect_events()
    with pytest.raises(InvalidProgressError):
        running.report_progress(49)
    assert running.collect_events() == []


@pytest.mark.parametrize("percent", [-1, 101, 1000])
def test_progress_outside_0_to_100_is_refused(running: Order, percent: int) -> None:
    with pytest.raises(InvalidProgressError):
        running.report_progress(percent)


@pytest.mark.parametrize("percent", [12.5, "50", True, None])
def test_progress_must_be_an_integer(running: Order, percent: object) -> None:
    with pytest.raises(InvalidProgressError):
        running.report_progress(percent)  # type: ignore[arg-type]


def test_progress_before_start_is_refused(order: Order) -> None:
    with pytest.raises(InvalidTransitionError):
        order.report_progress(10)


def test_completing_a_queued_order_is_refused(order: Order) -> None:
    with pytest.raises(InvalidTransitionError):
        order.complete("/pizzas/1/")


def test_completion_records_the_resource_and_full_progress(running: Order) -> None:
    running.complete("/pizzas/1/")
    assert (running.status, running.progress, running.resource_url) == (
        Status.COMPLETED,
        100,
        "/pizzas/1/",
    )


def test_a_queued_order_can_fail(order: Order) -> None:
    order.fail("could not launch", "BrokerError")
    assert (order.status, order.message, order.error_type) == (
        Status.FAILED,
        "could not launch",
        "BrokerError",
    )


@pytest.mark.parametrize("ending", ["complete", "fail"])
def test_nothing_is_appended_after_the_order_ended(running: Order, ending: str) -> None:
    if ending == "complete":
        running.complete("/pizzas/1/")
    else:
        running.fail("burnt")
    running.collect_events()
    commands = [
        lambda: running.start("w"),
        lambda: running.report_progress(100),
        lambda: running.complete("/x/"),
        lambda: running.fail("again"),
    ]
    for command in commands:
        with pytest.raises(OrderClosedError):
            command()
    assert running.collect_events() == []


def test_every_event_class_has_a_stable_topic_that_resolves_to_it() -> None:
    topics = [cls.TOPIC for cls in EVENT_CLASSES]
    assert all(t.startswith("async_rest.Order.") for t in topics)
    assert len(set(topics)) == len(topics)
    assert [resolve_topic(t) for t in topics] == list(EVENT_CLASSES)


def test_recorded_events_carry_the_stable_topic_not_the_module_path(running: Order) -> None:
    from eventsourcing.utils import get_topic

    assert {get_topic(type(e)) for e in running.collect_events()} == {
        "async_rest.Order.Queued",
        "async_rest.Order.Started",
    }


commands = st.lists(
    st.one_of(
        st.tuples(st.just("dispatch"), st.sampled_from(["d1", "d2"])),
        st.tuples(st.just("start"), st.sampled_from(["d1", "d2", None])),
        st.tuples(st.just("progress"), st.integers(min_value=-5, max_value=105)),
        st.tuples(st.just("retry")),
        st.tuples(st.just("cancel")),
        st.tuples(st.just("confirm_cancelled")),
        st.tuples(st.just("complete")),
        st.tuples(st.just("fail")),
    ),
    max_size=40,
)

REFUSALS = (
    OrderClosedError,
    InvalidTransitionError,
    InvalidProgressError,
    CancelRequestedError,
    DuplicateDeliveryError,
)


def run_command(order: Order, command: tuple) -> None:
    name, *args = command
    if name == "dispatch":
        order.dispatch(args[0])
    elif name == "start":
        order.start("w", args[0])
    elif name == "progress":
        order.report_progress(args[0])
    elif name == "retry":
        order.retry("flaky")
    elif name == "cancel":
        order.cancel("no longer needed")
    elif name == "confirm_cancelled":
        order.confirm_cancelled()
    elif name == "complete":
        order.complete("/done/")
    else:
        order.fail("boom")


@given(commands)
def test_no_sequence_of_commands_reaches_an_invalid_state(sequence: list[tuple]) -> None:
    order = Order(resource_name="r", context={}, owner=None)
    events = list(order.collect_events())
    for command in sequence:
        before = (order.status, order.progress, order.version, order.attempt)
        try:
            run_command(order, command)
        except REFUSALS:
            assert (order.status, order.progress, order.version, order.attempt) == before
            continue
        new = order.collect_events()
        events.extend(new)
        if not new:
            continue  # a moot command (a late dispatch, a repeated cancel request)
        assert before[0] not in TERMINAL
        assert order.version == before[2] + 1
        assert 0 <= order.progress <= 100
        if command[0] == "start":
            assert (order.attempt, order.progress) == (before[3] + 1, 0)
        else:
            assert order.progress >= before[1]
    # The stream is gap-free and its hash chain links every event to the one before.
    assert [e.originator_version for e in events] == list(range(1, len(events) + 1))
    hashes = [(e.__dict__["prev_hash"], e.__dict__["hash"]) for e in events]
    assert all(prev == (hashes[i - 1][1] if i else "") for i, (prev, _) in enumerate(hashes))


def test_a_second_message_cannot_start_an_order_another_message_started() -> None:
    order = Order(resource_name="r", context={}, owner=None)
    order.start("w1", "d1")
    with pytest.raises(DuplicateDeliveryError):
        order.start("w2", "d2")
    order.start("w1-again", "d1")  # a redelivery of the first message resumes it
    assert (order.attempt, order.dispatch_id) == (2, "d1")
