"""Scripted HTTP answers (httpx.MockTransport) and a fake clock for the client's unit tests."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from async_rest_client import Client, Polling, RetryPolicy

BASE = "http://orders.test"
ORDER_ID = "dcbeeb9c-0c55-4432-9707-26318e1878ea"
ORDER_PATH = f"/async/orders/{ORDER_ID}/"
ORDER_URL = BASE + ORDER_PATH

ScriptedAnswer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def order_json(
    status: str = "running", progress: int = 30, version: int = 5, **extra: Any
) -> dict[str, Any]:
    """An order's body as the server writes it (the README's example), in the given state."""
    body: dict[str, Any] = {
        "uuid": ORDER_ID,
        "resource_name": "regina",
        "status": status,
        "progress": progress,
        "message": "The pizza is in the oven",
        "current": progress // 10,
        "total": 10,
        "resource_url": f"{BASE}/pizzeria/pizzas/1/" if status == "completed" else None,
        "context": {"steps": 10},
        "attempt": 1,
        "cancel_requested": False,
        "created": "2026-12-01T08:09:30.114480+00:00",
        "updated": "2026-12-01T08:09:31.127891+00:00",
        "version": version,
        "last_event_at": "2026-12-01T08:09:31.127891+00:00",
        "stalled": False,
        "eta": None if status != "running" else "2026-12-01T08:09:33.500000+00:00",
        "links": {
            "self": ORDER_URL,
            "history": ORDER_URL + "history/",
            "cancel": ORDER_URL + "cancel/",
        },
    }
    body.update(extra)
    return body


def status_answer(body: dict[str, Any], **headers: str) -> httpx.Response:
    """The poll's answer for ``body``: 202 + Retry-After, 201 + Location, or 200; an ETag."""
    code = {"completed": 201, "failed": 200, "cancelled": 200}.get(body["status"], 202)
    sent = {"ETag": etag(body["version"])}
    if code == 202:
        sent["Retry-After"] = "1"
    if code == 201:
        sent["Location"] = body["resource_url"]
    sent.update({k.replace("_", "-"): v for k, v in headers.items()})
    return httpx.Response(code, json=body, headers=sent)


def etag(version: int) -> str:
    return f'"{ORDER_ID.replace("-", "")}-{version}"'


def placed_answer(body: dict[str, Any], **headers: str) -> httpx.Response:
    """The POST's answer: 302 to the order, the order in the body."""
    sent = {"Location": ORDER_URL, **{k.replace("_", "-"): v for k, v in headers.items()}}
    return httpx.Response(302, json=body, headers=sent)


def problem(
    status: int, title: str, detail: str, field: str | None = None, **headers: str
) -> httpx.Response:
    """An RFC 9457 answer as the server writes it."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": "/async/",
    }
    if field:
        body["field"] = field
    sent = {"Content-Type": "application/problem+json"}
    sent.update({k.replace("_", "-"): v for k, v in headers.items()})
    return httpx.Response(status, json=body, headers=sent)


class Scripted:
    """A MockTransport handler: each (method, path) answers from its own queue, in order."""

    def __init__(self) -> None:
        self.queues: dict[tuple[str, str], deque[ScriptedAnswer]] = defaultdict(deque)
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, *answers: ScriptedAnswer) -> Scripted:
        self.queues[(method, path)].extend(answers)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.queues[(request.method, request.url.path)]
        if not queue:
            raise AssertionError(f"no answer scripted for {request.method} {request.url}")
        answer = queue.popleft()
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]


class FakeTime:
    """A clock that moves only when slept on: waits are instant and exactly known."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def server() -> Scripted:
    return Scripted()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def client(server: Scripted, fake_time: FakeTime) -> Iterator[Client]:
    """A client of the scripted server that polls plainly (the strategies have their tests)."""
    with Client(
        BASE,
        token="secret",
        transport=httpx.MockTransport(server),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        waiting=Polling(),
        retry=RetryPolicy(max_attempts=4, max_seconds=30.0),
    ) as made:
        yield made
