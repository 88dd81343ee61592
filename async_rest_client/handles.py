"""What a remote order of either client holds: its newest known state, its ETag, its key.

``RemoteOrder`` (client.py) and ``AsyncRemoteOrder`` (aio.py) are both a ``BaseRemoteOrder``:
the same attributes and the same plans, one running them blocking and the other awaiting.
The state is an ``Order`` (models.py), replaced by every call that reads a newer one.
"""

from __future__ import annotations

from uuid import UUID

from async_rest_client.models import Order
from async_rest_client.operations import Placed, Seen
from async_rest_client.progress import ProgressBar
from async_rest_client.waiting import Watch


class BaseRemoteOrder:
    """An order on the server and what this client last saw of it."""

    def __init__(self, seen: Seen) -> None:
        self.state: Order = seen.order
        self.etag: str | None = seen.etag
        # The Idempotency-Key it was placed with, and whether that answer was a replay.
        self.key: str | None = seen.key if isinstance(seen, Placed) else None
        self.replayed: bool = seen.replayed if isinstance(seen, Placed) else False

    @property
    def id(self) -> UUID:
        return self.state.uuid

    @property
    def url(self) -> str:
        return self.state.links.self

    def _saw(self, seen: Seen | None) -> Order:
        if seen is not None:
            self.state, self.etag = seen.order, seen.etag
        return self.state

    def _watch(self) -> Watch:
        return Watch(self.state, self.etag)

    def _after(self, watch: Watch) -> None:
        self.state, self.etag = watch.order, watch.etag

    @staticmethod
    def _bar(progress: bool | ProgressBar) -> ProgressBar | None:
        if isinstance(progress, ProgressBar):
            return progress
        return ProgressBar() if progress else None

    def __repr__(self) -> str:
        s = self.state
        return f"<{type(self).__name__} {s.uuid} {s.resource_name} {s.status} {s.progress}%>"
