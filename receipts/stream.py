"""Checking an exported stream (``orders export``) against a receipt, by the server's rule.

An export record is ``projections.audit.event_record``: the envelope under client-facing
names (``order_id``, ``version``), the event's fields, ``topic``, ``prev_hash`` and ``hash``.
Mapped back to the event's stored fields, ``orders.domain.chain.chain_hash`` recomputes
each link, and the one at the receipt's version must be its head (events after the end,
such as callback deliveries, must carry on the chain). ``async_rest_client.receipts`` states
the same rule without this project's code; a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from orders.domain.chain import chain_hash
from receipts.signing import ReceiptError

# Export names of the envelope's fields, and the one name that is no stored field.
_RENAMED = {"order_id": "originator_id", "version": "originator_version"}
_NOT_STORED = {"type", "topic", "hash"}


def stored_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """The fields the event stored, from its export record (what ``chain_hash`` is over)."""
    return {_RENAMED.get(k, k): v for k, v in record.items() if k not in _NOT_STORED}


def check_stream(receipt: Mapping[str, Any], records: Iterable[Mapping[str, Any]]) -> int:
    """The number of the order's events if they chain through the receipt's head; else ReceiptError.

    Records of other orders are skipped, so a whole export can be given.
    """
    order_id = receipt["order_id"]
    previous, count, attested = "", 0, False
    for record in records:
        if record.get("order_id") != order_id:
            continue
        count += 1
        if record.get("version") != count:
            raise ReceiptError(f"event {count} is missing from the stream")
        if record.get("prev_hash") != previous:
            raise ReceiptError(f"event {count} does not follow event {count - 1}")
        previous = chain_hash(str(record.get("topic")), stored_fields(record))
        if previous != record.get("hash"):
            raise ReceiptError(f"event {count} ({record.get('type')}) was altered")
        if count == receipt["version"]:
            # The attested (terminal) event; any after it must carry on the chain.
            if previous != receipt["head"]:
                raise ReceiptError(
                    f"event {count} has hash {previous[:12]}…; the receipt attests "
                    f"{receipt['head'][:12]}…"
                )
            if record.get("timestamp") != receipt["ended_at"]:
                raise ReceiptError("the stream's event is not the one the receipt attests")
            attested = True
    if count == 0:
        raise ReceiptError(f"the stream holds no event of order {order_id}")
    if not attested:
        raise ReceiptError(
            f"the stream ends at version {count}; the receipt attests version {receipt['version']}"
        )
    return count
