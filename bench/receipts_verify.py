"""How fast receipts are checked offline (and issued): receipts per second, no server.

Run: .venv/bin/python bench/receipts_verify.py [--orders 1000] [--events 14] [--rounds 3]

Orders of ``--events`` events each (the demo's shape: Queued, Dispatched, Started,
Progressed…, Completed) in an in-memory event store; each is issued a receipt, then the
client's functions check them: the signature alone, and the signature plus the exported
stream recomputed up to the receipt's head. Single process, single thread.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rate(label: str, count: int, rounds: int, work: Callable[[], object]) -> None:
    """Per wall-clock second, and per CPU second of this process (steadier on a shared box)."""
    wall, cpu = [], []
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        work()
        wall.append(count / (time.perf_counter() - started))
        cpu.append(count / (time.process_time() - started_cpu))
    rounds_text = ", ".join(f"{r:,.0f}" for r in wall)
    print(
        f"{label:<60} {statistics.median(wall):>7,.0f}/s wall (rounds: {rounds_text}), "
        f"{statistics.median(cpu):>7,.0f}/CPU-s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--events", type=int, default=14, help="events per order (>= 4)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    os.environ["ASYNC_REST_VAR_DIR"] = tempfile.mkdtemp(prefix="receipts-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from async_rest_client.receipts import verify_receipt, verify_stream
    from orders.application.tracker import OrderTracker
    from projections.audit import event_record
    from receipts.issue import issue
    from receipts.keys import key_ring
    from receipts.signing import verify

    tracker = OrderTracker(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    streams = []
    for _ in range(args.orders):
        order_id = tracker.place("regina", {"steps": 10, "step_seconds": 0.3}, owner="1")
        tracker.dispatch(order_id, "d")
        tracker.start(order_id, "w", "d")
        for step in range(1, args.events - 3):
            tracker.progress(order_id, min(step * 10, 100), "The pizza is in the oven", step, 10)
        tracker.complete(order_id, "/pizzeria/pizzas/1/")
        streams.append(tracker.order_events(order_id))
    ring = key_ring()
    key_set = json.loads(json.dumps(ring.key_set()))
    public = ring.public_keys()
    receipts = [issue(events, ring) for events in streams]
    exports = [
        [json.loads(json.dumps(event_record(e), ensure_ascii=False)) for e in events]
        for events in streams
    ]
    n = args.orders
    print(f"{n} ended orders of {args.events} events; Python {sys.version.split()[0]}")
    rate("issue (stream's chain checked, then signed)", n, args.rounds,
         lambda: [issue(events, ring) for events in streams])  # fmt: skip
    rate("server verify (receipts.signing.verify)", n, args.rounds,
         lambda: [verify(r, public) for r in receipts])  # fmt: skip
    rate("client verify_receipt (signature, key set parsed each time)", n, args.rounds,
         lambda: [verify_receipt(r, key_set) for r in receipts])  # fmt: skip

    def with_stream() -> None:
        for receipt, records in zip(receipts, exports, strict=True):
            verify_stream(verify_receipt(receipt, key_set), records)

    rate(f"client verify_receipt + verify_stream ({args.events} events)", n, args.rounds,
         with_stream)  # fmt: skip


if __name__ == "__main__":
    main()
