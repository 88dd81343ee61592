"""An order's timeline (one row per event) and its inline SVG chart of progress over time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from django.utils import timezone

from orders.domain.state import progress_after
from projections.admin.formatting import display_value, format_duration
from projections.models import OrderEvent


@dataclass
class TimelineEntry:
    """One event of the order as the timeline shows it."""

    event: OrderEvent
    gap: timedelta | None
    progress: int
    replay_url: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    failure_message: str = ""
    traceback: str = ""
    show_date: bool = False

    @property
    def local_time(self) -> datetime:
        return timezone.localtime(self.event.timestamp)

    @property
    def time_text(self) -> str:
        """The time of day to the millisecond (the date is shown when it changes)."""
        return self.local_time.strftime("%H:%M:%S.%f")[:-3]

    @property
    def gap_text(self) -> str:
        return "" if self.gap is None else "+" + format_duration(self.gap)

    @property
    def traceback_lines(self) -> int:
        return len(self.traceback.splitlines())


@dataclass
class ChartPoint:
    x: float
    y: float
    version: int
    type: str
    progress: int
    url: str


@dataclass
class ProgressChart:
    """Coordinates of an inline SVG chart of progress against time (no JS, nothing fetched)."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    points: list[ChartPoint]
    line: str
    elapsed: str
    half_elapsed: str

    @property
    def bottom(self) -> int:
        return self.top + self.plot_height

    @property
    def right(self) -> int:
        return self.left + self.plot_width

    @property
    def middle(self) -> int:
        return self.top + self.plot_height // 2

    @property
    def center(self) -> int:
        return self.left + self.plot_width // 2


# A failure's fields that the timeline shows on their own: the message first, the
# traceback folded away.
_FAILURE_FIELDS = {"message", "traceback"}


def build_timeline(events: Sequence[OrderEvent], replay_url: Any) -> list[TimelineEntry]:
    """The timeline rows of an order's events (oldest first); ``replay_url(version)``."""
    entries: list[TimelineEntry] = []
    previous: OrderEvent | None = None
    progress = 0
    for event in events:
        data = dict(event.data or {})
        progress = progress_after(event.type, data, progress)
        entry = TimelineEntry(
            event=event,
            gap=None if previous is None else event.timestamp - previous.timestamp,
            progress=progress,
            replay_url=replay_url(event.version),
        )
        if event.type == "Failed":
            entry.failure_message = str(data.get("message") or "")
            entry.traceback = str(data.get("traceback") or "")
            data = {k: v for k, v in data.items() if k not in _FAILURE_FIELDS}
        # A field with no value (no owner, no item count) is noise on the timeline.
        entry.fields = [
            (name, display_value(value)) for name, value in data.items() if value not in (None, "")
        ]
        entry.show_date = previous is None or (
            timezone.localtime(previous.timestamp).date() != entry.local_time.date()
        )
        entries.append(entry)
        previous = event
    return entries


def build_chart(
    entries: Sequence[TimelineEntry], width: int = 820, height: int = 190
) -> ProgressChart | None:
    """Progress (0-100 %) against time since the first event, as a step line."""
    if not entries:
        return None
    left, top, right_margin, bottom_margin = 44, 12, 16, 26
    plot_width, plot_height = width - left - right_margin, height - top - bottom_margin
    start = entries[0].event.timestamp
    span = (entries[-1].event.timestamp - start).total_seconds()
    points: list[ChartPoint] = []
    for index, entry in enumerate(entries):
        offset = (entry.event.timestamp - start).total_seconds()
        # Events written in the same instant would sit on one another: spread them.
        share = offset / span if span > 0 else index / max(len(entries) - 1, 1)
        points.append(
            ChartPoint(
                x=round(left + share * plot_width, 1),
                y=round(top + (100 - entry.progress) / 100 * plot_height, 1),
                version=entry.event.version,
                type=entry.event.type,
                progress=entry.progress,
                url=entry.replay_url,
            )
        )
    # A step line: progress holds its value until the next event changes it.
    coords = [f"{points[0].x},{points[0].y}"]
    for before, after in pairwise(points):
        coords.append(f"{after.x},{before.y}")
        coords.append(f"{after.x},{after.y}")
    return ProgressChart(
        width=width,
        height=height,
        left=left,
        top=top,
        plot_width=plot_width,
        plot_height=plot_height,
        points=points,
        line=" ".join(coords),
        elapsed=format_duration(span),
        half_elapsed=format_duration(span / 2),
    )
