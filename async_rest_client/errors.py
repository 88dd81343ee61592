"""What can go wrong, as exceptions: a refused request, a lost network, an order that ended badly.

Every error this package raises is a ``ClientError``, so one ``except ClientError`` is enough
for a caller that only wants to log and move on. Below it are three families:

- ``ProblemError``: the server answered with an error. async-rest writes every error as
  ``application/problem+json`` (RFC 9457): ``type``, ``title``, ``status``, ``detail``,
  ``instance`` and ``field`` (the part of the request at fault, e.g. ``uuid`` or
  ``Idempotency-Key``). Each status has its subclass (``NotFound``, ``Conflict``, …) so that
  callers catch what they mean: ``except NotFound``, not ``if err.status == 404``. An error
  answer that is not problem+json (a proxy's HTML 502) still becomes one, its text as detail.
- ``NetworkError``: no answer at all (connection refused, dropped, timed out), after the
  retries the request was allowed.
- The end of an order: ``OrderFailed`` (the task raised; ``message`` and ``error_type`` say
  what), ``OrderCancelled``, and ``OrderTimeout`` (``wait()`` ran out of time; also a
  ``TimeoutError``, so code written for the standard library catches it).
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from async_rest_client.models import Order


class ClientError(Exception):
    """The base of every error raised by async_rest_client."""


class UnexpectedAnswer(ClientError):
    """The server answered something the protocol does not allow (a bug on one side)."""


class NetworkError(ClientError):
    """No answer from the server, even after retrying; the cause is the httpx error."""


class ProblemError(ClientError):
    """An error answer (RFC 9457 problem details): ``status``, ``title``, ``detail``, ``field``."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        field: str | None = None,
        *,
        type: str = "about:blank",
        instance: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.field = field
        self.type = type
        self.instance = instance
        self.headers: Mapping[str, str] = headers or {}
        self.body = body
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.status} {self.title}: {self.detail}"
        return f"{text} (field: {self.field})" if self.field else text


class BadRequest(ProblemError):
    """400: the request is malformed (``field`` names the culprit)."""


class Unauthorized(ProblemError):
    """401: no token, or a bad one."""


class Forbidden(ProblemError):
    """403: signed in, but not allowed."""


class NotFound(ProblemError):
    """404: no such order (or not yours: the server does not tell them apart), or resource."""


class Conflict(ProblemError):
    """409: e.g. cancelling an order that has already ended."""


class ContentTooLarge(ProblemError):
    """413: the context is larger than the server accepts."""


class UnsupportedMediaType(ProblemError):
    """415: the body was not JSON."""


class UnprocessableContent(ProblemError):
    """422: an Idempotency-Key already used with another body."""


class TooManyRequests(ProblemError):
    """429: throttled, still so after the retries allowed (``headers['Retry-After']``)."""


class ServerError(ProblemError):
    """5xx: the server failed."""


class ServiceUnavailable(ServerError):
    """503: the server's store is unreachable, still so after the retries allowed."""


_BY_STATUS: dict[int, type[ProblemError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: ContentTooLarge,
    415: UnsupportedMediaType,
    422: UnprocessableContent,
    429: TooManyRequests,
    503: ServiceUnavailable,
}


def problem_from(status: int, headers: Mapping[str, str], body: Any) -> ProblemError:
    """The exception for an error answer, read from its problem+json body when it has one."""
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ProblemError)
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    if isinstance(body, dict):
        return cls(
            status,
            str(body.get("title") or phrase),
            str(body.get("detail") or ""),
            body.get("field"),
            type=str(body.get("type") or "about:blank"),
            instance=body.get("instance"),
            headers=headers,
            body=body,
        )
    # Not problem+json (a proxy or load balancer answered): keep the start of its text.
    text = body if isinstance(body, str) else ""
    return cls(status, phrase, text[:500], headers=headers, body=body)


class OrderEnded(ClientError):
    """The order ended without completing; ``order`` is its final state."""

    def __init__(self, order: Order, text: str) -> None:
        self.order = order
        super().__init__(text)


class OrderFailed(OrderEnded):
    """The order's task failed: ``message`` (what the task said) and ``error_type``."""

    def __init__(self, order: Order) -> None:
        error = order.error
        self.message: str | None = error.message if error else order.message
        self.error_type: str | None = error.type if error else None
        kind = f" ({self.error_type})" if self.error_type else ""
        super().__init__(order, f"order {order.uuid} failed{kind}: {self.message}")


class OrderCancelled(OrderEnded):
    """The order was cancelled before it completed."""

    def __init__(self, order: Order) -> None:
        super().__init__(order, f"order {order.uuid} was cancelled")


class OrderTimeout(ClientError, TimeoutError):
    """``wait()`` gave up after ``timeout`` seconds; ``order`` is the last state seen."""

    def __init__(self, order: Order, timeout: float) -> None:
        self.order = order
        self.timeout = timeout
        super().__init__(
            f"order {order.uuid} is still {order.status} ({order.progress}%) after {timeout:g}s"
        )
