"""bench.soak's polling clients: the kinds of order, what the clients saw (Tally), a Client."""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench import support
from tests.e2e.receiver import Receiver

TERMINAL = ("completed", "failed", "cancelled")
# Kind -> (resource, context, the status it should end in).
KINDS: dict[str, tuple[str, dict[str, Any], str]] = {
    "fast": ("regina", {"steps": 1, "step_seconds": 0}, "completed"),
    "slow": ("regina", {"steps": 10, "step_seconds": 0.3}, "completed"),
    "failing": ("regina", {"fail_with": "soak: out of ingredients"}, "failed"),
    "cancelled": ("regina", {"steps": 40, "step_seconds": 0.25}, "cancelled"),
    "retried": ("soak-retry", {}, "completed"),  # bench.soak_tasks
    "callback": ("regina", {"steps": 2, "step_seconds": 0.1}, "completed"),
}


@dataclass
class Tally:
    """What the clients saw: every status code, every order and how it ended."""

    codes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    orders: dict[str, str] = field(default_factory=dict)  # uuid -> kind
    ended: dict[str, str] = field(default_factory=dict)  # uuid -> final status seen
    surprises: Counter[str] = field(default_factory=Counter)  # "kind: status (message)"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def code(self, what: str, status: int) -> None:
        with self.lock:
            self.codes[f"{what} {status}"] += 1

    def error(self, what: str, exc: BaseException) -> None:
        with self.lock:
            self.errors[f"{what} {type(exc).__name__}"] += 1


class Client:
    """One polling client: places an order, polls it to its end, and again until told to stop."""

    def __init__(self, port: int, token: str, tally: Tally, receiver: Receiver) -> None:
        self.port, self.tally, self.receiver = port, tally, receiver
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def call(
        self,
        what: str,
        method: str,
        path: str,
        body: Any = None,
        extra: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """One request, retried on a connection error (a recycled or restarting server)."""
        data = None if body is None else json.dumps(body)
        for attempt in range(20):
            conn = http.client.HTTPConnection(support.HOST, self.port, timeout=30)
            try:
                conn.request(method, path, body=data, headers={**self.headers, **(extra or {})})
                response = conn.getresponse()
                raw = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.tally.error(what, exc)
                time.sleep(0.2 * (attempt + 1))
                continue
            finally:
                conn.close()
            self.tally.code(what, response.status)
            try:
                return response.status, json.loads(raw) if raw else None
            except ValueError:
                return response.status, None
        raise RuntimeError(f"{method} {path}: no answer after 20 attempts")

    def place(self, kind: str) -> str | None:
        resource, context, _ = KINDS[kind]
        body: dict[str, Any] = {"context": dict(context)}
        if kind == "callback":  # the chosen events: however it ends
            body["callback"] = {"url": f"{self.receiver.base}/ok"}
        # The same key on a retried POST: a connection lost after the commit places no twin.
        key = {"Idempotency-Key": str(uuid.uuid4())}
        status, answer = self.call("POST order", "POST", f"/async/{resource}/order/", body, key)
        if status != 302 or not isinstance(answer, dict):
            return None
        order_id = str(answer["uuid"])
        with self.tally.lock:
            self.tally.orders[order_id] = kind
        return order_id

    def follow(self, order_id: str, kind: str, give_up: float) -> None:
        cancel_at = time.monotonic() + 1.0 if kind == "cancelled" else None
        while time.monotonic() < give_up:
            if cancel_at is not None and time.monotonic() >= cancel_at:
                self.call("POST cancel", "POST", f"/async/orders/{order_id}/cancel/")
                cancel_at = None
            status, answer = self.call("GET order", "GET", f"/async/orders/{order_id}/")
            seen = answer.get("status") if isinstance(answer, dict) else None
            if status != 202 and seen in TERMINAL:
                with self.tally.lock:
                    self.tally.ended[order_id] = str(seen)
                    if seen != KINDS[kind][2]:
                        error = answer.get("error") or {}
                        why = error.get("message") or answer.get("message")
                        self.tally.surprises[f"{kind}: {seen} ({why})"] += 1
                return
            time.sleep(0.3)

    def run(self, offset: int, until: float, give_up: float) -> None:
        kinds = list(KINDS)
        i = offset
        while time.monotonic() < until:
            kind = kinds[i % len(kinds)]
            i += 1
            try:
                order_id = self.place(kind)
                if order_id:
                    self.follow(order_id, kind, give_up)
            except RuntimeError as exc:
                self.tally.error("client gave up", exc)
