"""Audit: events as records, replay, and verification of hash chains and read models."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from orders.application.tracker import OrderTracker
from orders.domain.order import Order, Status, event_fields, event_type, recorded_hash_is_intact
from projections.family import expected_children_progress
from projections.models import OrderEvent, OrderSummary
from projections.projector import summary_values


def event_record(domain_event: Any) -> dict[str, Any]:
    """Everything an event stored, as JSON-ready values (for --json and export)."""
    stored = domain_event.__dict__
    return {
        "order_id": str(domain_event.originator_id),
        "version": domain_event.originator_version,
        "type": event_type(domain_event),
        "topic": type(domain_event).TOPIC,
        "timestamp": domain_event.timestamp.isoformat(),
        # The first event's too: the hash covers it, so an export must carry it.
        **{k: stored[k] for k in ("originator_topic",) if k in stored},
        **event_fields(domain_event),
        "prev_hash": stored.get("prev_hash", ""),
        "hash": stored.get("hash", ""),
    }


def state_record(order: Order) -> dict[str, Any]:
    """The order's state (as the read model would hold it), JSON-ready."""
    state = summary_values(order)
    state["order_id"] = str(order.id)
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in state.items()}


@dataclass(frozen=True)
class Finding:
    order_id: UUID
    kind: str  # "broken-chain" or "drifted"
    detail: str

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}: {self.detail}"


@dataclass
class Verification:
    orders: int = 0
    events: int = 0
    findings: list[Finding] | None = None

    def __post_init__(self) -> None:
        self.findings = self.findings or []


def verify_chain(order_id: UUID, events: list[Any]) -> list[Finding]:
    """Recompute the stream's hash chain; report each event where it breaks."""
    findings = []
    previous = ""
    for e in events:
        stored = e.__dict__
        version = e.originator_version
        if stored.get("prev_hash", "") != previous:
            findings.append(
                Finding(order_id, "broken-chain", f"event {version} does not follow event "
                        f"{version - 1} (its prev_hash differs from that event's hash)")
            )  # fmt: skip
        if not recorded_hash_is_intact(e):
            findings.append(
                Finding(order_id, "broken-chain", f"event {version} ({event_type(e)}) was "
                        "altered: its content does not match its recorded hash")
            )  # fmt: skip
        previous = stored.get("hash", "")
    return findings


def verify_read_models(order: Order, events: list[Any]) -> list[Finding]:
    """Compare the replayed state and the events with the read models' rows."""
    findings = []
    row = OrderSummary.objects.filter(order_id=order.id).values().first()
    if row is None:
        return [Finding(order.id, "drifted", "no summary row in the read model")]
    expected = summary_values(order)
    if order.family is not None:
        # A parent's progress is its children's (projections/family.py): check the sum
        # the projection kept against its children's rows. The progress shown is made
        # of it and of what was shown before (it never goes back), until it completes.
        expected["children_progress"] = expected_children_progress(order.id)
        if order.status != Status.COMPLETED and order.family.weight:
            expected["progress"] = row["progress"]
    else:
        expected.pop("children_progress")
    drifted = sorted(k for k, v in expected.items() if row.get(k) != v)
    if drifted:
        details = ", ".join(f"{k}: read model {row.get(k)!r} != stream {expected[k]!r}"
                            for k in drifted)  # fmt: skip
        findings.append(Finding(order.id, "drifted", details))
    history = list(
        OrderEvent.objects.filter(order_id=order.id)
        .order_by("version")
        .values_list("version", "type")
    )
    if history != [(e.originator_version, event_type(e)) for e in events]:
        findings.append(
            Finding(order.id, "drifted", f"history has {len(history)} rows, stream {len(events)}")
        )
    return findings


def verify_order(tracker: OrderTracker, order_id: UUID) -> tuple[int, list[Finding]]:
    """Verify one order from the event store; return its number of events and the findings.

    An order that moves while it is checked (a live system) is checked again, so that
    only a read model that really disagrees with the record is reported.
    """
    for _ in range(3):
        count, findings = _verify_order_once(tracker, order_id)
        if not any(f.kind == "drifted" for f in findings):
            break
        if len(tracker.order_events(order_id)) == count:
            break  # it did not move: the drift is real
    return count, findings


def _verify_order_once(tracker: OrderTracker, order_id: UUID) -> tuple[int, list[Finding]]:
    events = tracker.order_events(order_id)
    findings = verify_chain(order_id, events)
    versions = [e.originator_version for e in events]
    if versions != list(range(1, len(events) + 1)):
        missing = sorted(set(range(1, max(versions, default=0) + 1)) - set(versions))
        findings.append(Finding(order_id, "broken-chain", f"events missing: {missing}"))
        return len(events), findings  # a stream with holes cannot be replayed
    if events:
        findings += verify_read_models(tracker.get_order(order_id, version=len(events)), events)
    return len(events), findings


def order_ids_in_store(tracker: OrderTracker) -> Iterator[UUID]:
    """Every order id in the event store, once, in the order the orders were placed."""
    seen: set[UUID] = set()
    for domain_event in tracker.all_events():
        if domain_event.originator_id not in seen:
            seen.add(domain_event.originator_id)
            yield domain_event.originator_id


def verify(
    tracker: OrderTracker,
    order_ids: Iterator[UUID] | list[UUID],
    on_order: Callable[[int], None] | None = None,
) -> Verification:
    result = Verification()
    for order_id in order_ids:
        count, findings = verify_order(tracker, order_id)
        result.orders += 1
        result.events += count
        assert result.findings is not None
        result.findings.extend(findings)
        if on_order:
            on_order(count)
    return result
