"""Per-order keys for contexts: what the tracker asks of a key store, and how a context opens.

The tracker seals each new order's context with a key of its own (``seal``) and opens the
recorded context when it replays an order from the store (``open``); ``orders forget``
destroys the key. The key store itself is infrastructure (``erasure.keystore``), given to
the tracker by the composition root.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol
from uuid import UUID

from orders.domain.order import Order
from orders.domain.sealing import SealBrokenError, is_sealed, new_key, seal, unseal

log = logging.getLogger(__name__)


class ContextErasedError(LookupError):
    """The order's context was erased (forgotten): it cannot be read any more."""


class KeyStore(Protocol):
    """Where the per-order keys are kept."""

    def create(self, order_id: UUID, key: bytes) -> None:
        """Keep a new order's key (before its Queued is written)."""

    def lookup(self, order_id: UUID) -> bytes | bool | None:
        """The order's key; False when it was forgotten; None when there is no entry."""

    def forget(self, order_id: UUID) -> bool:
        """Destroy the key (or mark a key-less order forgotten); True if a key was destroyed."""


class ContextSealer:
    """Seals new contexts and opens recorded ones with the order's key from ``keys``."""

    def __init__(self, keys: KeyStore, *, seal_new: bool = True) -> None:
        self.keys = keys
        # False: new contexts are recorded in clear (they can still be forgotten, from
        # the read models and every read path, but not from the stream).
        self.seal_new = seal_new

    def seal(self, order_id: UUID, context: dict[str, Any]) -> dict[str, Any] | str:
        """What the order's Queued records: the sealed token (or the context, sealing off)."""
        return self.seal_for_save(order_id, context, with_save=False)[0]

    def seal_for_save(
        self, order_id: UUID, context: dict[str, Any], *, with_save: bool = True
    ) -> tuple[dict[str, Any] | str, tuple[str, list[Any]] | None]:
        """The recorded context, and the statement that keeps its key with the Queued save.

        Where the key store can (PostgreSQL, the project's recorder), the key is written by
        the statement that records the order: both or neither, and no round trip more
        per order placed. Elsewhere the key is kept now (committed before the Queued, so
        a recorded order always has its key) and the statement is None.
        """
        if not self.seal_new:
            return context, None
        key = new_key()
        statement_for = getattr(self.keys, "statement_for", None) if with_save else None
        statement = statement_for(order_id, key) if statement_for else None
        if statement is None:
            self.keys.create(order_id, key)
        return seal(key, order_id, context), statement

    def open(self, order_id: UUID, recorded: Any) -> dict[str, Any] | None:
        """The context in clear, or None when it cannot be read any more.

        A sealed context opens with its key; a plaintext one (recorded before sealing)
        reads as it is unless the order was forgotten, which hides it too.
        """
        key = self.keys.lookup(order_id)
        if not is_sealed(recorded):
            return None if key is False else recorded
        if not isinstance(key, bytes):
            return None  # the key was destroyed
        try:
            return unseal(key, order_id, recorded)
        except SealBrokenError:
            # Not raised: a replay that failed here would stall the catch-up for good.
            # The altered event also breaks the hash chain, which `orders verify` reports.
            log.error("the sealed context of order %s does not open", order_id)
            return None

    def open_order(self, order: Order) -> Order:
        """The order replayed from the store, its context opened (or marked erased)."""
        if not order.context_erased:
            context = self.open(order.id, order.context)
            order.context = {} if context is None else context
            order.context_erased = context is None
        return order
