"""The hash chain of an order's events: each event's hash covers the previous one's."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any
from uuid import UUID


def _canonical(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot hash {type(value).__name__}")


def chain_hash(topic: str, fields: dict[str, Any]) -> str:
    """SHA-256 over the previous event's hash and this event's canonical content."""
    content = {k: v for k, v in fields.items() if k != "hash"}
    content["topic"] = topic
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=_canonical)
    return hashlib.sha256((fields.get("prev_hash", "") + text).encode()).hexdigest()
