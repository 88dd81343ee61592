"""How callback events read in ``orders history``, ``orders callbacks`` and the admin's action."""

from __future__ import annotations

from typing import Any

from orders.domain.order import Order, event_fields, event_type


def detail(kind: str, fields: dict[str, Any]) -> str:
    """The one-line detail of a callback event in ``orders history`` ("" for other kinds)."""
    if kind == "CallbackRequested":
        return f"{fields['url']} on {', '.join(fields['events'])}"
    if kind == "CallbackDelivered":
        code, took = fields["status_code"], fields["duration_ms"]
        return f"event {fields['event_version']}: {code} in {took} ms"
    if kind == "CallbackFailed":
        retry = fields.get("retry_in")
        then = f", retry in {retry:g}s" if retry is not None else ", no more attempts"
        return f"event {fields['event_version']}: {fields['reason']}{then}"
    return ""


def attempt_lines(events: list[Any]) -> list[str]:
    """``orders callbacks``: the callback asked for, then each owed event and its attempts."""
    by_version = {e.originator_version: e for e in events}
    lines: list[str] = []
    for e in events:
        kind, fields = event_type(e), event_fields(e)
        if kind == "CallbackRequested":
            lines.append(f"callback {fields['url']}  events: {', '.join(fields['events'])}")
        elif kind in ("CallbackDelivered", "CallbackFailed"):
            triggering = by_version.get(fields["event_version"])
            what = event_type(triggering) if triggering is not None else "?"
            outcome = "delivered" if kind == "CallbackDelivered" else "failed"
            why = detail(kind, fields).split(": ", 1)[-1] if kind == "CallbackFailed" else ""
            when = f"{e.timestamp:%Y-%m-%d %H:%M:%S.%f}"[:-3]
            line = (
                f"  event {fields['event_version']:>4} {what:<10} attempt {fields['attempt']:>2}"
                f"  {when}  {outcome:<9}  {fields.get('status_code') or '-':>3}"
                f"  {fields['duration_ms']:>6} ms  {why}"
            )
            lines.append(line.rstrip())
    return lines


def pending(order: Order) -> list[int]:
    """Versions of the order's events still owed a delivery (not delivered, not given up)."""
    ledger = order.callback
    if ledger is None:
        return []
    return [v for v in ledger.owed if ledger.is_due(v)]
