"""Events appended per second on PostgreSQL from one process (OrderTracker.progress).

Issue 9's figure is ``progress-projected`` (the read models written too, one save per
event) and ``progress-batched`` (the same through a task's handle, whose bursts are saved
together) against ``insert-raw``, a plain one-row INSERT into a table shaped like the events
table, over the same kind of connection, in the same run: target ≥ 2,000/s, about 0.45 of
the raw insert.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from bench import support

if TYPE_CHECKING:
    from orders.application.tracker import OrderTracker

TARGET = 2000.0  # events per second, with the read models written (issue 9)

VARIANTS = (
    "progress-bare",
    "progress-projected",
    "progress-batched",
    "progress-listener",
    "save-bare",
    "save-stock",
    "insert-raw",
)
DESCRIPTIONS = {
    "progress-bare": "OrderTracker.progress, tracker without listeners (the command path: rules,"
    " hash chain, one INSERT; no read first for an order this process knows)",
    "progress-projected": "OrderTracker.progress as the project builds it: the read models"
    " (same PostgreSQL database) written inline, in the transaction and round trip of the"
    " events",
    "progress-batched": "OrderHandle.progress as a task calls it in a tight loop, read models"
    " inline as in progress-projected: reports closer than the batch window (0.01 s) to the"
    " last save are saved together, each its own event (orders/progress_batch.py); the"
    " clock stops once the last one is saved",
    "progress-listener": "OrderTracker.progress with the read models written by the"
    " projections listener right after the save, in a transaction of their own (the way"
    " before inline projection, and still the way when the read models are elsewhere)",
    "save-bare": "Application.save of one Progressed event, the aggregate kept in memory"
    " (no command, no listener): the project's recorder (orders/persistence.py) alone",
    "save-stock": "the same as save-bare through eventsourcing's own PostgreSQL recorder with"
    " its stored function (POSTGRES_ENABLE_DB_FUNCTIONS=y), which the project used before",
    "insert-raw": "psycopg, autocommit: one prepared one-row INSERT per event into a table"
    " like the events table (bigserial id, uuid and version key, topic, a 300-byte state);"
    " no lock, no read model: the physical floor of one event per round trip",
}


def setup_django(db: str, var_dir: Path) -> None:
    """Django in this process on ``db`` (the projections listener writes there)."""
    os.environ.update(support.service_env(db, "bench.settings", var_dir))
    import django

    django.setup()


def make_tracker(url: str, variant: str) -> OrderTracker:
    from config.bootstrap import build_tracker
    from orders.application.tracker import OrderTracker
    from orders.infrastructure.eventstore import event_store_env

    if variant == "save-stock":
        env = event_store_env(url, create_table=True)
        del env["APPLICATION_RECORDER_TOPIC"]
        env["POSTGRES_ENABLE_DB_FUNCTIONS"] = "y"
        return OrderTracker(env=env)  # no listeners
    from projections.projector import project_saved

    tracker = build_tracker(url, create_table=True)
    if variant in ("progress-projected", "progress-batched"):
        if tracker.inline is None:
            raise RuntimeError("the read models are not written inline")
        return tracker
    tracker.inline = None
    tracker.listeners.clear()
    if variant == "progress-listener":
        tracker.listeners.append(project_saved)
    return tracker


def running_orders(tracker: OrderTracker, count: int) -> list[UUID]:
    ids = [tracker.place("bench-append", {"i": i}, None) for i in range(count)]
    for order_id in ids:
        tracker.start(order_id, "bench:1")
    return ids


def run_progress(tracker: OrderTracker, orders: list[UUID], steps: int) -> float:
    """Seconds to append ``steps`` Progressed events to each order through ``progress``."""
    started = time.perf_counter()
    for order_id in orders:
        for step in range(1, steps + 1):
            percent = step * 100 // steps
            tracker.progress(order_id, percent, "working", current=step, total=steps)
    return time.perf_counter() - started


def run_batched(tracker: OrderTracker, orders: list[UUID], steps: int) -> float:
    """Seconds for the same reports made through a task's handle, batched as in a worker."""
    from orders.task_api import OrderHandle

    handles = [OrderHandle(order_id, tracker) for order_id in orders]
    started = time.perf_counter()
    for handle in handles:
        for step in range(1, steps + 1):
            percent = step * 100 // steps
            handle.progress(percent, "working", current=step, total=steps)
        handle.refresh()  # saves what is still kept: every report is in the store
    return time.perf_counter() - started


def run_save(tracker: OrderTracker, orders: list[UUID], steps: int) -> float:
    """Seconds to append the same events by ``Application.save`` of in-memory aggregates."""
    aggregates = [tracker.get_order(order_id) for order_id in orders]
    started = time.perf_counter()
    for order in aggregates:
        for step in range(1, steps + 1):
            percent = step * 100 // steps
            order.report_progress(percent, "working", current=step, total=steps)
            tracker.save(order)
    return time.perf_counter() - started


def long_stream(url: str, events: int, block: int) -> list[float]:
    """Events/s of ``progress`` per block of ``block`` events along one growing stream."""
    tracker = make_tracker(url, "progress-bare")
    try:
        (order_id,) = running_orders(tracker, 1)
        rates = []
        for start in range(0, events, block):
            begun = time.perf_counter()
            for i in range(start, start + block):
                tracker.progress(order_id, i * 100 // events, "working", current=i, total=events)
            rates.append(block / (time.perf_counter() - begun))
        return rates
    finally:
        tracker.close()


def run_raw(tracker: OrderTracker, orders: list[UUID], steps: int) -> float:
    """Seconds for the same number of plain one-row INSERTs (``insert-raw``)."""
    import psycopg

    state = b"x" * 300
    with psycopg.connect(_raw_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_raw_events (notification_id bigserial,"
            " originator_id uuid, originator_version bigint, topic text, state bytea,"
            " PRIMARY KEY (originator_id, originator_version))"
        )
        started = time.perf_counter()
        for order_id in orders:
            for step in range(1, steps + 1):
                conn.execute(
                    "INSERT INTO bench_raw_events (originator_id, originator_version, topic,"
                    " state) VALUES (%s, %s, %s, %s) RETURNING notification_id",
                    (order_id, step, "async_rest.Order.Progressed", state),
                    prepare=True,
                ).fetchall()
        return time.perf_counter() - started


_raw_url = ""


def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    global _raw_url
    _raw_url = url
    trackers = {
        name: make_tracker(url, "save-bare" if name == "insert-raw" else name) for name in VARIANTS
    }
    runners: dict[str, Callable[[OrderTracker, list[UUID], int], float]] = {
        "progress-bare": run_progress,
        "progress-projected": run_progress,
        "progress-batched": run_batched,
        "progress-listener": run_progress,
        "save-bare": run_save,
        "save-stock": run_save,
        "insert-raw": run_raw,
    }
    rates: dict[str, list[float]] = {name: [] for name in VARIANTS}
    try:
        # Warm-up: connections, prepared statements, imports.
        for name in VARIANTS:
            runners[name](trackers[name], running_orders(trackers[name], 2), 10)
        for round_no in range(args.rounds):
            shift = round_no % len(VARIANTS)
            for name in VARIANTS[shift:] + VARIANTS[:shift]:
                tracker = trackers[name]
                orders = running_orders(tracker, args.orders)
                gc.collect()
                seconds = runners[name](tracker, orders, args.steps)
                rate = args.orders * args.steps / seconds
                rates[name].append(rate)
                print(f"# round {round_no + 1} {name}: {rate:.0f} events/s", flush=True)
    finally:
        for tracker in trackers.values():
            tracker.close()
    long = long_stream(url, args.long, args.long // 10) if args.long else []
    return {"rates": rates, "long_stream": long}


def report(result: dict[str, Any], args: argparse.Namespace) -> str:
    rates = result["rates"]
    lines = [
        f"{args.orders} orders x {args.steps} Progressed events per variant and round"
        f" ({args.orders * args.steps} events), {args.rounds} rounds, variant order rotated",
        "",
        "| variant | median events/s | min..max | ratio to save-bare | ratio to insert-raw"
        " | target 2,000/s (progress-projected, -batched) |",
        "|---|---:|---|---:|---:|---|",
    ]
    save, raw = rates["save-bare"], rates["insert-raw"]
    for name in VARIANTS:
        values = rates[name]
        ratio = support.median([v / s for v, s in zip(values, save, strict=True)])
        to_raw = support.median([v / r for v, r in zip(values, raw, strict=True)])
        verdict = "met" if support.median(values) >= TARGET else "NOT met"
        if name not in ("progress-projected", "progress-batched"):
            verdict = "(informative)"
        lines.append(
            f"| {name} | {support.median(values):.0f} | {support.spread(values)} |"
            f" {ratio:.2f} | {to_raw:.2f} | {verdict} |"
        )
    lines.append("")
    for name in VARIANTS:
        lines.append(f"- {name}: {DESCRIPTIONS[name]}")
    if result["long_stream"]:
        block = args.long // 10
        lines += [
            "",
            f"One stream growing to {args.long + 2} events (progress-bare), events/s per block"
            f" of {block}: " + ", ".join(f"{r:.0f}" for r in result["long_stream"]),
        ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--orders", type=int, default=10, help="orders per variant and round")
    parser.add_argument("--steps", type=int, default=100, help="progress events per order")
    parser.add_argument(
        "--long", type=int, default=1000, help="events on one stream for the growth test (0: off)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 50 or not 1 <= args.orders * args.steps <= 100_000:
        parser.error("rounds must be 1..50 and orders x steps 1..100000")
    if not 0 <= args.long <= 10_000 or (args.long and args.long % 10):
        parser.error("--long must be 0..10000 and a multiple of 10")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a Markdown report."""
    args = parse_args(argv)
    support.install_signal_handlers()
    support.header()
    with (
        support.temporary_directory() as var_dir,
        support.temporary_database("bench_asyncrest_append") as db,
    ):
        support.migrate(support.service_env(db, "bench.settings", var_dir))
        setup_django(db, var_dir)
        try:
            result = measure(support.database_url(db), args)
        finally:
            from django.db import connections

            connections.close_all()
            gc.collect()
    print()
    print(report(result, args))
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": None}, **result}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
