"""A plain HTTP client for hostile requests to a live stack, what it counts and what it checks."""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx
from django.conf import settings

from tests.e2e.stack import LiveStack

logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise

PROBLEM = "application/problem+json"
BODY_LIMIT = int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
DEPTH_LIMIT = int(settings.ASYNC_REST["MAX_JSON_DEPTH"])
# Every path answers these for another method or an Accept without JSON (README).
ANY_PATH = {405, 406}
# A 4xx for these names the part of the request at fault.
NAMES_A_FIELD = {400, 401, 404, 405, 406, 411, 413, 415, 422}
PLACE = "POST /async/{resource_name}/order/"
CANCEL = "POST /async/orders/{order_id}/cancel/"
ORDER = "GET /async/orders/{order_id}/"
HISTORY = "GET /async/orders/{order_id}/history/"
LIST = "GET /async/orders/"
# The event store's tables (eventsourcing's names) and the topics a request records.
EVENT_TABLES = {"embedded": "stored_events", "production": "async_rest_events"}
QUEUED = "async_rest.Order.Queued"
CANCEL_TOPICS = ("async_rest.Order.CancelRequested", "async_rest.Order.Cancelled")


# ------------------------------------------------------------------ the API's surface

PARAMETERS = [(LIST, p) for p in ("status", "resource", "created_after", "created_before",
              "cursor", "page_size")] + [(ORDER, "version"), (ORDER, "at"),
              (HISTORY, "page"), (HISTORY, "page_size"), (LIST, "format")]  # fmt: skip
TIMES = [(LIST, "created_after"), (LIST, "created_before"), (ORDER, "at")]


def path_of(operation: str, order: str) -> str:
    """The operation's path, on ``order`` (the path of an order) where it takes one."""
    return {
        PLACE: "/async/regina/order/",
        CANCEL: order + "cancel/",
        ORDER: order,
        HISTORY: order + "history/",
        LIST: "/async/orders/",
    }[operation]


HEADERS = ["Authorization", "Idempotency-Key", "Prefer", "Accept", "Accept-Language", "Cookie",
           "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Host", "Origin",
           "Referer", "X-CSRFToken", "Range", "If-Modified-Since", "Forwarded"]  # fmt: skip


SEGMENTS = ["orders", "order", "history", "cancel", "regina", "schema", "docs", "%2E%2E",
            "%2E", "", "%2F", "a" * 1000, "0b6e3f4e-8a0e-4bd4-9a54-5f2a3cbb1f5e"]  # fmt: skip


def segment(text: str) -> str:
    # Dots encoded: a client resolves /./ and /../ before sending (Django does not).
    return text if text in SEGMENTS else query(x=text)[2:].replace(".", "%2E")


def query(**params: str) -> str:
    """A query string that sends every value as its bytes, lone surrogates included."""
    return "&".join(
        f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
        for k, v in params.items()
    )


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    method: str = "GET"
    problem: dict[str, Any] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        from decimal import Decimal

        return json.loads(self.body, parse_float=Decimal, parse_int=Decimal)


class Ledger:
    """What requests record, counted in the stores themselves: orders, cancels, keys."""

    def __init__(self, live: LiveStack, kind: str) -> None:
        self.live, self.kind = live, kind
        self._connections: dict[str, Any] = {}

    def _connection(self, store: str) -> Any:
        if store not in self._connections:
            if self.kind == "embedded":
                path = self.live.var_dir / f"{store}.sqlite3"
                self._connections[store] = sqlite3.connect(path, isolation_level=None)
            else:
                import psycopg

                # One database holds both stores in production.
                self._connections[store] = psycopg.connect(
                    self.live.eventstore_url, autocommit=True
                )
        return self._connections[store]

    def _one(self, sql: str, store: str, *args: Any) -> int:
        if self.kind == "embedded":
            sql = sql.replace("%s", "?")
        row = self._connection(store).execute(sql, args).fetchone()
        assert row is not None
        return int(row[0])

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()

    def count(self) -> tuple[int, int]:
        """Orders placed (Queued events) and idempotency keys kept: a worker adds neither."""
        orders = f"SELECT count(*) FROM {EVENT_TABLES[self.kind]} WHERE topic = %s"
        keys = "SELECT count(*) FROM api_idempotencykey"
        return self._one(orders, "events", QUEUED), self._one(keys, "django")

    def cancels(self, order_id: UUID) -> int:
        """The order's cancel events."""
        sql = (
            f"SELECT count(*) FROM {EVENT_TABLES[self.kind]}"
            " WHERE originator_id = %s AND topic IN (%s, %s)"
        )
        key: Any = order_id.hex if self.kind == "embedded" else order_id
        return self._one(sql, "events", key, *CANCEL_TOPICS)


class HostileClient:
    def __init__(self, live: LiveStack, kind: str) -> None:
        self.live, self.kind = live, kind
        self.http = httpx.Client(base_url=live.base, timeout=30, follow_redirects=False)
        self.ledger = Ledger(live, kind)
        schema = self.http.get("/async/schema/?format=json", headers=live.headers).json()
        self.schema = {
            f"{method.upper()} {path}": {int(code) for code in operation["responses"]}
            for path, operations in schema["paths"].items()
            for method, operation in operations.items()
        }

    def send(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: str = "",
        auth: bool = True,
    ) -> Answer:
        sent = {"Content-Type": "application/json"} if body is not None else {}
        if auth:
            sent.update(self.live.headers)
        sent.update(headers or {})
        url = f"{path}?{params}" if params else path
        response = self.http.request(
            method,
            url,
            content=body,
            headers={k.encode(): v.encode("latin-1") for k, v in sent.items()},
        )
        return Answer(response.status_code, dict(response.headers), response.content, method)

    def raw(self, request: bytes) -> Answer:
        """Bytes as sent on the wire (chunked bodies, ...); the connection closes after."""
        with socket.create_connection(("127.0.0.1", self.live.port), timeout=30) as sock:
            sock.sendall(request)
            received = b"".join(iter(lambda: sock.recv(65536), b""))
        head, _, body = received.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (li.partition(":") for li in lines)}
        if headers.get("transfer-encoding") == "chunked":
            body = _dechunked(body)
        return Answer(int(status_line.split()[1]), headers, body, status_line.split()[0])

    def raw_post(self, path: str, chunks: list[bytes]) -> Answer:
        """A POST whose body is sent chunked (no Content-Length)."""
        auth = "".join(f"{k}: {v}\r\n" for k, v in self.live.headers.items())
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c) + b"0\r\n\r\n"
        return self.raw(head + body)

    def place(self, context: dict[str, Any] | None = None) -> str:
        """A new order (that completes at once); its path."""
        body = json.dumps({"context": {"steps": 1, "step_seconds": 0, **(context or {})}})
        answer = self.send("POST", "/async/regina/order/", body=body.encode())
        assert answer.status == 302, answer.body
        return httpx.URL(answer.headers["location"]).path

    def __enter__(self) -> HostileClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.ledger.close()
        self.http.close()

    def documented(self, operation: str) -> set[int]:
        return self.schema[operation] | ANY_PATH

    def send_counted(self, method: str, path: str, **kwargs: Any) -> Answer:
        """Send; when refused, nothing may have been recorded (orders, idempotency keys)."""
        before = self.ledger.count()
        answer = self.send(method, path, **kwargs)
        if answer.status >= 400:
            assert self.ledger.count() == before, ("recorded when refused", answer.body[:200])
        return answer

    def place_counted(self, body: bytes, **kwargs: Any) -> Answer:
        """A hostile POST order, checked as documented."""
        answer = self.send_counted("POST", "/async/regina/order/", body=body, **kwargs)
        return check(answer, self.documented(PLACE))

    def cancel_counted(self, body: bytes, **kwargs: Any) -> Answer:
        """A hostile cancel of a new order, checked; when refused, it has no cancel event."""
        target = self.place()
        answer = self.send_counted("POST", target + "cancel/", body=body, **kwargs)
        if answer.status >= 400:
            assert self.ledger.cancels(order_id_of(target)) == 0, answer.body[:200]
        return check(answer, self.documented(CANCEL))


def order_id_of(path: str) -> UUID:
    return UUID(path.rstrip("/").split("/")[3])


def _dechunked(body: bytes) -> bytes:
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


def check(answer: Answer, documented: set[int], field: str | None = None) -> Answer:
    """A documented status, never 5xx; every 4xx a full problem, naming the field at fault."""
    assert answer.status < 500, (answer.status, answer.body[:300])
    assert answer.status in documented, (answer.status, sorted(documented), answer.body[:300])
    if answer.status < 400:
        return answer
    assert answer.content_type.startswith(PROBLEM), (answer.content_type, answer.body[:200])
    if answer.method == "HEAD":
        return answer
    problem = json.loads(answer.body)
    for name in ("type", "title", "detail", "instance"):
        assert isinstance(problem.get(name), str), (name, problem)
    assert problem["status"] == answer.status, problem
    if answer.status in NAMES_A_FIELD:
        assert isinstance(problem.get("field"), str) and problem["field"], problem
    if field is not None:
        assert problem.get("field") == field, (field, problem)
    answer.problem = problem
    return answer


def refused(answer: Answer, status: int, field: str) -> None:
    assert (answer.status, answer.problem.get("field")) == (status, field), (
        answer.status,
        answer.body[:300],
    )
