"""The order admin's timeline and chart, built from history rows without any database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from projections.admin.formatting import format_duration
from projections.admin.timeline import build_chart, build_timeline
from projections.models import OrderEvent

START = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def events(*specs: tuple[float, str, dict[str, Any]]) -> list[OrderEvent]:
    """History rows of one order: (seconds after START, type, data) each."""
    order_id = uuid4()
    return [
        OrderEvent(
            order_id=order_id,
            version=version,
            type=kind,
            timestamp=START + timedelta(seconds=seconds),
            data=data,
        )
        for version, (seconds, kind, data) in enumerate(specs, start=1)
    ]


def timeline(*specs: tuple[float, str, dict[str, Any]]) -> list[Any]:
    return build_timeline(events(*specs), lambda version: f"/replay/{version}/")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.35, "350 ms"),
        (12.34, "12.3 s"),
        (252, "4 min 12 s"),
        (11100, "3 h 5 min"),
        (187200, "2 d 4 h"),
    ],
)
def test_durations_read_in_the_largest_sensible_units(seconds: float, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text


def test_each_event_shows_the_gap_since_the_previous_one() -> None:
    rows = timeline((0, "Queued", {}), (1.5, "Started", {}), (76.5, "Completed", {}))
    assert [row.gap_text for row in rows] == ["", "+1.5 s", "+1 min 15 s"]


def test_a_new_attempt_starts_the_progress_again_from_zero() -> None:
    rows = timeline(
        (0, "Queued", {}),
        (1, "Started", {"attempt": 1}),
        (2, "Progressed", {"percent": 60}),
        (3, "Retried", {"attempt": 1, "reason": "timeout"}),
        (4, "Started", {"attempt": 2}),
        (5, "Progressed", {"percent": 20}),
        (6, "Completed", {"resource_url": "/r/"}),
    )
    assert [row.progress for row in rows] == [0, 0, 60, 60, 0, 20, 100]


def test_a_failure_keeps_its_message_and_traceback_out_of_the_plain_fields() -> None:
    (row,) = timeline((0, "Failed", {"message": "boom", "error_type": "E", "traceback": "T"}))
    assert (row.failure_message, row.traceback, row.fields) == ("boom", "T", [("error_type", "E")])


def test_the_chart_spans_the_plot_from_the_first_event_to_the_last() -> None:
    chart = build_chart(timeline((0, "Queued", {}), (10, "Completed", {})))
    assert chart is not None
    assert [(p.x, p.y) for p in chart.points] == [
        (chart.left, chart.bottom),
        (chart.right, chart.top),
    ]


def test_the_chart_draws_progress_as_steps() -> None:
    chart = build_chart(timeline((0, "Queued", {}), (10, "Completed", {})))
    assert chart is not None
    left, right, top, bottom = (
        float(v) for v in (chart.left, chart.right, chart.top, chart.bottom)
    )
    assert chart.line == f"{left},{bottom} {right},{bottom} {right},{top}"


def test_events_of_the_same_instant_are_spread_along_the_chart() -> None:
    chart = build_chart(timeline((0, "Queued", {}), (0, "Started", {}), (0, "Completed", {})))
    assert chart is not None
    assert len({p.x for p in chart.points}) == 3


def test_an_order_without_events_has_no_chart() -> None:
    assert build_chart([]) is None
