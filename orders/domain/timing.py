"""When an order will end, whether it has stalled, when to poll it again: rules over its state.

Pure functions of an ``OrderState`` and the clock, so that the status endpoint computes them
at read time (``stalled`` depends on "now") and a rebuild of the read model gives the same
answers. The progress rate is measured over the current attempt: from its ``Started`` to the
last event, during which the order went from 0 to its ``progress``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


class OrderState(Protocol):
    """What the rules read of an order: an ``OrderState``, or the poll's few columns of it."""

    @property
    def resource_name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def progress(self) -> int: ...
    @property
    def total(self) -> int | None: ...
    @property
    def updated(self) -> datetime: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def is_terminal(self) -> bool: ...


RUNNING = "running"
# Never tell a client to come back sooner than this (RFC 9110 Retry-After is whole seconds).
FLOOR_SECONDS = 1


@dataclass(frozen=True, slots=True)
class Timing:
    """What the status adds to the state: a function of the state and of the clock."""

    last_event_at: datetime
    stalled: bool
    eta: datetime | None
    # Seconds until the next poll is worth it; None once the order has ended.
    retry_after: int | None


def seconds_per_percent(state: OrderState) -> float | None:
    """The current attempt's observed pace (None until it has both started and moved)."""
    if state.status != RUNNING or state.started_at is None or state.progress <= 0:
        return None
    elapsed = (state.updated - state.started_at).total_seconds()
    if elapsed <= 0:
        return None
    return elapsed / state.progress


def eta(state: OrderState) -> datetime | None:
    """When the order should end at the pace it has kept so far (None: no pace yet)."""
    pace = seconds_per_percent(state)
    if pace is None:
        return None
    return state.updated + timedelta(seconds=pace * (100 - state.progress))


def is_stalled(state: OrderState, now: datetime, stall_after: float | None) -> bool:
    """A running order with no event for longer than ``stall_after`` seconds (None: never).

    Only running orders stall: a queued one is waiting for a worker, which the relay looks
    after, and an ended one has nothing more to say.
    """
    if state.status != RUNNING or not stall_after:
        return False
    return (now - state.updated).total_seconds() > stall_after


def retry_after(state: OrderState, now: datetime, default: int, ceiling: int) -> int | None:
    """Seconds a client should wait before polling again, within [1, ``ceiling``].

    Without a pace (queued, or running at 0%) it is ``default``. With one, it is the time
    until the order should next move, or until its eta if that is sooner. A move is a
    percent, or one item when the order counts fewer than 100 (10 steps: every 10%). An
    order late for its next move is asked about again one move later, not hammered.
    """
    if state.is_terminal:
        return None
    ceiling = max(FLOOR_SECONDS, ceiling)
    pace = seconds_per_percent(state)
    if pace is None:
        wanted = float(default)
    else:
        move = pace * max(1.0, 100 / state.total) if state.total else pace
        since = (now - state.updated).total_seconds()
        next_move = move - since if 0 <= since < move else move
        until_end = pace * (100 - state.progress) - since
        wanted = min(next_move, until_end) if until_end > 0 else next_move
    return min(ceiling, max(FLOOR_SECONDS, math.ceil(wanted)))


def timing(
    state: OrderState, now: datetime, stall_after: float | None, default: int, ceiling: int
) -> Timing:
    """All of the above at once (the status endpoint's one call)."""
    return Timing(
        last_event_at=state.updated,
        stalled=is_stalled(state, now, stall_after),
        eta=eta(state),
        retry_after=retry_after(state, now, default, ceiling),
    )
