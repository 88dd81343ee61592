"""The shapes of the API's answers, for the OpenAPI schema (input is in ``api.inputs``)."""

from __future__ import annotations

from rest_framework import serializers

from api.inputs import STATUSES


class Links(serializers.Serializer):
    self = serializers.URLField()
    history = serializers.URLField()
    cancel = serializers.URLField()


class OrderError(serializers.Serializer):
    message = serializers.CharField(allow_null=True)
    type = serializers.CharField(allow_null=True)
    traceback = serializers.CharField(required=False, help_text="Staff only.")


class Children(serializers.Serializer):
    """A parent's children (``order.spawn`` in its task); its progress is theirs, weighted."""

    count = serializers.IntegerField(min_value=0, help_text="Children spawned so far.")
    ended = serializers.IntegerField(min_value=0)
    failed = serializers.IntegerField(min_value=0, help_text="Ended failed or cancelled.")
    weight = serializers.IntegerField(min_value=0, help_text="The sum of their weights.")
    awaiting = serializers.BooleanField(
        help_text="The parent's task returned: it ends once its children have."
    )
    url = serializers.URLField(help_text="The list of the children.")


class Order(serializers.Serializer):
    uuid = serializers.UUIDField()
    resource_name = serializers.CharField()
    status = serializers.ChoiceField(choices=STATUSES)
    progress = serializers.IntegerField(min_value=0, max_value=100)
    message = serializers.CharField(allow_null=True)
    current = serializers.IntegerField(allow_null=True)
    total = serializers.IntegerField(allow_null=True)
    resource_url = serializers.CharField(allow_null=True, help_text="Absolute URL when a path.")
    context = serializers.DictField(
        allow_null=True, help_text="null once the context was erased (see context_erased)."
    )
    context_erased = serializers.BooleanField(
        help_text="The context was erased on request (`orders forget`): it can no longer be "
        "read, here, in the history (the Queued event shows `context: null` and "
        "`context_erased: true`) or in any replayed state."
    )
    attempt = serializers.IntegerField(min_value=0)
    cancel_requested = serializers.BooleanField()
    created = serializers.DateTimeField()
    updated = serializers.DateTimeField()
    version = serializers.IntegerField(min_value=1)
    last_event_at = serializers.DateTimeField(help_text="When the order's last event happened.")
    stalled = serializers.BooleanField(
        help_text="Running, and silent for longer than its resource is expected to be."
    )
    eta = serializers.DateTimeField(
        allow_null=True,
        help_text="When it should end at the pace of its current attempt (null: no pace yet).",
    )
    parent = serializers.URLField(
        allow_null=True, help_text="The order that spawned this one (null: none)."
    )
    weight = serializers.IntegerField(
        min_value=1, help_text="How much of its parent's progress this order is."
    )
    children = Children(allow_null=True, help_text="null: the order spawned no children.")
    replayed_version = serializers.IntegerField(
        required=False, help_text="Present when the state was replayed (?version= or ?at=)."
    )
    links = Links()
    error = OrderError(required=False)


class HistoryEvent(serializers.Serializer):
    """One event; its own fields (percent, message, resource_url, ...) follow these three."""

    version = serializers.IntegerField(min_value=1)
    type = serializers.CharField()
    timestamp = serializers.DateTimeField()


class HistoryPage(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = HistoryEvent(many=True)


class OrderPage(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = Order(many=True)


class Problem(serializers.Serializer):
    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField()
    field = serializers.CharField(required=False, help_text="The part of the request at fault.")
