"""The ``callback`` member of a POST: validated and documented like the API's other inputs."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from api.problems import Problem
from callbacks.addresses import UnsafeCallbackError, resolve
from callbacks.signing import enabled
from orders.domain.callbacks import (
    CALLBACK_KINDS,
    DEFAULT_KINDS,
    CallbackRejectedError,
    check_callback,
)

MAX_URL_LENGTH = 2000


def _refuse(detail: str, field: str) -> Problem:
    return Problem(400, "Bad Request", detail, field)


class CallbackInput(serializers.Serializer):
    """``{"url": "https://…", "events": ["completed", …]}``, checked before anything is recorded."""

    url = serializers.URLField(
        max_length=MAX_URL_LENGTH,
        help_text="Where each chosen event is POSTed, signed per Standard Webhooks. Must "
        "resolve to public addresses (unless the deployment allows others).",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=list(CALLBACK_KINDS)),
        required=False,
        help_text=f"Which events are delivered (default: {', '.join(DEFAULT_KINDS)}).",
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # Every refusal names its member (callback.url, callback.events) as problem+json.
        if not isinstance(data, dict):
            raise _refuse("callback must be a JSON object with a url.", "callback")
        unknown = sorted(set(data) - {"url", "events"})
        if unknown:
            raise _refuse(f"callback has unknown members: {', '.join(unknown)}.", "callback")
        url, events = data.get("url"), data.get("events", list(DEFAULT_KINDS))
        if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
            raise _refuse("callback.url must be a URL of at most 2000 characters.", "callback.url")
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise _refuse("callback.events must be a list of event names.", "callback.events")
        try:
            check_callback(url, events)
        except CallbackRejectedError as exc:
            raise _refuse(str(exc), exc.field) from None
        if not enabled():
            raise _refuse("Callbacks are not configured on this server.", "callback")
        try:
            resolve(url)
        except UnsafeCallbackError as exc:
            raise _refuse(str(exc), "callback.url") from None
        return {"url": url, "events": events}
