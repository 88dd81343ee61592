"""The Order aggregate: an append-only, hash-chained stream of events with a guarded life cycle."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

from eventsourcing.domain import Aggregate, event

from orders.domain.callbacks import GONE, CallbackLedger, check_callback
from orders.domain.chain import chain_hash
from orders.domain.errors import (
    CallbackNotOwedError,
    CancelRequestedError,
    DuplicateDeliveryError,
    InvalidProgressError,
    InvalidTransitionError,
    OrderClosedError,
)
from orders.domain.family import Family, SpawnRejectedError, check_spawn


class Status(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})


def _keeping_work_time(aggregate: Any, mutate: Any) -> Any:
    """Apply a delivery attempt without moving ``modified_on``, the time of the work's last event.

    An attempt is about the callback: it must not make an ended order look longer, nor a
    silent running one look alive to the reaper.
    """
    worked_until = aggregate.modified_on
    aggregate = mutate(aggregate)
    aggregate.modified_on = worked_until
    return aggregate


class Order(Aggregate):
    """One ordered piece of long-running work.

    Topics are explicit and stable (``async_rest.Order...``): they are what the event
    store records, so moving or renaming these classes never orphans old streams.
    Every event carries ``prev_hash`` (the hash of the order's previous event) and
    ``hash`` (over ``prev_hash`` and its own content): editing a stored event breaks
    the chain, which ``orders verify`` detects.
    """

    TOPIC = "async_rest.Order"

    class Event(Aggregate.Event):
        TOPIC = "async_rest.Order.Event"
        prev_hash: str
        # The name a callback asks for this kind of event by ("" : it cannot be asked for).
        callback_kind: ClassVar[str] = ""

        def __post_init__(self) -> None:
            super().__post_init__()
            # Computed once, when the event happens; a stored event is read back
            # without __init__, so its recorded hash is kept for verification.
            object.__setattr__(self, "hash", chain_hash(type(self).TOPIC, self.__dict__))

        def mutate(self, aggregate: Any) -> Any:
            aggregate = super().mutate(aggregate)
            aggregate.chain_hash = self.__dict__.get("hash", "")
            aggregate.progress = self.progress_after(self.__dict__, aggregate.progress)
            ledger = aggregate.callback
            if ledger is not None and self.callback_kind and ledger.wants(self.callback_kind):
                aggregate.callback = ledger.owe(self.originator_version, self.timestamp)
            return aggregate

        @classmethod
        def progress_after(cls, fields: dict[str, Any], before: int) -> int:
            """The order's progress right after an event of this kind carrying ``fields``.

            The one place the rule is written: the aggregate applies it, and so do the
            admin's chart and ``orders history``, which read events, not states.
            """
            return before

    class Created(Event, Aggregate.Created):
        # The library derives this base on every aggregate and, with explicit topics,
        # wants a topic on it, even though only its subclass Queued is recorded.
        TOPIC = "async_rest.Order.Created"

    class Queued(Created):
        TOPIC = "async_rest.Order.Queued"
        resource_name: str
        # A sealed token (orders/domain/sealing.py) since contexts are sealed; a dict before.
        context: dict[str, Any] | str
        owner: str | None

    class Dispatched(Event):
        TOPIC = "async_rest.Order.Dispatched"
        dispatch_id: str

    class Started(Event):
        TOPIC = "async_rest.Order.Started"
        worker: str
        attempt: int
        dispatch_id: str | None

        def mutate(self, aggregate: Any) -> Any:
            aggregate = super().mutate(aggregate)
            # When the current attempt began: the status's progress rate is measured from it.
            aggregate.started_at = self.timestamp
            return aggregate

        @classmethod
        def progress_after(cls, fields: dict[str, Any], before: int) -> int:
            return 0  # each attempt does the work from the start

    class Progressed(Event):
        TOPIC = "async_rest.Order.Progressed"
        callback_kind = "progressed"
        percent: int
        message: str | None
        current: int | None
        total: int | None

        @classmethod
        def progress_after(cls, fields: dict[str, Any], before: int) -> int:
            return int(fields.get("percent") or 0)

    class Retried(Event):
        TOPIC = "async_rest.Order.Retried"
        attempt: int
        reason: str

    class CancelRequested(Event):
        TOPIC = "async_rest.Order.CancelRequested"
        reason: str

    class Cancelled(Event):
        TOPIC = "async_rest.Order.Cancelled"
        callback_kind = "cancelled"
        reason: str

    class Completed(Event):
        TOPIC = "async_rest.Order.Completed"
        callback_kind = "completed"
        resource_url: str

        @classmethod
        def progress_after(cls, fields: dict[str, Any], before: int) -> int:
            return 100

    class Failed(Event):
        TOPIC = "async_rest.Order.Failed"
        callback_kind = "failed"
        message: str
        error_type: str
        traceback: str

    class ContextForgotten(Event):
        """The context was erased (``orders forget``); holds no personal data."""

        TOPIC = "async_rest.Order.ContextForgotten"
        # True: the context was sealed and its key destroyed; False: a plaintext context
        # recorded before sealing, hidden from every read path but still in the stream.
        key_destroyed: bool

    # Fan-out (orders/domain/family.py): a child's link to its parent, recorded with its
    # Queued; the parent's children, their ends, and its task's return while they run.

    class Spawned(Event):
        TOPIC = "async_rest.Order.Spawned"
        parent_id: str
        weight: int

        def apply(self, aggregate: Any) -> None:
            aggregate.parent_id = self.parent_id
            aggregate.weight = self.weight

    class ChildSpawned(Event):
        TOPIC = "async_rest.Order.ChildSpawned"
        child_id: str
        resource_name: str
        weight: int
        policy: str

        def apply(self, aggregate: Any) -> None:
            family = aggregate.family or Family(self.policy)
            aggregate.family = family.spawned(self.child_id, self.weight)

    class ChildEnded(Event):
        TOPIC = "async_rest.Order.ChildEnded"
        child_id: str
        status: str
        message: str

        def apply(self, aggregate: Any) -> None:
            completed = self.status == Status.COMPLETED
            aggregate.family = aggregate.family.child_ended(self.child_id, completed)

    class ChildrenAwaited(Event):
        TOPIC = "async_rest.Order.ChildrenAwaited"
        resource_url: str

        def apply(self, aggregate: Any) -> None:
            aggregate.family = aggregate.family.awaited(self.resource_url)

    # The callback's events are about its deliveries, not the work: they are recorded
    # after the order ended too, and change nothing but the callback's ledger.

    class CallbackRequested(Event):
        TOPIC = "async_rest.Order.CallbackRequested"
        url: str
        events: list[str]
        base_url: str

        def apply(self, aggregate: Any) -> None:
            aggregate.callback = CallbackLedger(self.url, tuple(self.events), self.base_url)

    class CallbackDelivered(Event):
        TOPIC = "async_rest.Order.CallbackDelivered"
        event_version: int
        attempt: int
        status_code: int
        duration_ms: int

        def apply(self, aggregate: Any) -> None:
            aggregate.callback = aggregate.callback.attempted(self.event_version, True, None, False)

        def mutate(self, aggregate: Any) -> Any:
            return _keeping_work_time(aggregate, super().mutate)

    class CallbackFailed(Event):
        TOPIC = "async_rest.Order.CallbackFailed"
        event_version: int
        attempt: int
        reason: str
        status_code: int | None
        duration_ms: int
        # Seconds until the next attempt; None: no more attempts for this event.
        retry_in: float | None

        def apply(self, aggregate: Any) -> None:
            retry_at = (
                None if self.retry_in is None else self.timestamp + timedelta(seconds=self.retry_in)
            )
            stop = self.status_code == GONE
            aggregate.callback = aggregate.callback.attempted(
                self.event_version, False, None if stop else retry_at, stop
            )

        def mutate(self, aggregate: Any) -> Any:
            return _keeping_work_time(aggregate, super().mutate)

    @classmethod
    def _create(cls, event_class: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("prev_hash", "")  # the first event of a stream starts the chain
        return super()._create(event_class, **kwargs)

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        kwargs["prev_hash"] = self.chain_hash
        super().trigger_event(event_class, **kwargs)

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
        self.dispatch_id: str | None = None
        self.dispatched = False
        self.cancel_requested = False
        self.error_type: str | None = None
        self.traceback: str | None = None
        self.chain_hash = ""
        self.callback: CallbackLedger | None = None
        self.started_at: datetime | None = None
        # The context can no longer be read (``context`` is then empty); forgotten: the
        # ContextForgotten event is recorded (erased without it: its key is already gone).
        self.context_erased = False
        self.context_forgotten = False
        # Fan-out: the parent of a child order (str) and its weight; a parent's children.
        self.parent_id: str | None = None
        self.weight = 1
        self.family: Family | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @classmethod
    def event_class(cls, event_type: str) -> type[Order.Event]:
        """The event class of a short name ("Progressed"); KeyError for an unknown one."""
        return _EVENTS_BY_TYPE[event_type]

    def _refuse_if_closed(self) -> None:
        if self.is_terminal:
            raise OrderClosedError(f"order {self.id} is {self.status}: nothing more is recorded")

    def _refuse_unless_running(self) -> None:
        self._refuse_if_closed()
        if self.status is not Status.RUNNING:
            raise InvalidTransitionError(f"order {self.id} is {self.status}, not running")

    def should_run(self, dispatch_id: str | None) -> bool:
        """Whether a message carrying ``dispatch_id`` should run the task now.

        A queued order runs. A running one runs again only for a redelivery of the
        message that started it (its worker died): a second message sent for the same
        order (a relay that re-sent it) is a duplicate and must not run.
        """
        if self.is_terminal:
            return False
        if self.status is Status.QUEUED:
            return True
        return dispatch_id is None or dispatch_id == self.dispatch_id

    # Commands: guards here, state changes in the decorated methods below.

    def dispatch(self, dispatch_id: str) -> None:
        """Record that the task's message was handed to the queue.

        Only a queued order records it: once a worker has started it (it may be
        quicker than the sender) or it has ended, the dispatch is moot and nothing
        is appended.
        """
        if self.status is Status.QUEUED and self.dispatch_id != dispatch_id:
            self._dispatched(dispatch_id=dispatch_id)

    def start(self, worker: str, dispatch_id: str | None = None) -> None:
        """Record that a worker picked the order up (again, on a redelivery or retry).

        Checked against the latest state, so of two messages that raced for a queued
        order, the second to write is refused even though both saw it queued.
        """
        self._refuse_if_closed()
        if not self.should_run(dispatch_id):
            raise DuplicateDeliveryError(f"order {self.id} was started by another message")
        self._started(worker=worker, attempt=self.attempt + 1, dispatch_id=dispatch_id)

    def report_progress(
        self,
        percent: int,
        message: str | None = None,
        current: int | None = None,
        total: int | None = None,
    ) -> None:
        self._refuse_unless_running()
        if self.cancel_requested:
            raise CancelRequestedError(f"order {self.id}: cancel requested")
        if isinstance(percent, bool) or not isinstance(percent, int):
            raise InvalidProgressError(f"percent must be an integer, not {percent!r}")
        if not 0 <= percent <= 100:
            raise InvalidProgressError(f"percent must be within 0..100, not {percent}")
        if percent < self.progress:
            raise InvalidProgressError(
                f"progress never goes backwards ({self.progress} -> {percent})"
            )
        self._progressed(percent=percent, message=message, current=current, total=total)

    def retry(self, reason: str) -> None:
        """Record that this attempt failed and another one is coming."""
        self._refuse_unless_running()
        self._retried(attempt=self.attempt, reason=reason)

    def cancel(self, reason: str = "") -> None:
        """Cancel a queued order at once; ask a running one to stop.

        A parent whose task has returned and that only waits for its children has no
        task to stop: it is cancelled at once (its children then are, by the tracker).
        """
        self._refuse_if_closed()
        if self.status is Status.QUEUED or self.is_awaiting_children:
            self._cancelled(reason=reason)
        elif not self.cancel_requested:
            self._cancel_requested(reason=reason)

    def confirm_cancelled(self, reason: str = "") -> None:
        """The task stopped on a cancel request: the order ends cancelled."""
        self._refuse_if_closed()
        self._cancelled(reason=reason)

    def complete(self, resource_url: str) -> None:
        """Complete now; a parent with children still open completes once they have ended."""
        self._refuse_unless_running()
        if self.family is not None and self.family.open:
            self.await_children(resource_url)
        else:
            self._completed(resource_url=resource_url)

    def fail(self, message: str, error_type: str = "", traceback: str = "") -> None:
        self._refuse_if_closed()
        self._failed(message=message, error_type=error_type, traceback=traceback)

    # Fan-out: guards here, the rules in orders/domain/family.py.

    @property
    def is_awaiting_children(self) -> bool:
        """Its task returned; it runs on until its children end."""
        return self.family is not None and self.family.awaiting and not self.is_terminal

    def spawned_by(self, parent_id: str, weight: int) -> None:
        """Record, with its Queued, that this order is a child of ``parent_id``."""
        if self.status is not Status.QUEUED or self.version != 1 or self.parent_id is not None:
            raise InvalidTransitionError(f"order {self.id}: a parent is recorded when placed")
        check_spawn(weight, "fail_fast")
        self.trigger_event(self.Spawned, parent_id=parent_id, weight=weight)

    def spawn_child(self, child_id: str, resource_name: str, weight: int, policy: str) -> None:
        """Record a child order placed by this order's running task.

        One level: a child does not spawn children of its own. The policy is the
        parent's, given with its first child; a later child may not name another.
        """
        self._refuse_unless_running()
        if self.cancel_requested:
            raise CancelRequestedError(f"order {self.id}: cancel requested")
        if self.parent_id is not None:
            raise InvalidTransitionError(
                f"order {self.id} is a child order: fan-out is one level deep"
            )
        check_spawn(weight, policy)
        if self.family is not None and self.family.awaiting:
            raise InvalidTransitionError(f"order {self.id}: its task has returned")
        if self.family is not None and self.family.policy != policy:
            raise SpawnRejectedError(
                f"policy is {self.family.policy} for this order's children, not {policy}",
                "policy",
            )
        self.trigger_event(
            self.ChildSpawned,
            child_id=child_id,
            resource_name=resource_name,
            weight=weight,
            policy=policy,
        )

    def record_child_ended(self, child_id: str, status: str, message: str) -> None:
        """Record a child's end; the parent ends too when its policy or its children say.

        Moot (nothing appended) for a child it does not wait for: already recorded, not
        its own, or the parent has ended (its open children are then being cancelled).
        """
        family = self.family
        if self.is_terminal or family is None or not family.is_open(child_id):
            return
        completed = status == Status.COMPLETED
        self.trigger_event(self.ChildEnded, child_id=child_id, status=status, message=message)
        if self.cancel_requested:
            return  # it ends cancelled, its children with it: no policy applies
        if family.fails_on(completed):
            self._failed(
                message=f"child order {child_id} {status}: {message}".rstrip(": "),
                error_type="ChildFailed",
                traceback="",
            )
        elif self.family is not None and self.family.settled:
            self._completed(resource_url=self.family.resource_url)

    def await_children(self, resource_url: str) -> None:
        """The task returned ``resource_url`` ("": its children): end now, or when they have.

        Moot once awaiting (the body called ``complete`` before returning).
        """
        self._refuse_unless_running()
        if self.family is not None and self.family.awaiting:
            return
        if self.cancel_requested:
            self._cancelled(reason="Cancelled while running")
        elif self.family is None or not self.family.open:
            self._completed(resource_url=resource_url)
        else:
            self.trigger_event(self.ChildrenAwaited, resource_url=resource_url)

    def forget_context(self, key_destroyed: bool) -> None:
        """Record that the context was erased; allowed in any status, once."""
        if not self.context_forgotten:
            self._context_forgotten(key_destroyed=key_destroyed)

    def request_callback(self, url: str, events: list[str], base_url: str) -> None:
        """Ask for a signed delivery of each event of these kinds (CallbackRejectedError)."""
        self._refuse_if_closed()
        if self.callback is not None:
            raise InvalidTransitionError(f"order {self.id} already has a callback")
        check_callback(url, events)
        self.trigger_event(self.CallbackRequested, url=url, events=list(events), base_url=base_url)

    def record_callback_delivered(
        self, event_version: int, status_code: int, duration_ms: int
    ) -> None:
        self._refuse_unless_owed(event_version)
        self.trigger_event(
            self.CallbackDelivered,
            event_version=event_version,
            attempt=self._next_callback_attempt(event_version),
            status_code=status_code,
            duration_ms=duration_ms,
        )

    def record_callback_failed(
        self,
        event_version: int,
        reason: str,
        status_code: int | None,
        duration_ms: int,
        retry_in: float | None,
    ) -> None:
        """One attempt that did not deliver; ``retry_in`` None (or a 410) ends the attempts."""
        self._refuse_unless_owed(event_version)
        self.trigger_event(
            self.CallbackFailed,
            event_version=event_version,
            attempt=self._next_callback_attempt(event_version),
            reason=reason,
            status_code=status_code,
            duration_ms=duration_ms,
            retry_in=None if status_code == GONE else retry_in,
        )

    def _refuse_unless_owed(self, event_version: int) -> None:
        if self.callback is None or not self.callback.is_owed(event_version):
            raise CallbackNotOwedError(
                f"order {self.id}: event {event_version} is owed no callback"
            )

    def _next_callback_attempt(self, event_version: int) -> int:
        assert self.callback is not None
        return self.callback.attempts.get(event_version, 0) + 1

    @event(Dispatched)
    def _dispatched(self, dispatch_id: str) -> None:
        self.dispatched = True
        self.dispatch_id = dispatch_id

    @event(Started)
    def _started(self, worker: str, attempt: int, dispatch_id: str | None) -> None:
        self.status = Status.RUNNING
        self.worker = worker
        self.attempt = attempt
        if dispatch_id is not None:
            self.dispatch_id = dispatch_id

    @event(Progressed)
    def _progressed(
        self, percent: int, message: str | None, current: int | None, total: int | None
    ) -> None:
        if message is not None:
            self.message = message
        self.current = current
        self.total = total

    @event(Retried)
    def _retried(self, attempt: int, reason: str) -> None:
        self.status = Status.QUEUED
        self.message = f"Attempt {attempt} failed, retrying: {reason}"

    @event(CancelRequested)
    def _cancel_requested(self, reason: str) -> None:
        self.cancel_requested = True

    @event(Cancelled)
    def _cancelled(self, reason: str) -> None:
        self.status = Status.CANCELLED
        self.cancel_requested = True
        self.message = reason or "Cancelled"

    @event(Completed)
    def _completed(self, resource_url: str) -> None:
        self.status = Status.COMPLETED
        self.resource_url = resource_url

    @event(ContextForgotten)
    def _context_forgotten(self, key_destroyed: bool) -> None:
        self.context = {}
        self.context_erased = True
        self.context_forgotten = True

    @event(Failed)
    def _failed(self, message: str, error_type: str, traceback: str) -> None:
        self.status = Status.FAILED
        self.message = message
        self.error_type = error_type
        self.traceback = traceback


EVENT_CLASSES: tuple[type[Order.Event], ...] = (
    Order.Queued,
    Order.Dispatched,
    Order.Started,
    Order.Progressed,
    Order.Retried,
    Order.CancelRequested,
    Order.Cancelled,
    Order.Completed,
    Order.Failed,
    Order.ContextForgotten,
    Order.CallbackRequested,
    Order.CallbackDelivered,
    Order.CallbackFailed,
    Order.Spawned,
    Order.ChildSpawned,
    Order.ChildEnded,
    Order.ChildrenAwaited,
)

_EVENTS_BY_TYPE: dict[str, type[Order.Event]] = {
    str(cls.TOPIC).rsplit(".", 1)[-1]: cls for cls in EVENT_CLASSES
}

# Fields the library keeps on every event; the rest is what the event says.
_ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}
_CHAIN = {"prev_hash", "hash"}


def event_type(domain_event: Any) -> str:
    """The short, stable name of an event ("Queued", "Progressed", ...)."""
    return str(type(domain_event).TOPIC).rsplit(".", 1)[-1]


def event_fields(domain_event: Any) -> dict[str, Any]:
    """The fields an event carries beyond its envelope and its hash chain."""
    return {k: v for k, v in domain_event.__dict__.items() if k not in _ENVELOPE | _CHAIN}


def recorded_hash_is_intact(domain_event: Any) -> bool:
    """Whether the event's stored hash matches its stored content."""
    stored = domain_event.__dict__
    return bool(stored.get("hash")) and stored["hash"] == chain_hash(
        type(domain_event).TOPIC, stored
    )
