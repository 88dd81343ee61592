"""The Order aggregate: an append-only stream of events with a guarded life cycle."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event


class Status(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED})


class OrderError(Exception):
    """A command that the order's rules refuse; nothing is written."""


class OrderClosedError(OrderError):
    """The order has ended (completed or failed): nothing more is appended."""


class InvalidTransitionError(OrderError):
    """The command is not allowed in the order's current status."""


class InvalidProgressError(OrderError):
    """Progress outside 0..100, or going backwards."""


class Order(Aggregate):
    """One ordered piece of long-running work.

    Topics are explicit and stable (``async_rest.Order...``): they are what the event
    store records, so moving or renaming these classes never orphans old streams.
    """

    TOPIC = "async_rest.Order"

    # The library derives these two base classes on every aggregate and, with explicit
    # topics, wants a topic on each, even though only their subclasses are recorded.
    class Event(Aggregate.Event):
        TOPIC = "async_rest.Order.Event"

    class Created(Event, Aggregate.Created):
        TOPIC = "async_rest.Order.Created"

    class Queued(Created):
        TOPIC = "async_rest.Order.Queued"
        resource_name: str
        context: dict[str, Any]
        owner: str | None

    class Started(Event):
        TOPIC = "async_rest.Order.Started"
        worker: str
        attempt: int

    class Progressed(Event):
        TOPIC = "async_rest.Order.Progressed"
        percent: int
        message: str | None
        current: int | None
        total: int | None

    class Completed(Event):
        TOPIC = "async_rest.Order.Completed"
        resource_url: str

    class Failed(Event):
        TOPIC = "async_rest.Order.Failed"
        message: str
        error_type: str
        traceback: str

    @event(Queued)
    def __init__(self, resource_name: str, context: dict[str, Any], owner: str | None) -> None:
        self.resource_name = resource_name
        self.context = context
        self.owner = owner
        self.status = Status.QUEUED
        self.progress = 0
        self.message: str | None = None
        self.current: int | None = None
        self.total: int | None = None
        self.resource_url: str | None = None
        self.worker: str | None = None
        self.attempt = 0
        self.error_type: str | None = None
        self.traceback: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def _refuse_if_closed(self) -> None:
        if self.is_terminal:
            raise OrderClosedError(f"order {self.id} is {self.status}: nothing more is recorded")

    # Commands: guards here, state changes in the decorated methods below.

    def start(self, worker: str) -> None:
        """Record that a worker picked the order up (again, on a redelivery)."""
        self._refuse_if_closed()
        self._started(worker=worker, attempt=self.attempt + 1)

    def report_progress(
        self,
        percent: int,
        message: str | None = None,
        current: int | None = None,
        total: int | None = None,
    ) -> None:
        self._refuse_if_closed()
        if self.status is not Status.RUNNING:
            raise InvalidTransitionError(f"order {self.id} is {self.status}, not running")
        if isinstance(percent, bool) or not isinstance(percent, int):
            raise InvalidProgressError(f"percent must be an integer, not {percent!r}")
        if not 0 <= percent <= 100:
            raise InvalidProgressError(f"percent must be within 0..100, not {percent}")
        if percent < self.progress:
            raise InvalidProgressError(
                f"progress never goes backwards ({self.progress} -> {percent})"
            )
        self._progressed(percent=percent, message=message, current=current, total=total)

    def complete(self, resource_url: str) -> None:
        self._refuse_if_closed()
        if self.status is not Status.RUNNING:
            raise InvalidTransitionError(f"order {self.id} is {self.status}, not running")
        self._completed(resource_url=resource_url)

    def fail(self, message: str, error_type: str = "", traceback: str = "") -> None:
        self._refuse_if_closed()
        self._failed(message=message, error_type=error_type, traceback=traceback)

    @event(Started)
    def _started(self, worker: str, attempt: int) -> None:
        self.status = Status.RUNNING
        self.worker = worker
        self.attempt = attempt

    @event(Progressed)
    def _progressed(
        self, percent: int, message: str | None, current: int | None, total: int | None
    ) -> None:
        self.progress = percent
        if message is not None:
            self.message = message
        self.current = current
        self.total = total

    @event(Completed)
    def _completed(self, resource_url: str) -> None:
        self.status = Status.COMPLETED
        self.progress = 100
        self.resource_url = resource_url

    @event(Failed)
    def _failed(self, message: str, error_type: str, traceback: str) -> None:
        self.status = Status.FAILED
        self.message = message
        self.error_type = error_type
        self.traceback = traceback


EVENT_CLASSES: tuple[type[Aggregate.Event], ...] = (
    Order.Queued,
    Order.Started,
    Order.Progressed,
    Order.Completed,
    Order.Failed,
)


def event_type(domain_event: Any) -> str:
    """The short, stable name of an event ("Queued", "Progressed", ...)."""
    return str(type(domain_event).TOPIC).rsplit(".", 1)[-1]


def event_fields(domain_event: Any) -> dict[str, Any]:
    """The fields an event carries beyond its id, version and timestamp."""
    skip = {"originator_id", "originator_version", "timestamp", "originator_topic"}
    return {k: v for k, v in domain_event.__dict__.items() if k not in skip}
