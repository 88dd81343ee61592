"""OpenAPI for the live updates: the two event streams (async views) and long-poll's headers."""

from __future__ import annotations

from typing import Any

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
SSE = "text/event-stream"


def problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM_REF}},
    }


LAST_EVENT_ID = {
    "in": "header",
    "name": "Last-Event-ID",
    "required": False,
    "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
}

STREAM_TEXT = (
    "Server-Sent Events (`text/event-stream`). Each event has `id:` {id}, `event:` the event's "
    "type (`Queued`, `Started`, `Progressed`, ...) and `data:` the event as JSON, as the "
    "history shows it{extra}. A comment line (`: keep-alive`) is sent when nothing happened "
    "for `ASYNC_REST_STREAM_KEEPALIVE` seconds. Served by the ASGI application "
    "(`config.asgi`); a WSGI server answers 501."
)


def _stream_operation(
    operation_id: str, summary: str, description: str, parameters: list[dict[str, Any]],
    answers: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": ["async"],
        "parameters": parameters,
        "security": [{"tokenAuth": []}, {"cookieAuth": []}],
        "responses": {
            "200": {
                "description": "The stream.",
                "content": {SSE: {"schema": {"type": "string"}}},
            },
            "400": problem("Last-Event-ID is not a non-negative integer (field: Last-Event-ID)."),
            "401": problem("A missing or bad token."),
            **answers,
            "501": problem("This server is WSGI: long-poll or poll the order instead."),
        },
    }


def document_streams(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Add the two streams, and ``Prefer``/``Preference-Applied`` on the status GET."""
    paths = result.setdefault("paths", {})
    order_id = {
        "in": "path",
        "name": "order_id",
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
    }
    paths["/async/orders/{order_id}/events/"] = {
        "get": _stream_operation(
            "order_events",
            "Follow an order's events live",
            STREAM_TEXT.format(id="the event's version", extra="")
            + " Every event from the first (or after `Last-Event-ID`, a version), then each "
            "new one as it is committed; the stream ends after the terminal event "
            "(`Completed`, `Failed`, `Cancelled`).",
            [order_id, LAST_EVENT_ID],
            {"404": problem("Unknown, malformed or someone else's order (field: uuid).")},
        )
    }
    paths["/async/events/"] = {
        "get": _stream_operation(
            "all_events",
            "Follow every order's events live (staff only)",
            STREAM_TEXT.format(
                id="the event's position in the store's log",
                extra=", with `order` (the order's uuid)",
            )
            + " Every event written from now on (or after `Last-Event-ID`, a position), in "
            "commit order; it never ends.",
            [LAST_EVENT_ID],
            {"403": problem("Not staff (field: user).")},
        )
    }
    status_get = paths.get("/async/orders/{order_id}/", {}).get("get")
    if status_get is not None:
        status_get.setdefault("parameters", []).append(
            {
                "in": "header",
                "name": "Prefer",
                "required": False,
                "description": (
                    "`wait=N` (RFC 7240) with `If-None-Match`: hold the 304 until the order "
                    "changes or N seconds pass (at most `ASYNC_REST_LONGPOLL_MAX_WAIT`, "
                    "`ASYNC_REST_LONGPOLL_SYNC_MAX_WAIT` under WSGI)."
                ),
                "schema": {"type": "string", "example": "wait=30"},
            }
        )
        applied = {
            "Preference-Applied": {
                "description": "`wait=N`, the hold applied, when `Prefer: wait` was sent.",
                "schema": {"type": "string"},
            }
        }
        for code, response in status_get.get("responses", {}).items():
            if code.startswith(("2", "3")):
                response.setdefault("headers", {}).update(applied)
    return result
