"""The callback's rules in the Order aggregate: what is owed, when settled, what is refused."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest

from orders.domain.callbacks import CallbackRejectedError
from orders.domain.errors import CallbackNotOwedError, InvalidTransitionError, OrderClosedError
from orders.domain.order import Order, event_fields, event_type, recorded_hash_is_intact

URL = "https://hooks.example.com/orders"


@pytest.fixture
def order() -> Order:
    """A running order whose callback asks for progress and completion."""
    placed = Order(resource_name="regina", context={}, owner=None)
    placed.request_callback(URL, ["progressed", "completed"], "https://api.example.com/")
    placed.start("worker-1")
    return placed


@pytest.fixture
def completed(order: Order) -> Order:
    order.report_progress(50)  # version 4
    order.complete("/pizzas/1/")  # version 5
    return order


def test_each_event_of_a_chosen_kind_is_owed_a_delivery(completed: Order) -> None:
    assert completed.callback is not None
    assert completed.callback.owed == (4, 5)


def test_an_event_of_a_kind_not_chosen_is_owed_nothing(order: Order) -> None:
    order.retry("flaky oven")
    assert order.callback is not None and order.callback.owed == ()


def test_an_attempt_is_recorded_after_the_order_ended(completed: Order) -> None:
    completed.record_callback_delivered(5, 200, 12)
    assert event_type(completed.pending_events[-1]) == "CallbackDelivered"
    assert completed.status == "completed"


def test_the_work_is_still_closed_after_a_callback_event(completed: Order) -> None:
    completed.record_callback_delivered(5, 200, 12)
    with pytest.raises(OrderClosedError):
        completed.fail("late")


def test_a_delivered_event_is_no_longer_due(completed: Order) -> None:
    completed.record_callback_delivered(5, 204, 3)
    assert completed.callback is not None and not completed.callback.is_due(5)


def test_attempts_are_numbered_per_event(completed: Order) -> None:
    completed.record_callback_failed(5, "HTTP 500", 500, 7, 2.0)
    completed.record_callback_delivered(5, 200, 4)
    assert [event_fields(e)["attempt"] for e in completed.pending_events[-2:]] == [1, 2]


def test_a_failure_with_a_retry_keeps_the_event_due_at_the_retry_time(completed: Order) -> None:
    completed.record_callback_failed(5, "HTTP 500", 500, 7, 30.0)
    failed = completed.pending_events[-1]
    assert completed.callback is not None
    assert completed.callback.next_at[5] == failed.timestamp + timedelta(seconds=30)


def test_a_failure_without_a_retry_gives_the_event_up(completed: Order) -> None:
    completed.record_callback_failed(5, "timed out after 10s", None, 10000, None)
    assert completed.callback is not None and not completed.callback.is_due(5)


def test_a_410_stops_every_delivery_of_the_order(completed: Order) -> None:
    completed.record_callback_failed(4, "HTTP 410", 410, 5, 2.0)
    ledger = completed.callback
    assert ledger is not None
    assert (
        ledger.stopped,
        ledger.is_due(5),
        event_fields(completed.pending_events[-1])["retry_in"],
    ) == (
        True,
        False,
        None,
    )


def test_a_delivery_of_an_event_not_owed_is_refused(completed: Order) -> None:
    with pytest.raises(CallbackNotOwedError):
        completed.record_callback_delivered(3, 200, 1)  # Started


def test_a_delivery_of_an_order_without_callback_is_refused() -> None:
    plain = Order(resource_name="regina", context={}, owner=None)
    plain.cancel()
    with pytest.raises(CallbackNotOwedError):
        plain.record_callback_delivered(2, 200, 1)


def test_a_second_callback_is_refused(order: Order) -> None:
    with pytest.raises(InvalidTransitionError):
        order.request_callback(URL, ["completed"], "")


def test_a_callback_url_that_is_not_http_is_refused_naming_callback_url() -> None:
    placed = Order(resource_name="regina", context={}, owner=None)
    with pytest.raises(CallbackRejectedError) as refused:
        placed.request_callback("ftp://example.com/x", ["completed"], "")
    assert refused.value.field == "callback.url"


def test_an_unknown_event_kind_is_refused_naming_callback_events() -> None:
    placed = Order(resource_name="regina", context={}, owner=None)
    with pytest.raises(CallbackRejectedError) as refused:
        placed.request_callback(URL, ["completed", "started"], "")
    assert refused.value.field == "callback.events"


def test_an_owed_event_never_attempted_is_overdue_after_the_grace(completed: Order) -> None:
    ledger = completed.callback
    assert ledger is not None
    at = completed.modified_on
    assert ledger.overdue(at + timedelta(seconds=59), timedelta(seconds=60)) == []
    assert ledger.overdue(at + timedelta(seconds=61), timedelta(seconds=60)) == [4, 5]


def test_a_retry_not_yet_due_is_not_overdue(completed: Order) -> None:
    completed.record_callback_failed(5, "HTTP 503", 503, 7, 600.0)
    completed.record_callback_delivered(4, 200, 3)
    ledger = completed.callback
    assert ledger is not None
    assert ledger.overdue(completed.modified_on + timedelta(seconds=120), timedelta(60)) == []


def test_callback_events_keep_the_hash_chain(completed: Order) -> None:
    completed.record_callback_failed(5, "HTTP 500", 500, 7, 1.0)
    completed.record_callback_delivered(5, 200, 4)
    events = completed.collect_events()
    assert all(recorded_hash_is_intact(e) for e in events)
    assert all(a.__dict__["prev_hash"] == b.__dict__["hash"] for b, a in pairwise(events))


def test_a_stream_without_a_callback_replays_with_none() -> None:
    plain = Order(resource_name="regina", context={}, owner=None)
    replayed = None
    for e in plain.collect_events():
        replayed = e.mutate(replayed)
    assert replayed is not None and replayed.callback is None


@pytest.mark.parametrize(
    "url",
    ["http://[::1/x", "http://example.com:99999/x", "http://exa mple.com/x", "http://\x00.com/"],
)
def test_a_malformed_callback_url_is_refused_naming_callback_url(url: str) -> None:
    placed = Order(resource_name="regina", context={}, owner=None)
    with pytest.raises(CallbackRejectedError) as refused:
        placed.request_callback(url, ["completed"], "")
    assert refused.value.field == "callback.url"


def test_an_attempt_leaves_the_time_of_the_works_last_event(completed: Order) -> None:
    ended = completed.modified_on
    completed.record_callback_failed(5, "HTTP 500", 500, 7, 1.0)
    completed.record_callback_delivered(5, 200, 4)
    assert (completed.modified_on, completed.version) == (ended, 7)
