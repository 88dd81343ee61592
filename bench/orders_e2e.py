"""Target 4: orders per second end to end (HTTP POST, gunicorn, one Celery worker, PostgreSQL)."""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

from bench import support

RESOURCE_NAME = "bench-noop"  # registered by bench.baseline's AppConfig


def prepare(db: str, var_dir: Path, queue: str) -> str:
    """Django in this process (production settings): a user and its API token."""
    os.environ.update(support.service_env(db, "bench.production", var_dir, queue_env(queue)))
    import django

    django.setup()
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    user = User.objects.create_user("bench", password=None)
    return str(Token.objects.create(user=user).key)


def queue_env(queue: str) -> dict[str, str]:
    """The bench's own Celery queue, and the per-user order throttle (120/min) lifted."""
    return {"BENCH_CELERY_QUEUE": queue, "ASYNC_REST_ORDER_RATE": "1000000/min"}


def post_order(port: int, token: str, i: int) -> UUID:
    """``POST /async/bench-noop/order/``; the new order's id (from the 302's Location)."""
    conn = http.client.HTTPConnection(support.HOST, port, timeout=30)
    try:
        body = json.dumps({"context": {"i": i}})
        headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
        conn.request("POST", f"/async/{RESOURCE_NAME}/order/", body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        if response.status != 302:
            raise RuntimeError(f"POST answered {response.status}: {payload[:500]!r}")
        return UUID(json.loads(payload)["uuid"])
    finally:
        conn.close()


def statuses(ids: list[UUID]) -> dict[str, int]:
    from django.db.models import Count

    from projections.models import OrderSummary

    rows = (
        OrderSummary.objects.filter(order_id__in=ids)
        .values_list("status")
        .annotate(n=Count("order_id"))
        .order_by()
    )
    return {status: n for status, n in rows}


TERMINAL = ("completed", "failed", "cancelled")


def wait_terminal(
    ids: list[UUID], timeout: float, poll: float = 0.05
) -> tuple[float, dict[str, int]]:
    """Poll the read model until every order has ended; the time.monotonic() it happened."""
    deadline = time.monotonic() + timeout
    while True:
        counts = statuses(ids)
        now = time.monotonic()
        if sum(counts.get(s, 0) for s in TERMINAL) >= len(ids):
            return now, counts
        if now > deadline:
            raise TimeoutError(f"orders not finished after {timeout}s: {counts}")
        time.sleep(poll)


def run_round(port: int, token: str, n: int, clients: int, timeout: float) -> dict[str, Any]:
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        ids = list(pool.map(lambda i: post_order(port, token, i), range(n)))
    posted = time.monotonic()
    done, counts = wait_terminal(ids, timeout)
    return {
        "orders": n,
        "post_seconds": posted - start,
        "total_seconds": done - start,
        "drain_seconds": done - posted,
        "orders_per_second": n / (done - start),
        "posts_per_second": n / (posted - start),
        "statuses": counts,
        "sample": [str(i) for i in ids[:3]],
    }


def measure(db: str, var_dir: Path, queue: str, token: str, args: argparse.Namespace) -> Any:
    port = support.free_port()
    env = support.service_env(db, "bench.production", var_dir, queue_env(queue))
    celery = [
        str(support.VENV_BIN / "celery"), "-A", "config", "worker",
        "--concurrency", str(args.concurrency), "--loglevel", "WARNING",
        "-Q", queue, "-n", f"{queue}@%h", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    auth = {"Authorization": f"Token {token}"}
    rounds = []
    with (
        support.service("gunicorn", support.gunicorn_argv(port, args.workers), env, var_dir) as web,
        support.service("celery", celery, env, var_dir) as worker,
    ):
        try:
            support.wait_http(f"http://{support.HOST}:{port}/bench/constant/", headers=auth)
            # Warm-up, and proof that the worker is consuming: a few orders end to end.
            warm = [post_order(port, token, -1) for _ in range(args.warmup)]
            wait_terminal(warm, 120)
        except (RuntimeError, TimeoutError):
            print(web.tail(), worker.tail(), sep="\n")
            raise
        for round_no in range(args.rounds):
            gc.collect()
            result = run_round(port, token, args.orders, args.clients, args.timeout)
            codes = [
                support.get_status(f"http://{support.HOST}:{port}/async/orders/{i}/", auth)
                for i in result["sample"]
            ]
            result["sample_status_codes"] = codes
            rounds.append(result)
            print(
                f"# round {round_no + 1}: {result['orders_per_second']:.1f} orders/s end to end"
                f" ({result['total_seconds']:.2f} s; POSTs {result['posts_per_second']:.1f}/s;"
                f" drained {result['drain_seconds']:.2f} s after the last POST;"
                f" {result['statuses']}; GET of 3 of them: {codes})",
                flush=True,
            )
        if "ERROR" in worker.tail(200) or "Traceback" in worker.tail(200):
            print("# worker log:\n" + worker.tail(40))
    return rounds


def report(rounds: list[dict[str, Any]], args: argparse.Namespace) -> str:
    rates = [r["orders_per_second"] for r in rounds]
    posts = [r["posts_per_second"] for r in rounds]
    drains = [r["drain_seconds"] for r in rounds]
    lines = [
        f"{args.orders} orders per round, {args.rounds} rounds, {args.clients} HTTP clients,"
        f" gunicorn {args.workers} sync workers, celery prefork --concurrency={args.concurrency}",
        "",
        "| round | orders/s end to end | total s | POSTs/s | drain after last POST s | statuses |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for i, r in enumerate(rounds, 1):
        lines.append(
            f"| {i} | {r['orders_per_second']:.1f} | {r['total_seconds']:.2f} |"
            f" {r['posts_per_second']:.1f} | {r['drain_seconds']:.2f} | {r['statuses']} |"
        )
    lines += [
        "",
        f"median: {support.median(rates):.1f} orders/s end to end (min..max"
        f" {support.spread(rates)}); POSTs {support.median(posts):.1f}/s;"
        f" drain after the last POST {support.median(drains):.2f} s",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=300, help="orders per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--concurrency", type=int, default=1, help="celery worker processes")
    parser.add_argument("--warmup", type=int, default=10, help="orders before the rounds")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per round, at most")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = parser.parse_args(argv)
    if not 1 <= args.orders <= 20_000 or not 1 <= args.rounds <= 20:
        parser.error("orders must be 1..20000 and rounds 1..20")
    if not 1 <= args.clients <= 64 or not 1 <= args.concurrency <= 8:
        parser.error("clients must be 1..64 and concurrency 1..8")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a Markdown report."""
    args = parse_args(argv)
    support.install_signal_handlers()
    support.header()
    queue = f"bench-e2e-{os.getpid()}-{int(time.time())}"
    try:
        with (
            support.temporary_directory() as var_dir,
            support.temporary_database("bench_asyncrest_e2e") as db,
        ):
            env = support.service_env(db, "bench.production", var_dir, queue_env(queue))
            support.migrate(env)
            token = prepare(db, var_dir, queue)
            try:
                rounds = measure(db, var_dir, queue, token, args)
            finally:
                from django.db import connections

                connections.close_all()
    finally:
        support.delete_queue(queue)
        print(f"# deleted Redis keys of queue {queue}", flush=True)
    print()
    print(report(rounds, args))
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": None}, "rounds": rounds}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
