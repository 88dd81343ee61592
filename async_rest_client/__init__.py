"""A Python client for async-rest: place an order, wait for it with a bar, read its history.

It depends on httpx and tqdm only (not on Django nor on the server's code), so it can be
installed wherever the orders are placed from. The modules, one concept each:

- ``client``: ``Client`` and ``RemoteOrder`` (blocking); ``aio``: the same for asyncio.
- ``models``: the server's bodies as dataclasses (``Order``, ``Children``, ``Failure``,
  ``HistoryEvent``).
- ``errors``: ``ProblemError`` and its subclasses per status, ``OrderFailed``, …
- ``waiting``: how ``wait()`` follows an order (event stream, long-poll, polling).
- ``protocol`` and ``operations``: the logic, without I/O, that both clients run.
- ``cli``: ``python -m async_rest_client place regina --wait``.
"""

from async_rest_client.aio import AsyncClient, AsyncRemoteOrder
from async_rest_client.client import Client, RemoteOrder
from async_rest_client.errors import (
    BadRequest,
    ClientError,
    Conflict,
    ContentTooLarge,
    Forbidden,
    NetworkError,
    NotFound,
    OrderCancelled,
    OrderEnded,
    OrderFailed,
    OrderTimeout,
    ProblemError,
    ServerError,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnexpectedAnswer,
    UnprocessableContent,
    UnsupportedMediaType,
)
from async_rest_client.models import Children, Failure, HistoryEvent, Links, Order
from async_rest_client.progress import ProgressBar
from async_rest_client.protocol import RetryPolicy
from async_rest_client.waiting import EventStream, Fallback, LongPolling, Polling

__version__ = "0.1.0"

__all__ = [
    "AsyncClient",
    "AsyncRemoteOrder",
    "BadRequest",
    "Children",
    "Client",
    "ClientError",
    "Conflict",
    "ContentTooLarge",
    "EventStream",
    "Failure",
    "Fallback",
    "Forbidden",
    "HistoryEvent",
    "Links",
    "LongPolling",
    "NetworkError",
    "NotFound",
    "Order",
    "OrderCancelled",
    "OrderEnded",
    "OrderFailed",
    "OrderTimeout",
    "Polling",
    "ProblemError",
    "ProgressBar",
    "RemoteOrder",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnexpectedAnswer",
    "UnprocessableContent",
    "UnsupportedMediaType",
    "__version__",
]
