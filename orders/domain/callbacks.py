"""An order's completion callback as plain, immutable data: which events are owed a delivery.

The ``Order`` aggregate holds one ``CallbackLedger`` (or none) and replaces it on every
event, never mutating it: a detached copy of an order (``copy.copy``) may share it safely.
The rules of the ledger are pure: whether an event is owed a delivery, whether its
delivery is settled (delivered, given up, or stopped by a 410), when the next attempt is
expected, and which deliveries are overdue (the supervision loop's safety net).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

# The kinds of events a callback may ask for, as the request spells them.
CALLBACK_KINDS = ("completed", "failed", "cancelled", "progressed")
# Asked for when the request names none: the order's end, however it ends.
DEFAULT_KINDS = ("completed", "failed", "cancelled")
# A receiver answering this status code wants no more deliveries for the order.
GONE = 410


class CallbackRejectedError(ValueError):
    """A callback the order cannot take; ``field`` names the part at fault."""

    def __init__(self, message: str, field: str = "callback") -> None:
        super().__init__(message)
        self.field = field


def check_callback(url: str, events: list[str] | tuple[str, ...]) -> None:
    """The rules of the callback itself (where it may go is the application's check)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:
        raise CallbackRejectedError("callback.url is not a valid URL.", "callback.url") from None
    if "\x00" in url or any(c.isspace() for c in url):
        raise CallbackRejectedError("callback.url must not hold spaces or NUL.", "callback.url")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallbackRejectedError(
            "callback.url must be an absolute http or https URL.", "callback.url"
        )
    if parts.username or parts.password:
        raise CallbackRejectedError("callback.url must not hold credentials.", "callback.url")
    unknown = [kind for kind in events if kind not in CALLBACK_KINDS]
    if unknown or not events or len(set(events)) != len(events):
        raise CallbackRejectedError(
            f"callback.events must be distinct names among {', '.join(CALLBACK_KINDS)}.",
            "callback.events",
        )


def _frozen(mapping: Mapping[int, Any]) -> Mapping[int, Any]:
    # A new dict each time, never changed afterwards (a mapping proxy cannot be deep-copied,
    # which the repository's cache does).
    return dict(mapping)


@dataclass(frozen=True)
class CallbackLedger:
    """The callback an order was placed with, and where each owed delivery stands."""

    url: str
    events: tuple[str, ...]
    base_url: str
    # Versions of the events owed a delivery, oldest first.
    owed: tuple[int, ...] = ()
    # Per owed version: attempts made, and when the next one is expected (None: settled).
    attempts: Mapping[int, int] = field(default_factory=lambda: _frozen({}))
    next_at: Mapping[int, datetime | None] = field(default_factory=lambda: _frozen({}))
    delivered: frozenset[int] = frozenset()
    # A 410 from the receiver: nothing more is sent for this order.
    stopped: bool = False

    def wants(self, kind: str) -> bool:
        return kind in self.events

    def owe(self, version: int, when: datetime) -> CallbackLedger:
        return replace(
            self,
            owed=(*self.owed, version),
            next_at=_frozen({**self.next_at, version: when}),
        )

    def is_owed(self, version: int) -> bool:
        return version in self.next_at

    def is_due(self, version: int) -> bool:
        """Owed and not settled: an attempt may be made (a re-send may make one anyway)."""
        return not self.stopped and self.next_at.get(version) is not None

    def attempted(
        self, version: int, delivered: bool, retry_at: datetime | None, stop: bool
    ) -> CallbackLedger:
        """The ledger after one attempt; ``retry_at`` None settles the delivery."""
        return replace(
            self,
            attempts=_frozen({**self.attempts, version: self.attempts.get(version, 0) + 1}),
            next_at=_frozen({**self.next_at, version: None if delivered else retry_at}),
            delivered=self.delivered | {version} if delivered else self.delivered,
            stopped=self.stopped or stop,
        )

    def overdue(self, now: datetime, grace: timedelta) -> list[int]:
        """Owed deliveries whose next attempt should have happened ``grace`` ago.

        What the safety net sends again: the event committed but its delivery was never
        enqueued (the process died in between), or a retry was lost with its worker.
        """
        if self.stopped:
            return []
        return [
            version
            for version in self.owed
            if (due := self.next_at.get(version)) is not None and due + grace <= now
        ]
