"""Callback latency: the terminal event's timestamp to its signed delivery at a local receiver.

Starts a real stack (gunicorn + one Celery worker; ``--stack production``: PostgreSQL and
Redis db ``ASYNC_REST_TEST_REDIS_DB``, which it flushes; ``embedded``: SQLite and a
file-system broker), places ``--orders`` one-step orders one after the other, each with a
callback on ``completed``, and waits for each verified delivery before the next: what is
measured is the path event → listener → broker → worker → HTTP, not queueing behind
other orders. Prints p50/p90/p99/max in ms. Keep it under a minute on a shared machine.

    .venv/bin/python -m bench.callbacks --stack production --orders 50
"""

from __future__ import annotations

import argparse
import base64
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from tests.e2e.receiver import Receiver
from tests.e2e.stack import embedded_stack, production_stack

SECRET = "whsec_" + base64.b64encode(b"b" * 32).decode()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", choices=["embedded", "production"], default="production")
    parser.add_argument("--orders", type=int, default=50)
    args = parser.parse_args()
    receiver = Receiver(SECRET)
    env = {
        "ASYNC_REST_CALLBACK_SECRETS": SECRET,
        "ASYNC_REST_CALLBACK_ALLOWED_NETWORKS": "127.0.0.1/32",
        "LOG_LEVEL": "WARNING",
    }
    make = production_stack if args.stack == "production" else embedded_stack
    latencies: list[float] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as var, make(Path(var), env) as stack:
        stack.start()
        for _ in range(args.orders):
            placed = stack.request(
                "POST",
                "/async/regina/order/",
                {
                    "context": {"steps": 1, "step_seconds": 0},
                    "callback": {"url": f"{receiver.base}/ok", "events": ["completed"]},
                },
            )
            assert placed.status == 302, placed.body
            order_id = placed.body["uuid"]
            deadline = time.monotonic() + 30
            while not (mine := [d for d in receiver.deliveries if d.msg_id.startswith(order_id)]):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no delivery for {order_id}")
                time.sleep(0.002)
            delivery = mine[0]
            assert delivery.verified
            event_at = datetime.fromisoformat(delivery.body["data"]["event"]["timestamp"])
            latencies.append((delivery.received - event_at.timestamp()) * 1000)
    receiver.close()
    print(
        f"{args.stack}: {len(latencies)} deliveries in {time.monotonic() - started:.1f}s; "
        f"Completed -> delivered ms: p50 {statistics.median(latencies):.1f}, "
        f"p90 {percentile(latencies, 0.9):.1f}, p99 {percentile(latencies, 0.99):.1f}, "
        f"max {max(latencies):.1f}"
    )


if __name__ == "__main__":
    main()
