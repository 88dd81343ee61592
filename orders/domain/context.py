"""What an order's context may hold: a JSON object the event store can keep and read back."""

from __future__ import annotations

import json
from typing import Any

from orders.domain.errors import OrderError


class ContextRejectedError(OrderError):
    """The context cannot be recorded; ``too_large`` tells a size limit from a bad value."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def check_context(context: Any, max_bytes: int) -> None:
    """Refuse a context that is not a JSON object the event store can keep as it is.

    Each rule is a limit of the store, not a taste: NaN and infinities are not JSON; an
    object whose keys are exactly ``_type_`` and ``_data_`` is how eventsourcing's JSON
    transcoder tags its own values, so it would be read back as something else; NUL
    cannot be held by PostgreSQL's text and jsonb. ``max_bytes`` bounds the JSON text.
    """
    if not isinstance(context, dict):
        raise ContextRejectedError(f"context must be a JSON object, not {type(context).__name__}.")
    try:
        text = json.dumps(context, allow_nan=False)
    except ValueError:
        raise ContextRejectedError("context must not hold NaN or infinite numbers.") from None
    if _has_reserved_keys(context):
        raise ContextRejectedError(
            "context must not hold an object whose keys are exactly _type_ and _data_ "
            "(the event store's own encoding)."
        )
    if len(text.encode()) > max_bytes:
        raise ContextRejectedError(f"context exceeds {max_bytes} bytes.", too_large=True)
    if _holds_nul(context):
        raise ContextRejectedError("context must not contain NUL characters.")


def _holds_nul(value: Any) -> bool:
    # Looked for in the values themselves: in the JSON text, a string holding a backslash
    # and "u0000" would look like an escaped NUL.
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _has_reserved_keys(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {"_type_", "_data_"} or any(
            _has_reserved_keys(v) for v in value.values()
        )
    if isinstance(value, list):
        return any(_has_reserved_keys(v) for v in value)
    return False
