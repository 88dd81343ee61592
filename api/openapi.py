"""Schema post-processing: answers that come from the HTTP server in front, not from a view."""

from __future__ import annotations

from typing import Any


def document_server_limits(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Every operation may get 414 from gunicorn when its URL is longer than it accepts."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            operation.setdefault("responses", {}).setdefault(
                "414", {"description": "URI too long (answered by the HTTP server)."}
            )
    return result
