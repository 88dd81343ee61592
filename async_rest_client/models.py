"""The server's JSON bodies as typed, immutable dataclasses: an order, its error, a history event.

These are plain data: reading one never talks to the server. ``Order`` has exactly the fields
of the OpenAPI schema's ``Order`` (``/async/schema/``; a test checks they agree), with JSON
turned into Python: ``uuid`` is a ``UUID``, ``created``/``updated`` are aware ``datetime``s,
``links`` and ``error`` are dataclasses. Keys a newer server adds are ignored, so an old client
keeps working; a key the schema requires and the body lacks is an ``UnexpectedAnswer``.

A history event keeps its three common fields (``version``, ``type``, ``timestamp``) as
attributes and everything else the event recorded (``percent``, ``message``,
``resource_url``, …, depending on its type) in ``fields``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from async_rest_client.errors import UnexpectedAnswer

Status = Literal["queued", "running", "completed", "failed", "cancelled"]
ENDED: frozenset[str] = frozenset({"completed", "failed", "cancelled"})


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _required(body: Mapping[str, Any], name: str, what: str) -> Any:
    try:
        return body[name]
    except KeyError:
        raise UnexpectedAnswer(f"{what} without {name!r}: {dict(body)!r:.300}") from None


@dataclass(frozen=True)
class Links:
    """Where to go next from an order (absolute URLs): itself, its history, its cancel."""

    self: str
    history: str
    cancel: str

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Links:
        return cls(
            self=_required(body, "self", "links"),
            history=_required(body, "history", "links"),
            cancel=_required(body, "cancel", "links"),
        )


@dataclass(frozen=True)
class Failure:
    """Why a failed order failed: the task's ``message``, the error's ``type`` (class name).

    ``traceback`` is only sent to staff users.
    """

    message: str | None
    type: str | None
    traceback: str | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Failure:
        return cls(
            message=body.get("message"), type=body.get("type"), traceback=body.get("traceback")
        )


@dataclass(frozen=True)
class Children:
    """A parent order's children (spawned by its task): how many, how many ended, their list."""

    count: int
    ended: int
    # Ended failed or cancelled.
    failed: int
    # The sum of their weights: the parent's progress is theirs, weighted.
    weight: int
    # The parent's task returned: it ends once its children have.
    awaiting: bool
    url: str

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Children:
        def need(name: str) -> Any:
            return _required(body, name, "children")

        return cls(
            count=int(need("count")),
            ended=int(need("ended")),
            failed=int(need("failed")),
            weight=int(need("weight")),
            awaiting=bool(need("awaiting")),
            url=need("url"),
        )


@dataclass(frozen=True)
class Order:
    """An order as the server showed it at one moment (``version`` events into its life)."""

    uuid: UUID
    resource_name: str
    status: Status
    progress: int
    message: str | None
    current: int | None
    total: int | None
    resource_url: str | None
    # None once the context was erased on request (``orders forget``): context_erased.
    context: dict[str, Any] | None
    context_erased: bool
    attempt: int
    cancel_requested: bool
    created: datetime
    updated: datetime
    version: int
    # When its last event happened; running and silent too long; when it should end.
    last_event_at: datetime
    stalled: bool
    eta: datetime | None
    # Fan-out: the URL of the order that spawned this one, its weight there; a parent's children.
    parent: str | None
    weight: int
    children: Children | None
    links: Links
    replayed_version: int | None = None
    error: Failure | None = None

    @property
    def ended(self) -> bool:
        """Whether nothing more will happen to it: completed, failed or cancelled."""
        return self.status in ENDED

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Order:
        def need(name: str) -> Any:
            return _required(body, name, "an order")

        error = body.get("error")
        return cls(
            uuid=UUID(need("uuid")),
            resource_name=need("resource_name"),
            status=need("status"),
            progress=int(need("progress")),
            message=need("message"),
            current=need("current"),
            total=need("total"),
            resource_url=need("resource_url"),
            context=None if need("context") is None else dict(need("context")),
            # A server older than erasure does not say: nothing was erased there.
            context_erased=bool(body.get("context_erased", False)),
            attempt=int(need("attempt")),
            cancel_requested=bool(need("cancel_requested")),
            created=_moment(need("created")),
            updated=_moment(need("updated")),
            version=int(need("version")),
            last_event_at=_moment(need("last_event_at")),
            stalled=bool(need("stalled")),
            eta=_moment(body["eta"]) if need("eta") else None,
            # A server older than fan-out does not say: no parent, no children.
            parent=body.get("parent"),
            weight=int(body.get("weight", 1)),
            children=Children.from_json(body["children"]) if body.get("children") else None,
            links=Links.from_json(need("links")),
            replayed_version=body.get("replayed_version"),
            error=Failure.from_json(error) if isinstance(error, Mapping) else None,
        )


@dataclass(frozen=True)
class HistoryEvent:
    """One event of an order's history: its number, its type, when, and what it recorded."""

    version: int
    type: str
    timestamp: datetime
    fields: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> HistoryEvent:
        own = {k: v for k, v in body.items() if k not in ("version", "type", "timestamp")}
        return cls(
            version=int(_required(body, "version", "an event")),
            type=_required(body, "type", "an event"),
            timestamp=_moment(_required(body, "timestamp", "an event")),
            fields=own,
        )
