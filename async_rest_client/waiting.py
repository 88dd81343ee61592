"""How ``wait()`` follows an order until it ends: pluggable strategies, tried in turn.

A strategy is any object with ``follow(session, watch)``: a plan (protocol.py) that keeps
``watch`` up to date until the order ends or ``watch``'s deadline passes, and returns True;
or returns False at once when the server does not offer that way of waiting, so that the next
strategy is tried. Three come with the client, and ``Fallback`` chains them:

- ``EventStream``: ``GET <order>/events/`` as Server-Sent Events, the server pushing each
  change. Each event's data is expected to be the order's JSON; any other event makes the
  client read the order again. Reconnects with ``Last-Event-ID`` (the order's version) when
  the stream drops. Not offered (404, 405, 406, 501 or not ``text/event-stream``): False, and
  the session remembers not to ask again.
- ``LongPolling``: a poll that sends ``Prefer: wait=N`` (RFC 7240) so that the server may
  hold the answer until the order changes. When the answer carries ``Preference-Applied``
  the next poll follows at once (the server did the waiting); when it does not, the server
  does not long-poll: the client stops asking and polls plainly.
- ``Polling``: GET the order with ``If-None-Match`` (a 304 costs the server nothing), then
  sleep what ``Retry-After`` says (kept between ``min_interval`` and ``max_interval``).

The default, ``default_strategy()``, is ``Fallback(EventStream(), LongPolling(), Polling())``:
whatever the server offers, the client uses the best of it, and against a server with
neither stream nor long-poll it costs one 404 per client, then plain polling.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx

from async_rest_client.errors import OrderCancelled, OrderFailed, OrderTimeout
from async_rest_client.models import Order
from async_rest_client.operations import Seen, fetch, read_order
from async_rest_client.progress import ProgressBar
from async_rest_client.protocol import (
    Answer,
    CloseStream,
    NextLine,
    OpenStream,
    Plan,
    Send,
    Session,
    Sleep,
    exchange,
    retry_after,
)


@dataclass
class Watch:
    """One ``wait()`` under way: the newest state known, its ETag, and when to give up."""

    order: Order
    etag: str | None = None
    deadline: float | None = None  # on the session's clock; None: never give up
    on_change: Callable[[Order], None] | None = None

    def left(self, s: Session) -> float | None:
        return None if self.deadline is None else self.deadline - s.clock()

    def expired(self, s: Session) -> bool:
        left = self.left(s)
        return left is not None and left <= 0

    def saw(self, seen: Seen | None) -> None:
        """Take a newer state (None: a 304, nothing changed)."""
        if seen is None:
            return
        self.etag = seen.etag
        changed = seen.order != self.order
        self.order = seen.order
        if changed and self.on_change is not None:
            self.on_change(seen.order)


class Strategy(Protocol):
    """A way of waiting; see the module's docstring."""

    def follow(self, s: Session, watch: Watch) -> Plan[bool]: ...


@dataclass
class Polling:
    """GET with ``If-None-Match``, then sleep ``Retry-After`` (bounded), until it ends."""

    interval: float = 1.0  # when the server sends no Retry-After
    min_interval: float = 0.1
    max_interval: float = 30.0

    def follow(self, s: Session, watch: Watch) -> Plan[bool]:
        while not watch.order.ended and not watch.expired(s):
            answer = yield from self.poll(s, watch)
            if watch.order.ended:
                break
            left = watch.left(s)
            pause = self.delay(s, answer) if left is None else min(self.delay(s, answer), left)
            if pause > 0:
                yield Sleep(pause)
        return True

    def poll(self, s: Session, watch: Watch) -> Plan[Answer]:
        headers = {"If-None-Match": watch.etag} if watch.etag else {}
        send = Send("GET", watch.order.links.self, headers)
        answer = yield from exchange(s, send, repeatable=True)
        watch.saw(None if answer.status == 304 else read_order(answer))
        return answer

    def delay(self, s: Session, answer: Answer) -> float:
        asked = retry_after(answer.headers)
        wanted = self.interval if asked is None else asked
        return min(self.max_interval, max(self.min_interval, wanted))


@dataclass
class LongPolling(Polling):
    """Polling that asks the server to hold each answer up to ``wait`` seconds."""

    wait: int = 30

    def poll(self, s: Session, watch: Watch) -> Plan[Answer]:
        if "prefer-wait" in s.not_offered:
            return (yield from super().poll(s, watch))
        left = watch.left(s)
        hold = self.wait if left is None else max(1, min(self.wait, int(left)))
        headers = {"Prefer": f"wait={hold}"}
        if watch.etag:
            headers["If-None-Match"] = watch.etag
        send = Send("GET", watch.order.links.self, headers, timeout=hold + 10.0)
        answer = yield from exchange(s, send, repeatable=True)
        watch.saw(None if answer.status == 304 else read_order(answer))
        if "wait" not in answer.headers.get("Preference-Applied", "") and not watch.order.ended:
            s.not_offered.add("prefer-wait")
        return answer

    def delay(self, s: Session, answer: Answer) -> float:
        if "wait" in answer.headers.get("Preference-Applied", ""):
            return 0.0  # the server held the request: ask again at once
        return super().delay(s, answer)


@dataclass
class ServerSentEvent:
    """One event of a ``text/event-stream``: its type, data, id and reconnection delay."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: float | None = None


class EventParser:
    """The text/event-stream format (WHATWG HTML §9.2), fed one line at a time."""

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._retry: float | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        """The event a blank line ends, if any; other lines accumulate into it."""
        if not line:
            if not self._data:
                self._event = ""
                return None
            event = ServerSentEvent(
                self._event or "message", "\n".join(self._data), self._id, self._retry
            )
            self._data, self._event, self._retry = [], "", None
            return event
        if line.startswith(":"):
            return None  # a comment: servers send them to keep the connection open
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\x00" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value) / 1000
        return None


NOT_OFFERED = (404, 405, 406, 501)


@dataclass
class EventStream:
    """Follow ``<order>/events/`` (Server-Sent Events), reconnecting when it drops."""

    read_timeout: float = 60.0  # silence after which the stream is reopened
    reconnect_delay: float = 1.0

    def follow(self, s: Session, watch: Watch) -> Plan[bool]:
        if "events" in s.not_offered:
            return False
        url = watch.order.links.self + "events/"
        while not watch.order.ended and not watch.expired(s):
            left = watch.left(s)
            headers = {"Accept": "text/event-stream", "Last-Event-ID": str(watch.order.version)}
            timeout = self.read_timeout if left is None else min(self.read_timeout, left)
            delay = self.reconnect_delay
            # No yield in a finally: a plan closed mid-way must not yield. The clients close
            # a stream left open when a plan ends, whichever way it ends.
            try:
                answer = yield OpenStream(url, headers, read_timeout=max(0.1, timeout))
                kind = answer.headers.get("Content-Type", "")
                if answer.status != 200 or not kind.startswith("text/event-stream"):
                    yield CloseStream()
                    if answer.status in NOT_OFFERED or answer.status < 300:
                        s.not_offered.add("events")
                    return False
                delay = yield from self._read(s, watch)
            except httpx.TransportError:
                pass  # dropped or silent for read_timeout: read the order, then reconnect
            yield CloseStream()
            if not watch.order.ended and not watch.expired(s):
                # What changed while no stream was open is not lost: read it.
                watch.saw((yield from fetch(s, watch.order.links.self, watch.etag)))
                if not watch.order.ended:
                    left = watch.left(s)
                    yield Sleep(delay if left is None else max(0.0, min(delay, left)))
        return True

    def _read(self, s: Session, watch: Watch) -> Plan[float]:
        """Read events until the order ends or the stream does; the reconnection delay."""
        parser, delay = EventParser(), self.reconnect_delay
        while not watch.order.ended:
            line = yield NextLine()
            if line is None:
                break
            event = parser.feed(line)
            if event is None:
                continue
            if event.retry is not None:
                delay = event.retry
            try:
                data = json.loads(event.data)
            except ValueError:
                data = None
            if isinstance(data, dict) and "uuid" in data and "status" in data:
                watch.saw(Seen(Order.from_json(data), None))
            else:  # an event that is not the order: read the order itself
                watch.saw((yield from fetch(s, watch.order.links.self, watch.etag)))
        return delay


@dataclass
class Fallback:
    """Try each strategy in turn; the first that the server offers does the waiting."""

    strategies: tuple[Strategy, ...]

    def __init__(self, *strategies: Strategy) -> None:
        self.strategies = strategies

    def follow(self, s: Session, watch: Watch) -> Plan[bool]:
        for strategy in self.strategies:
            if (yield from strategy.follow(s, watch)):
                return True
        return False


def default_strategy() -> Strategy:
    """The server's event stream if it has one, else long-polling if it holds, else polling."""
    return Fallback(EventStream(), LongPolling(), Polling())


def until_ended(
    s: Session,
    watch: Watch,
    strategy: Strategy,
    timeout: float | None,
    bar: ProgressBar | None = None,
) -> Plan[Order]:
    """Follow the order with ``strategy``; the completed order, or the typed error of its end."""
    if timeout is not None:
        watch.deadline = s.clock() + timeout
    if bar is not None:
        bar.show(watch.order)
        watch.on_change = bar.show
    try:
        if not watch.order.ended:
            yield from strategy.follow(s, watch)
    finally:
        if bar is not None:
            bar.close()
    order = watch.order
    if order.status == "completed":
        return order
    if order.status == "failed":
        raise OrderFailed(order)
    if order.status == "cancelled":
        raise OrderCancelled(order)
    raise OrderTimeout(order, timeout or 0.0)
