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


PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# What api.middleware.ApiGuardMiddleware answers before any view, on every operation.
GUARD_ANSWERS = {
    "400": "A malformed request: Host, query string or Content-Length.",
    "413": "The body is larger than the server accepts.",
}
GUARD_BODY_ANSWERS = {"411": "A body sent without its length.", "415": "Not JSON."}


def document_guard_answers(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Every operation may be refused by the API's guard, as problem+json."""
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            answers = dict(GUARD_ANSWERS)
            if method in ("post", "put", "patch"):
                answers.update(GUARD_BODY_ANSWERS)
            responses = operation.setdefault("responses", {})
            for code, description in answers.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/problem+json": {"schema": PROBLEM_REF}},
                    },
                )
    return result
