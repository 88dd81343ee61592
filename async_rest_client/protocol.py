"""The client's logic written once, without I/O, for both the sync and the async client.

Every call of the client (place, refresh, wait, history, …) is a *plan*: a generator that
``yield``s the I/O it needs as small *effect* objects — ``Send`` a request, ``Sleep``, open a
stream and read it line by line — and receives each result back (an ``Answer``, a line), or
has the transport's exception thrown into it where it yielded. ``Client`` (client.py) runs a
plan with blocking httpx calls and ``time.sleep``; ``AsyncClient`` (aio.py) runs the very same
plan with ``await``. So retries, problem handling, paging and the waiting strategies exist
once and are tested once, and the two clients cannot drift apart.

This module holds the effects, the ``Answer`` a request gets, and ``exchange``: one request
with its bounded retries (``RetryPolicy``):

- 429 and 503 are retried after their ``Retry-After`` (seconds or an HTTP date), or after an
  exponential backoff when the header is missing;
- a connection that could not be made is retried for any request (nothing was sent);
- a connection lost after the request was sent is retried only when repeating the request is
  harmless: a GET, or a POST that carries an ``Idempotency-Key`` (the server answers a repeat
  with the first answer instead of ordering twice);
- a POST whose key is still being handled by the server (409 naming ``Idempotency-Key``, with
  ``Retry-After``) is retried too: it is our own earlier attempt, still running;
- never more than ``max_attempts`` tries nor ``max_seconds`` in all: past those the last
  error is raised (a ``ProblemError`` or a ``NetworkError``).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from async_rest_client.errors import NetworkError, problem_from

T = TypeVar("T")


@dataclass(frozen=True)
class Send:
    """Send one request; the plan receives an ``Answer`` (or the httpx error is thrown in)."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] | None = None
    json: Any = None
    timeout: float | None = None  # None: the client's own timeout


@dataclass(frozen=True)
class Sleep:
    """Wait this many seconds (``time.sleep`` or ``asyncio.sleep``)."""

    seconds: float


@dataclass(frozen=True)
class OpenStream:
    """Send a GET and keep the body open to read it line by line; receives an ``Answer``."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    read_timeout: float | None = None  # longest silence before httpx.ReadTimeout is thrown in


@dataclass(frozen=True)
class NextLine:
    """The open stream's next line (without its line ending), or None at its end."""


@dataclass(frozen=True)
class CloseStream:
    """Close the open stream (a no-op when none is open)."""


Effect = Send | Sleep | OpenStream | NextLine | CloseStream
Plan = Generator[Effect, Any, T]


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, headers (case-insensitive), the JSON body (or text, or None)."""

    status: int
    headers: Mapping[str, str]
    body: Any
    url: str = ""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one request is retried: at most ``max_attempts`` tries within ``max_seconds``.

    Without a ``Retry-After``, the n-th retry waits ``backoff * 2**(n-1)`` seconds, at most
    ``max_delay``.
    """

    max_attempts: int = 5
    max_seconds: float = 60.0
    backoff: float = 0.5
    max_delay: float = 10.0

    def delay(self, attempt: int) -> float:
        return float(min(self.max_delay, self.backoff * 2 ** (attempt - 1)))


NO_RETRY = RetryPolicy(max_attempts=1)


@dataclass
class Session:
    """What every plan needs: the API's root URL, the retry policy and a clock."""

    api_root: str  # absolute, ends with "/": e.g. http://127.0.0.1:8000/async/
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], float] = field(default_factory=lambda: time.monotonic)
    # What the server turned out not to offer (e.g. "events"), so that it is asked once only.
    not_offered: set[str] = field(default_factory=set)


def retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait (``Retry-After``: seconds or HTTP date), if any."""
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# Errors where the request cannot have reached the server: any request may be sent again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _retryable_status(answer: Answer, send: Send) -> bool:
    if answer.status in (429, 503):
        return True
    # Our own earlier attempt with this key is still being handled: its answer will come.
    body = answer.body if isinstance(answer.body, dict) else {}
    return (
        answer.status == 409
        and "Idempotency-Key" in send.headers
        and body.get("field") == "Idempotency-Key"
        and "Retry-After" in answer.headers
    )


def exchange(s: Session, send: Send, *, repeatable: bool) -> Plan[Answer]:
    """Send ``send`` until it gets a non-error answer, within ``s.retry``; raise otherwise.

    ``repeatable``: sending the request twice does no harm (GET, keyed POST), so a
    connection lost after sending is retried too. A 3xx is an answer, not an error.
    """
    policy = s.retry
    give_up_at = s.clock() + policy.max_seconds
    attempt = 0
    while True:
        attempt += 1
        try:
            answer: Answer = yield send
        except httpx.TransportError as exc:
            if attempt >= policy.max_attempts or not (repeatable or isinstance(exc, _NOT_SENT)):
                raise NetworkError(f"{send.method} {send.url}: {exc!r}") from exc
            delay = policy.delay(attempt)
            if s.clock() + delay > give_up_at:
                raise NetworkError(f"{send.method} {send.url}: {exc!r}") from exc
        else:
            if answer.status < 400:
                return answer
            problem = problem_from(answer.status, answer.headers, answer.body)
            if attempt >= policy.max_attempts or not _retryable_status(answer, send):
                raise problem
            asked = retry_after(answer.headers)
            delay = policy.delay(attempt) if asked is None else asked
            if s.clock() + delay > give_up_at:
                raise problem  # the server asks for longer than we may wait: say so now
        yield Sleep(delay)


def answer_of(response: httpx.Response, *, with_body: bool = True) -> Answer:
    """An httpx response as an ``Answer``: JSON when it says so, else its text (or None)."""
    body: Any = None
    if with_body and response.content:
        if "json" in response.headers.get("Content-Type", ""):
            try:
                body = response.json()
            except ValueError:
                body = response.text
        else:
            body = response.text
    return Answer(response.status_code, response.headers, body, str(response.url))


def api_root(base_url: str, api_path: str = "/async/") -> str:
    """The API's root URL from the site's (``http://host:8000``) or the API's own URL."""
    base = base_url.rstrip("/")
    path = "/" + api_path.strip("/") if api_path.strip("/") else ""
    if path and not base.endswith(path):
        base += path
    return base + "/"


def default_headers(token: str | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """What every request sends: JSON accepted, the DRF token when there is one."""
    from async_rest_client import __version__

    headers = {
        "Accept": "application/json, application/problem+json",
        "User-Agent": f"async-rest-client/{__version__}",
    }
    if token:
        headers["Authorization"] = f"Token {token}"
    headers.update(extra or {})
    return headers
