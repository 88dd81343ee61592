"""What fan-out costs per child on PostgreSQL, read models inline: spawn, progress, end.

Side by side in one process and one run, rounds interleaved, medians of per-round ratios:

- ``spawn``: ``tracker.spawn`` of a child (Queued+Spawned, then ChildSpawned on the parent)
  against ``tracker.place`` of a plain order (Queued alone);
- ``child-progress``: a child's Progressed save (its parent's sum moved in the same
  statement) against the same save of a plain order;
- ``child-end``: a child's Completed save (its parent's ChildEnded recorded after it)
  against a plain order's Completed;
- ``parent-progress-after``: a child's Progressed save once its parent has ``--children``
  children, against one whose parent has 1: the O(1) claim, as a ratio near 1.

    .venv/bin/python -m bench.fanout --rounds 5 --children 1000
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

from bench import support
from bench.append import make_tracker, setup_django

PAIRS = ("spawn", "child-progress", "child-end", "parent-progress-after")


def _running(tracker: Any, resource: str = "bench-fanout") -> UUID:
    order_id = tracker.place(resource, {}, None)
    tracker.start(order_id, "bench:1")
    return order_id


def _children(tracker: Any, parent: UUID, count: int, start: bool = True) -> list[UUID]:
    ids = [tracker.spawn(parent, "bench-fanout", {}) for _ in range(count)]
    if start:
        for child in ids:
            tracker.start(child, "bench:1")
    return ids


def _timed(work: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def spawn(tracker: Any, n: int, big: int) -> tuple[float, float]:
    parent = _running(tracker)
    fanned = _timed(lambda: _children(tracker, parent, n, start=False))
    plain = _timed(lambda: [tracker.place("bench-fanout", {}, None) for _ in range(n)])
    return fanned, plain


def _progress_all(tracker: Any, ids: list[UUID]) -> None:
    for order_id in ids:
        tracker.progress(order_id, 50, "half")


def child_progress(tracker: Any, n: int, big: int) -> tuple[float, float]:
    children = _children(tracker, _running(tracker), n)
    plain = [_running(tracker) for _ in range(n)]
    return _timed(lambda: _progress_all(tracker, children)), _timed(
        lambda: _progress_all(tracker, plain)
    )


def _complete_all(tracker: Any, ids: list[UUID]) -> None:
    for order_id in ids:
        tracker.complete(order_id, "/done/")


def child_end(tracker: Any, n: int, big: int) -> tuple[float, float]:
    children = _children(tracker, _running(tracker), n)
    plain = [_running(tracker) for _ in range(n)]
    return _timed(lambda: _complete_all(tracker, children)), _timed(
        lambda: _complete_all(tracker, plain)
    )


def parent_progress_after(tracker: Any, n: int, big: int) -> tuple[float, float]:
    # The newest children: those this process still holds in memory (LATEST_ORDERS_MAXSIZE,
    # 1,000), as the lonely ones are; an evicted one would cost a read of its stream.
    crowded = _children(tracker, _running(tracker), big)[-n:]
    lonely = [_children(tracker, _running(tracker), 1)[0] for _ in range(n)]
    return _timed(lambda: _progress_all(tracker, crowded)), _timed(
        lambda: _progress_all(tracker, lonely)
    )


RUNNERS = {
    "spawn": spawn,
    "child-progress": child_progress,
    "child-end": child_end,
    "parent-progress-after": parent_progress_after,
}


def measure(url: str, args: argparse.Namespace) -> dict[str, list[tuple[float, float]]]:
    from orders.application import dispatch

    dispatch.register("bench-fanout", print, launcher=_NoLaunch())
    tracker = make_tracker(url, "progress-projected")
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in PAIRS}
    try:
        for name in PAIRS:  # warm-up
            RUNNERS[name](tracker, 5, 10)
        for round_no in range(args.rounds):
            shift = round_no % len(PAIRS)
            for name in PAIRS[shift:] + PAIRS[:shift]:
                first, second = RUNNERS[name](tracker, args.orders, args.children)
                results[name].append((first, second))
                print(
                    f"# round {round_no + 1} {name}: {first / args.orders * 1e3:.2f} ms vs"
                    f" {second / args.orders * 1e3:.2f} ms per order",
                    flush=True,
                )
    finally:
        tracker.close()
    return results


class _NoLaunch:
    def launch(self, task: Any, order_id: UUID, dispatch_id: str) -> None:
        pass


LABELS = {
    "spawn": ("tracker.spawn (child + parent's ChildSpawned)", "tracker.place"),
    "child-progress": ("child's Progressed (+ parent's sum)", "plain order's Progressed"),
    "child-end": ("child's Completed (+ parent's ChildEnded)", "plain order's Completed"),
    "parent-progress-after": ("child's Progressed, parent of N", "child's Progressed, parent of 1"),
}


def report(results: dict[str, list[tuple[float, float]]], args: argparse.Namespace) -> str:
    lines = [
        f"{args.orders} orders per side and round, {args.rounds} rounds, pair order rotated;"
        f" N = {args.children}",
        "",
        "| pair | ms per order | against | ms per order | median ratio |",
        "|---|---|---|---|---|",
    ]
    for name in PAIRS:
        pairs = results[name]
        first = support.median([a for a, _ in pairs]) / args.orders * 1e3
        second = support.median([b for _, b in pairs]) / args.orders * 1e3
        ratio = support.median([a / b for a, b in pairs])
        label, against = LABELS[name]
        lines.append(f"| {label} | {first:.2f} | {against} | {second:.2f} | {ratio:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--orders", type=int, default=200, help="orders per side and round")
    parser.add_argument("--children", type=int, default=1000, help="N, the crowded parent")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 50 or not 1 <= args.orders <= args.children <= 20_000:
        parser.error("rounds 1..50, 1 <= orders <= children <= 20000")
    support.install_signal_handlers()
    support.header()
    with (
        support.temporary_directory() as var_dir,
        support.temporary_database("bench_asyncrest_fanout") as db,
    ):
        support.migrate(support.service_env(db, "bench.settings", var_dir))
        setup_django(db, var_dir)
        print(report(measure(support.database_url(db), args), args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
