"""What a request may say: DRF serializers that validate input and document it in the schema.

Each view validates its body or query with one of these, and ``api.docs`` hands the same
class to the OpenAPI schema, so what is documented is what is checked. A field that fails
answers 400 problem+json naming it (``api.problems``). The rules of a context itself (what
the event store can keep) belong to the domain: ``place_order`` checks them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from api.problems import Problem
from callbacks.inputs import CallbackInput

STATUSES = ["queued", "running", "completed", "failed", "cancelled"]
MAX_REASON_LENGTH = 1000


def clean_text(value: str, field: str) -> str:
    # PostgreSQL text cannot hold NUL: refuse it here rather than fail in the database.
    if "\x00" in value:
        raise Problem(400, "Bad Request", f"{field} must not contain NUL characters.", field)
    return value


def parse_moment(raw: str, field: str) -> datetime:
    """An ISO 8601 date and time from a query parameter, in UTC (400 naming it otherwise)."""
    try:
        when = parse_datetime(clean_text(raw, field).replace(" ", "+"))
    except ValueError:  # well formed, impossible: month 13, an offset of a day or more
        when = None
    if when is None:
        raise Problem(400, "Bad Request", f"{field} must be an ISO 8601 date and time.", field)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)  # offsets past ±16h are valid ISO, not in PostgreSQL
    except OverflowError:
        raise Problem(400, "Bad Request", f"{field} is out of range.", field) from None


class Text(serializers.CharField):
    """A string with no NUL character (what PostgreSQL text can hold), kept as it was sent."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return clean_text(super().to_internal_value(data), self.field_name)


class Moment(serializers.DateTimeField):
    """An ISO 8601 date and time in a query, read leniently ('+' may arrive as a space), in UTC."""

    def to_internal_value(self, value: Any) -> datetime:
        return parse_moment(str(value), self.field_name)


class ContextField(serializers.JSONField):
    """Any JSON object, kept as it was sent (the domain checks what the store can keep)."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise Problem(
                400,
                "Bad Request",
                f"context must be a JSON object, not {type(data).__name__}.",
                "context",
            )
        return data


class PlaceOrderInput(serializers.Serializer):
    context = ContextField(required=False, default=dict, help_text="Any JSON object; size-limited.")
    callback = CallbackInput(
        required=False,
        help_text="Signed deliveries (Standard Webhooks) of the chosen events to a URL.",
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise Problem(400, "Bad Request", "The body must be a JSON object.", "body")
        result: dict[str, Any] = super().to_internal_value(data)
        return result


class CancelInput(serializers.Serializer):
    reason = Text(required=False, allow_blank=True, max_length=MAX_REASON_LENGTH, default="")

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # An empty or non-object body asks for a cancel without a reason.
        if not isinstance(data, dict):
            data = {}
        if data.get("reason") is None:
            data = {**data, "reason": ""}
        result: dict[str, Any] = super().to_internal_value(data)
        return result


class QueryInput(serializers.Serializer):
    """Query parameters, read as given: an empty value is a value, not a missing one.

    DRF reads a ``QueryDict`` like an HTML form, where ``?status=`` means "not sent";
    here it is a status that is not one of the statuses, and is refused by name.
    """

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        plain = dict(data.items()) if hasattr(data, "items") else data
        result: dict[str, Any] = super().to_internal_value(plain)
        return result


class OrderFilters(QueryInput):
    """The list's query parameters (the cursor and page size belong to its paginator)."""

    status = serializers.ChoiceField(choices=STATUSES, required=False)
    resource = Text(required=False, allow_blank=True, help_text="Resource name.")
    created_after = Moment(required=False)
    created_before = Moment(required=False)
    parent = serializers.UUIDField(
        required=False, help_text="Only the children of this order (see its `children`)."
    )


class ReplayInput(QueryInput):
    """``?version=N`` or ``?at=<moment>``: which past state of the order to rebuild."""

    version = serializers.IntegerField(
        required=False, min_value=1, help_text="Replay the state right after this event."
    )
    at = Moment(required=False, help_text="Replay the state at this moment.")
