"""``ProgressItems``: iterate a task's items; report its order's progress as they go."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Generic, TypeVar, cast

if TYPE_CHECKING:
    from orders.task_api import OrderHandle

T = TypeVar("T")


def default_min_interval() -> float:
    """Fewest seconds between two progress events (``ASYNC_REST["PROGRESS_INTERVAL"]``)."""
    from django.conf import settings

    return float(settings.ASYNC_REST["PROGRESS_INTERVAL"])


def _length(items: range) -> int | None:
    try:
        return len(items)
    except OverflowError:  # longer than sys.maxsize: len() cannot tell, the length was given
        return None


class ProgressItems(Generic[T]):
    """Iterate ``iterable`` and report the order's progress as items are consumed.

    Writes at most one event per whole percent, no more often than ``min_interval``
    seconds, and always the last one. Items pass through C-level iterators chained
    one percent at a time (a range's own slices; ``islice`` of anything else), so Python
    code runs only at percent boundaries and an item costs one or two C-level steps
    more than in a bare loop (bench/progress_items.py). Nothing is loaded into memory.
    """

    def __init__(
        self,
        order: OrderHandle,
        iterable: Iterable[T],
        length: int | None = None,
        message: str | None = None,
        min_interval: float | None = None,
    ) -> None:
        if length is None:
            length = len(iterable)  # type: ignore[arg-type]
        if length < 0:
            raise ValueError("length must not be negative")
        self.order = order
        self.iterable = iterable
        self.length = length
        self.message = message
        self.min_interval = default_min_interval() if min_interval is None else min_interval
        self.consumed = 0
        self.written: list[int] = []
        self._last_write = -math.inf

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[T]:
        self._ran_out = False
        self._last_write = time.monotonic()  # the interval also runs from the start
        if type(self.iterable) is range and _length(self.iterable) == self.length:
            chunks = cast(Iterator[Iterable[T]], self._range_chunks(self.iterable))
        else:
            chunks = self._chunks(iter(self.iterable))
        return itertools.chain.from_iterable(chunks)

    def _boundaries(self) -> Iterator[int]:
        # The item counts at which each whole percent is reached, in order.
        length, done = self.length, 0
        while done < length:
            percent = (done * 100) // length + 1
            done = min(length, -(-percent * length // 100))  # ceil
            yield done

    def _range_chunks(self, items: range) -> Iterator[range]:
        # A range slices into ranges at no cost, and the chain takes each one's own
        # iterator: an item costs one C-level step more than in a bare loop, not two.
        # The chain asks for the next chunk only once the consumer asks for the item
        # after the last one of this chunk, that is once the whole chunk is processed.
        done = 0
        for boundary in self._boundaries():
            yield items[done:boundary]
            done = self.consumed = boundary
            self._report(done, last=done == self.length)
        if not self.length:
            self._report(0, last=True)

    def _mark_end(self) -> Iterator[T]:
        # Runs once, only if the iterable ends before the announced length.
        self._ran_out = True
        yield from ()

    def _chunks(self, items: Iterator[T]) -> Iterator[Iterable[T]]:
        # Each chunk holds the items up to the next whole percent. The chain asks for
        # the next chunk only when the consumer asks for the item after the last one,
        # so the consumer has then processed the whole chunk. Items are never counted
        # one by one: that would cost a Python call per item.
        length, done = self.length, 0
        carried = 0  # the item fetched at the last boundary and handed over alone
        for boundary in self._boundaries():
            need = boundary - done - carried
            if boundary == length:
                # The last chunk is wrapped so that an iterable shorter than announced
                # is noticed; only these items pay for the extra layer.
                if need:
                    yield itertools.islice(itertools.chain(items, self._mark_end()), need)
                done = done + carried if self._ran_out else length
                break
            if need:
                yield itertools.islice(items, need)
            # Fetch the item the consumer is asking for: getting one proves the chunk
            # before it was complete; getting none means the iterable ran short, and
            # progress stays at the last boundary proven.
            try:
                following = next(items)
            except StopIteration:
                done += carried  # the carried item was processed: the consumer asked on
                break
            done, carried = boundary, 1
            self.consumed = done
            self._report(done, last=False)
            yield (following,)
        self.consumed = done
        self._report(done, last=True)
        # Items beyond the announced length still pass through, at 100%.
        yield items

    def _report(self, done: int, last: bool) -> None:
        percent = 100 if self.length == 0 else min(100, (done * 100) // self.length)
        now = time.monotonic()
        if self.written and percent <= self.written[-1]:
            return
        if not last and now - self._last_write < self.min_interval:
            return
        self.order.progress(percent, self.message, current=done, total=self.length)
        self.written.append(percent)
        self._last_write = now
