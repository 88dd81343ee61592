"""Target 3: ProgressItems over 1,000,000 trivial items, against a bare loop (events, time)."""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from bench import support
from config.bootstrap import build_tracker
from orders.application.tracker import OrderTracker
from orders.progress_items import default_min_interval
from orders.task_api import OrderHandle, ProgressItems

MAX_EVENTS = 200
MAX_SLOWDOWN = 1.10

VARIANTS = (
    "bare",
    "items-noop",
    "bare-add",
    "items-add",
    "items-memory",
    "items-sqlite",
    "items-memory-interval0",
    "items-sqlite-interval0",
)
DESCRIPTIONS = {
    "bare": "for x in range(N): pass",
    "items-noop": "for x in ProgressItems(order, range(N)): pass, with an order whose progress()"
    " does nothing (the iteration machinery alone)",
    "bare-add": "for x in range(N): total += x (the smallest body that does something)",
    "items-add": "the same body over ProgressItems, order as in items-noop; compared with bare-add",
    "items-memory": "ProgressItems, tracker on memory://, default min_interval",
    "items-sqlite": "ProgressItems, tracker on SQLite (a file in a temporary directory),"
    " default min_interval",
    "items-memory-interval0": "ProgressItems, memory://, min_interval=0 (every whole percent"
    " is written: the most events it can write)",
    "items-sqlite-interval0": "ProgressItems, SQLite, min_interval=0",
}


class NullOrder:
    """Takes progress reports and drops them."""

    def progress(self, *args: Any, **kwargs: Any) -> None:
        return None


def bare(n: int) -> tuple[float, int]:
    started = time.perf_counter()
    for _x in range(n):
        pass
    return time.perf_counter() - started, 0


def bare_add(n: int) -> tuple[float, int]:
    total = 0
    started = time.perf_counter()
    for x in range(n):
        total += x
    return time.perf_counter() - started, 0


def items_add(order: OrderHandle, n: int) -> tuple[float, int]:
    total = 0
    started = time.perf_counter()
    items = ProgressItems(order, range(n))
    for x in items:
        total += x
    return time.perf_counter() - started, len(items.written)


def with_items(order: OrderHandle, n: int, min_interval: float | None) -> tuple[float, int]:
    started = time.perf_counter()
    items = ProgressItems(order, range(n), min_interval=min_interval)
    for _x in items:
        pass
    return time.perf_counter() - started, len(items.written)


def running_order(tracker: OrderTracker) -> OrderHandle:
    order = OrderHandle(tracker.place("bench-items", {}, None), tracker=tracker)
    order.start("bench:1")
    return order


def measure(args: argparse.Namespace, sqlite_path: Path) -> dict[str, Any]:
    memory = build_tracker("memory://")
    sqlite = build_tracker(f"sqlite:///{sqlite_path}", create_table=True)
    memory.listeners.clear()
    sqlite.listeners.clear()
    n = args.items
    runs: dict[str, Callable[[], tuple[float, int]]] = {
        "bare": lambda: bare(n),
        "items-noop": lambda: with_items(cast(OrderHandle, NullOrder()), n, None),
        "bare-add": lambda: bare_add(n),
        "items-add": lambda: items_add(cast(OrderHandle, NullOrder()), n),
        "items-memory": lambda: with_items(running_order(memory), n, None),
        "items-sqlite": lambda: with_items(running_order(sqlite), n, None),
        "items-memory-interval0": lambda: with_items(running_order(memory), n, 0.0),
        "items-sqlite-interval0": lambda: with_items(running_order(sqlite), n, 0.0),
    }
    seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    events: dict[str, list[int]] = {name: [] for name in VARIANTS}
    try:
        for name in VARIANTS:  # warm-up
            runs[name]()
        for round_no in range(args.rounds):
            shift = round_no % len(VARIANTS)
            for name in VARIANTS[shift:] + VARIANTS[:shift]:
                gc.collect()
                took, written = runs[name]()
                seconds[name].append(took)
                events[name].append(written)
            print(
                f"# round {round_no + 1}: "
                + ", ".join(f"{k} {v[-1] * 1000:.1f} ms" for k, v in seconds.items()),
                flush=True,
            )
    finally:
        memory.close()
        sqlite.close()
    return {"seconds": seconds, "events": events}


def report(result: dict[str, Any], args: argparse.Namespace) -> str:
    seconds, events = result["seconds"], result["events"]
    lines = [
        f"{args.items:,} items, {args.rounds} rounds (variant order rotated each round);"
        f" default min_interval = {default_min_interval()} s",
        "",
        "| variant | median ms | min..max ms | median ratio to its bare loop (per round) |"
        " events written (min..max) | target (<= ~200 events, <= 1.10x) |",
        "|---|---:|---|---:|---|---|",
    ]
    for name in VARIANTS:
        base = seconds["bare-add" if name == "items-add" else "bare"]
        ratio = support.median([s / b for s, b in zip(seconds[name], base, strict=True)])
        ms = [s * 1000 for s in seconds[name]]
        ev = events[name]
        if name in ("bare", "items-noop", "bare-add", "items-add"):
            verdict = "-"
        else:
            ok = max(ev) <= MAX_EVENTS and ratio <= MAX_SLOWDOWN
            events_ok = "ok" if max(ev) <= MAX_EVENTS else "too many"
            time_ok = "ok" if ratio <= MAX_SLOWDOWN else "too slow"
            verdict = f"{'met' if ok else 'NOT met'} (events {events_ok}, time {time_ok})"
        lines.append(
            f"| {name} | {support.median(ms):.1f} | {min(ms):.1f}..{max(ms):.1f} | {ratio:.3f} |"
            f" {min(ev)}..{max(ev)} | {verdict} |"
        )
    lines.append("")
    for name in VARIANTS:
        lines.append(f"- {name}: {DESCRIPTIONS[name]}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 200 or not 1 <= args.items <= 100_000_000:
        parser.error("rounds must be 1..200 and items 1..100000000")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a Markdown report."""
    args = parse_args(argv)
    support.install_signal_handlers()
    support.header()
    with support.temporary_directory() as tmp:
        result = measure(args, tmp / "events.sqlite3")
    print()
    print(report(result, args))
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": None}, **result}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
