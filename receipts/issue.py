"""Issuing a receipt from an order's stream: checked against its own hash chain, then signed.

Nothing is stored. An ended order appends no more events, so its claims are fixed, and
Ed25519 is deterministic (RFC 8032): signing them again with the same key gives the same
bytes. Signing when asked therefore yields the receipt a stored one would be, without a
write on the save path, a migration, or a window where a crash leaves an ended order
without its receipt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orders.application.tracker import replay
from orders.domain.order import Order, event_type, recorded_hash_is_intact
from receipts.signing import KeyRing, sign


class NotEndedError(Exception):
    """The order is still queued or running: there is nothing to attest yet."""

    def __init__(self, status: str) -> None:
        super().__init__(f"the order is {status}")
        self.status = status


class BrokenRecordError(Exception):
    """The stored stream does not follow its own hash chain: it is not signed."""


def check_chain(events: Sequence[Any]) -> None:
    """Refuse a stream whose events do not link up or whose content was altered."""
    previous = ""
    for expected_version, domain_event in enumerate(events, start=1):
        stored = domain_event.__dict__
        if domain_event.originator_version != expected_version:
            raise BrokenRecordError(f"event {expected_version} is missing")
        if stored.get("prev_hash", "") != previous or not recorded_hash_is_intact(domain_event):
            raise BrokenRecordError(
                f"event {expected_version} ({event_type(domain_event)}) breaks the hash chain"
            )
        previous = stored["hash"]


def claims_of(events: Sequence[Any]) -> dict[str, Any]:
    """What the receipt attests, from the stream alone (the read models are not trusted).

    The terminal event, not the stream's last: events about the order rather than its work
    (callback deliveries, an erased context) may follow it, and a receipt stays the same
    whatever comes after; its stream check is of the chain up to that event.
    """
    order: Order | None = None
    for position, domain_event in enumerate(events):
        order = replay(order, [domain_event])
        assert isinstance(order, Order)
        if order.is_terminal:
            return {
                "order_id": str(order.id),
                "resource_name": order.resource_name,
                "status": str(order.status),
                "version": order.version,
                "head": order.chain_hash,
                "ended_at": events[position].timestamp.isoformat(),
                "resource_url": order.resource_url or "",
            }
    raise NotEndedError(str(order.status if order is not None else "unknown"))


def issue(events: Sequence[Any], ring: KeyRing) -> dict[str, Any]:
    """The signed receipt of an ended order's stream (oldest event first)."""
    if not events:
        raise LookupError("no events")
    claims = claims_of(events)  # NotEndedError first: a live order is a 409, not a 500
    check_chain(events)
    return sign(claims, ring)
