"""The summary row of an order: storable, and no longer than its columns."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from orders.domain.order import Order
from projections.models import OrderSummary
from projections.projector import storable, summary_values

# JSON-like values of any shape, whose text may hold NUL anywhere (keys included).
texts = st.text(st.sampled_from("a\x00\\") | st.characters())
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=20,
)


def with_nul_replaced(value: Any) -> Any:
    """What storable should give: the same value, each NUL in its text a U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {with_nul_replaced(k): with_nul_replaced(v) for k, v in value.items()}
    if isinstance(value, list):
        return [with_nul_replaced(v) for v in value]
    return value


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


@given(json_values)
def test_storable_replaces_every_nul_and_changes_nothing_else(value: Any) -> None:
    assert storable(value) == with_nul_replaced(value)
