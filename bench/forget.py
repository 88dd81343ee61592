"""What sealing each order's context costs: placing and replaying, with and without a key.

``python -m bench.forget [--orders 100]`` on SQLite and PostgreSQL (skipped if it is not
running), bare trackers (no listeners, no Django): the cost measured is the key's INSERT
before the Queued event, AES-GCM, and on replay the key's SELECT and the decryption.
Runs in well under 30 s with the default 100 orders.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID

from orders.application.tracker import OrderTracker
from orders.domain.sealing import new_key, seal, unseal
from orders.infrastructure.eventstore import event_store_env
from orders.infrastructure.keystore import seal_contexts

CONTEXT = {
    "customer": {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0000"},
    "address": "12 St James's Square, London",
    "steps": 10,
    "step_seconds": 0.3,
}


def per_call(calls: int, run: Callable[[int], object]) -> float:
    """Microseconds per call of ``run(i)``, the median of three rounds."""
    rounds = []
    for _ in range(3):
        started = time.perf_counter()
        for i in range(calls):
            run(i)
        rounds.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(rounds)


def stores() -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        yield "sqlite", f"sqlite:///{Path(tmp) / 'events.sqlite3'}"
    try:
        from tests.services import fresh_postgres_database

        with fresh_postgres_database() as url:
            yield "postgres", url
    except Exception as exc:  # no PostgreSQL here: the SQLite figures stand alone
        print(f"postgres skipped: {exc}")


def tracker_on(url: str, sealed: bool) -> OrderTracker:
    tracker = OrderTracker(env=event_store_env(url, create_table=True, cache_size=0))
    return seal_contexts(tracker, create_table=True) if sealed else tracker


def measure_one(url: str, sealed: bool, orders: int) -> tuple[float, float]:
    """Microseconds per order placed, and per order replayed from the store (version 1)."""
    tracker = tracker_on(url, sealed)
    ids: list[UUID] = []
    place = per_call(orders, lambda _: ids.append(tracker.place("regina", CONTEXT, None)))
    replay = per_call(orders, lambda i: tracker.get_order(ids[i], version=1))
    tracker.close()
    return place, replay


def measure(name: str, url: str, orders: int) -> None:
    for sealed in (False, True):
        place, replay = measure_one(url, sealed, orders)
        label = "sealed" if sealed else "clear "
        print(f"{name:<8} {label}  place {place:7.0f} µs/order   replay v1 {replay:7.0f} µs/order")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100)
    args = parser.parse_args()
    key, order_id = new_key(), UUID(int=1)
    token = seal(key, order_id, CONTEXT)
    print(f"context {len(str(CONTEXT))} chars, sealed token {len(token)} chars")
    print(
        f"seal   {per_call(5000, lambda _: seal(key, order_id, CONTEXT)):7.1f} µs (AES-GCM + JSON)"
    )
    print(f"unseal {per_call(5000, lambda _: unseal(key, order_id, token)):7.1f} µs")
    for name, url in stores():
        measure(name, url, args.orders)


if __name__ == "__main__":
    main()
