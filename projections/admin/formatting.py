"""How the order admin shows values: durations, status badges, progress bars, field values."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from orders.domain.order import TERMINAL
from projections.models import OrderSummary


def format_duration(delta: timedelta | float | None) -> str:
    """A short human duration: "350 ms", "12.3 s", "4 min 12 s", "3 h 5 min", "2 d 4 h"."""
    if delta is None:
        return "—"
    seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
    seconds = max(seconds, 0.0)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    if whole < 86400:
        return f"{whole // 3600} h {whole % 3600 // 60} min"
    return f"{whole // 86400} d {whole % 86400 // 3600} h"


def order_duration(summary: OrderSummary, now: datetime | None = None) -> timedelta:
    """How long the order took; for one still queued or running, how long it has been going."""
    if summary.status in TERMINAL:
        return summary.updated - summary.created
    return (now or timezone.now()) - summary.created


def status_badge(status: str) -> SafeString:
    return format_html('<span class="order-badge order-badge--{0}">{0}</span>', status)


def progress_bar(percent: int, status: str = "") -> SafeString:
    percent = max(0, min(100, int(percent)))
    return format_html(
        '<span class="order-bar order-bar--{}" role="progressbar" aria-valuemin="0" '
        'aria-valuemax="100" aria-valuenow="{}" title="{}%">'
        '<span class="order-bar__fill" style="width: {}%"></span></span>'
        '<span class="order-bar__label">{}%</span>',
        status,
        percent,
        percent,
        percent,
        percent,
    )


def display_value(value: Any) -> str:
    """A field's value as text: JSON for structures, a dash for nothing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="milliseconds")
    return str(value)
