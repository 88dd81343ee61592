"""A local webhook receiver for tests and benchmarks: verifies, counts, answers as told.

Each path is a behaviour: ``/ok`` answers 204, ``/flaky`` 500 on the first delivery of a
message and 200 on the next, ``/gone`` 410, ``/hang`` holds the request longer than any
test's timeout, ``/redirect`` answers 307 to ``/ok``, ``/big`` 200 with 8 MiB of body.
Every delivery is kept with whether the ``standardwebhooks`` verifier accepted it (with
the receiver's secret) and when it arrived.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Delivery:
    path: str
    msg_id: str
    verified: bool
    body: Any
    received: float
    signatures: int


class Receiver:
    def __init__(self, secret: str) -> None:
        self.webhook = Webhook(secret)
        self.deliveries: list[Delivery] = []
        self.seen: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k: v for k, v in self.headers.items()}
                try:
                    body = receiver.webhook.verify(raw, headers)
                    verified = True
                except WebhookVerificationError:
                    body, verified = json.loads(raw or b"null"), False
                msg_id = self.headers.get("webhook-id", "")
                with receiver.arrived:
                    receiver.seen[(self.path, msg_id)] += 1
                    tries = receiver.seen[(self.path, msg_id)]
                    receiver.deliveries.append(
                        Delivery(
                            self.path,
                            msg_id,
                            verified,
                            body,
                            time.time(),
                            len(self.headers.get("webhook-signature", "").split()),
                        )
                    )
                    receiver.arrived.notify_all()
                if self.path == "/hang":
                    time.sleep(30)
                if self.path == "/redirect":
                    self.send_response(307)
                    self.send_header("Location", receiver.base + "/ok")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/big":
                    self.send_response(200)
                    self.send_header("Content-Length", str(8 << 20))
                    self.end_headers()
                    try:
                        for _ in range(8 << 4):
                            self.wfile.write(b"x" * (1 << 16))
                    except OSError:
                        pass  # the sender stopped reading, as it should
                    return
                status = {"/gone": 410, "/flaky": 500 if tries == 1 else 200}.get(self.path, 204)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, path: str, count: int, timeout: float = 60) -> list[Delivery]:
        """The deliveries to ``path`` once there are ``count`` (TimeoutError otherwise)."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.at(path)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.at(path))} of {count} deliveries to {path}")
                self.arrived.wait(left)
            return self.at(path)

    def wait_for_id(self, msg_id: str, timeout: float = 60) -> Delivery:
        """The first delivery of message ``msg_id`` (TimeoutError if none comes)."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while not (found := [d for d in self.deliveries if d.msg_id == msg_id]):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no delivery of {msg_id}")
                self.arrived.wait(left)
            return found[0]

    def at(self, path: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
