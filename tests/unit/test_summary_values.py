"""The summary row of an order: storable, and no longer than its columns."""

from __future__ import annotations

from orders.domain.order import Order
from projections.models import OrderSummary
from projections.projector import summary_values


def running_order(worker: str) -> Order:
    order = Order(resource_name="regina", context={}, owner=None)
    order.start(worker)
    return order


def test_a_worker_name_longer_than_its_column_is_cut_to_fit() -> None:
    limit = OrderSummary._meta.get_field("worker").max_length
    order = running_order("w" * 300)
    assert summary_values(order)["worker"] == "w" * limit


def test_the_event_keeps_the_whole_name() -> None:
    order = running_order("w" * 300)
    assert order.pending_events[-1].__dict__["worker"] == "w" * 300


def test_text_that_fits_is_kept_as_it_is() -> None:
    assert summary_values(running_order("celery@host:1"))["worker"] == "celery@host:1"
