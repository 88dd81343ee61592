"""The text/event-stream wire format (WHATWG HTML, Server-sent events): frames and comments."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

MEDIA_TYPE = "text/event-stream"


def frame(event_id: int, event: str, data: Any) -> bytes:
    """One event: ``id:``, ``event:``, ``data:`` (JSON on one line), then a blank line."""
    # ensure_ascii: a lone surrogate in a task's message still encodes, and no line
    # separator can split the data line.
    body = json.dumps(data, separators=(",", ":"), cls=DjangoJSONEncoder, ensure_ascii=True)
    return f"id: {event_id}\nevent: {event}\ndata: {body}\n\n".encode()


def comment(text: str) -> bytes:
    """A comment line: ignored by clients, it keeps proxies from closing an idle stream."""
    return f": {text}\n\n".encode()


def retry(milliseconds: int) -> bytes:
    """Tell the client how long to wait before reconnecting."""
    return f"retry: {milliseconds}\n\n".encode()


def last_event_id(value: str | None) -> int | None:
    """The ``Last-Event-ID`` as a non-negative integer; None when absent; ValueError if junk."""
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise ValueError(text)
    return int(text)
