"""Event written → received on open SSE streams, with 1 and with 1,000 streams on one web process.

One uvicorn process serves ``config.asgi`` on a fresh PostgreSQL database (LISTEN/NOTIFY
wakes the streams). This process places the orders straight into the event store, opens
the streams (plain asyncio sockets, one connection each, ``Last-Event-ID: 1``), then writes
``Progressed`` events at a steady rate, each carrying its write time (taken before the
save) in its message; a stream's reader subtracts it from the time it read the event.
The web process's resident memory is read from /proc before and with the streams open.

    python -m bench.streams --streams 1 --seconds 10
    python -m bench.streams --streams 1000 --seconds 15 --rate 50
    python -m bench.streams --streams 1000 --orders 10   # 100 streams on each order
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import resource
import statistics
import sys
import time
from pathlib import Path
from uuid import UUID

from bench.support import (
    HOST,
    free_port,
    header,
    migrate,
    service,
    service_env,
    temporary_database,
    temporary_directory,
    wait_http,
)

BIN = Path(sys.executable).parent
STAMP = re.compile(rb'"message":"t=([0-9.]+)"')


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children_rss_mb(pid: int) -> float:
    """The RSS of the process and its children (uvicorn runs the app in its own process)."""
    total = rss_mb(pid)
    for child in Path(f"/proc/{pid}/task").glob("*/children"):
        for cpid in child.read_text().split():
            total += children_rss_mb(int(cpid))
    return total


async def follow(port: int, order_id: UUID, latencies: list[float], opened: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection(HOST, port, limit=1 << 20)
    writer.write(
        f"GET /async/orders/{order_id}/events/ HTTP/1.1\r\nHost: {HOST}\r\n"
        "Accept: text/event-stream\r\nLast-Event-ID: 1\r\n\r\n".encode()
    )
    await writer.drain()
    status = await reader.readline()
    assert b" 200 " in status, status
    opened.set()
    try:
        while line := await reader.readline():
            found = STAMP.search(line)
            if found:
                latencies.append(time.time() - float(found.group(1)))
    finally:
        writer.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def run(args: argparse.Namespace, port: int, web_pid: int, eventstore_url: str) -> None:
    from orders.application.tracker import OrderTracker
    from orders.infrastructure.eventstore import event_store_env

    tracker = OrderTracker(env=event_store_env(eventstore_url))
    orders = [tracker.place("bench", {}, None) for _ in range(args.orders)]
    for order_id in orders:
        tracker.start(order_id, "bench")
    before = children_rss_mb(web_pid)
    latencies: list[float] = []
    readers = []
    for i in range(args.streams):
        opened = asyncio.Event()
        readers.append(
            asyncio.create_task(follow(port, orders[i % len(orders)], latencies, opened))
        )
        await asyncio.wait_for(opened.wait(), 30)
    await asyncio.sleep(1.0)
    with_streams = children_rss_mb(web_pid)
    print(f"# {args.streams} streams open on {len(orders)} orders", flush=True)
    loop = asyncio.get_running_loop()
    percent: dict[UUID, int] = dict.fromkeys(orders, 0)
    written = 0
    end = time.monotonic() + args.seconds
    interval = 1 / args.rate
    next_at = time.monotonic()
    while time.monotonic() < end:
        order_id = random.choice(orders)
        percent[order_id] = min(99, percent[order_id] + 1) if percent[order_id] < 99 else 99
        stamp = f"t={time.time():.6f}"
        # Progress may repeat 99: the aggregate accepts an equal percent, a new message.
        await loop.run_in_executor(None, tracker.progress, order_id, percent[order_id], stamp)
        written += 1
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await asyncio.sleep(2.0)
    for task in readers:
        task.cancel()
    tracker.close()
    expected = written * args.streams // len(orders)
    ms = [x * 1000 for x in latencies]
    print(
        f"streams={args.streams} orders={len(orders)} events_written={written} "
        f"received={len(ms)} (expected {expected}) "
        f"p50={statistics.median(ms):.1f} ms p99={percentile(ms, 99):.1f} ms "
        f"max={max(ms):.1f} ms  web RSS {before:.0f} MB -> {with_streams:.0f} MB "
        f"({(with_streams - before) * 1024 / max(1, args.streams):.1f} KB per stream)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1)
    parser.add_argument("--orders", type=int, default=0, help="default: one per stream")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=50.0, help="events written per second")
    args = parser.parse_args()
    args.orders = args.orders or args.streams
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.streams + 256)), hard))
    header()
    with temporary_directory() as var, temporary_database("bench_streams") as db:
        env = service_env(db, "config.settings", var, {"ASYNC_REST_ALLOW_ANONYMOUS": "1"})
        migrate(env)
        port = free_port()
        argv = [str(BIN / "uvicorn"), "config.asgi:application", "--host", HOST,
                "--port", str(port), "--no-access-log", "--log-level", "warning"]  # fmt: skip
        with service("web", argv, env, var) as web:
            wait_http(f"http://{HOST}:{port}/async/schema/")
            asyncio.run(run(args, port, web.proc.pid, env["EVENTSTORE_URL"]))


if __name__ == "__main__":
    main()
