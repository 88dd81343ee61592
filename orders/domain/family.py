"""An order's children as plain, immutable data: who is still open and when the parent ends.

A task may place child orders (``order.spawn``): each child is an order of its own, with
its own stream, queue message and history, and the parent keeps one ``Family`` (or none)
that it replaces on every event, never mutates, like the callback's ledger. The rules of
fan-out are pure and live here:

- the parent's work is done when its task has returned (it *awaits* its children) and
  every child has ended;
- ``fail_fast``: the first child that does not complete fails the parent, whose open
  children are then cancelled; ``all_settled``: the parent waits for every child and
  completes however they ended (its children's ends say which failed).

Only the ends of the children are the parent's events (``ChildEnded``). Their progress is
not: a projection keeps the parent's weighted progress, O(1) per child event
(``projections/family.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

FAIL_FAST = "fail_fast"
ALL_SETTLED = "all_settled"
POLICIES = (FAIL_FAST, ALL_SETTLED)
# A child's weight: how much of the parent's progress it is, against its siblings'.
MAX_WEIGHT = 1_000_000


class SpawnRejectedError(ValueError):
    """A child the parent cannot take (a weight or a policy out of bounds); ``field`` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def check_spawn(weight: object, policy: object) -> None:
    """The rules of one child's terms, whatever the parent's state."""
    if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= MAX_WEIGHT:
        raise SpawnRejectedError(
            f"weight must be an integer from 1 to {MAX_WEIGHT}, not {weight!r}", "weight"
        )
    if policy not in POLICIES:
        raise SpawnRejectedError(
            f"policy must be one of {', '.join(POLICIES)}, not {policy!r}", "policy"
        )


@dataclass(frozen=True, slots=True)
class Family:
    """The children of one parent order, as of one of its versions."""

    policy: str
    # The open children: child id (str) -> weight. A new dict on every change.
    open: Mapping[str, int] = field(default_factory=dict)
    count: int = 0
    weight: int = 0
    ended: int = 0
    # Ended otherwise than completed (failed or cancelled).
    failed: int = 0
    # The parent's task returned: only its children keep it running.
    awaiting: bool = False
    # What the parent's task returned, recorded when it completes ("" : its children).
    resource_url: str = ""
    # Every child, in the order spawned: a task run again (a retry, a redelivery) that
    # spawns in the same order gets these back instead of placing them twice.
    ids: tuple[str, ...] = ()

    def spawned(self, child_id: str, weight: int) -> Family:
        return replace(
            self,
            open={**self.open, child_id: weight},
            count=self.count + 1,
            weight=self.weight + weight,
            ids=(*self.ids, child_id),
        )

    def child_ended(self, child_id: str, completed: bool) -> Family:
        rest = dict(self.open)
        del rest[child_id]
        return replace(
            self,
            open=rest,
            ended=self.ended + 1,
            failed=self.failed + (0 if completed else 1),
        )

    def awaited(self, resource_url: str) -> Family:
        return replace(self, awaiting=True, resource_url=resource_url)

    def is_open(self, child_id: str) -> bool:
        return child_id in self.open

    def fails_on(self, completed: bool) -> bool:
        """Whether a child ending this way ends the parent failed."""
        return not completed and self.policy == FAIL_FAST

    @property
    def settled(self) -> bool:
        """Whether the parent's work is done: its task returned and no child is open."""
        return self.awaiting and not self.open
