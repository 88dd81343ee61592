"""The order's one shape: the aggregate's state as plain data, and the read model built on it."""

from __future__ import annotations

from orders.domain.order import Order
from orders.domain.state import FIELD_NAMES, progress_after, state_of
from projections.models import OrderSummary


def test_the_summary_row_has_the_columns_of_the_order_state_and_the_childrens_sum() -> None:
    # children_progress is the projection's own (projections/family.py), not the order's.
    columns = {f.attname for f in OrderSummary._meta.concrete_fields}
    assert columns == {*FIELD_NAMES, "children_progress"}


def test_the_state_of_a_new_order_holds_empty_text_not_none() -> None:
    state = state_of(Order(resource_name="regina", context={"a": 1}, owner=None))
    assert (state.status, state.message, state.worker, state.version) == ("queued", "", "", 1)


def test_the_state_follows_the_aggregate_through_its_life() -> None:
    order = Order(resource_name="regina", context={}, owner="7")
    order.start("w:1")
    order.report_progress(40, "baking", current=2, total=5)
    state = state_of(order)
    assert (state.status, state.progress, state.message, state.current, state.attempt) == (
        "running",
        40,
        "baking",
        2,
        1,
    )
    assert state.chain_hash == order.chain_hash != ""


def test_progress_after_an_event_is_the_rule_the_aggregate_applies() -> None:
    assert progress_after("Progressed", {"percent": 30}, 10) == 30
    assert progress_after("Started", {}, 80) == 0
    assert progress_after("Completed", {}, 40) == 100
    assert progress_after("Dispatched", {}, 25) == 25
