"""async-rest side by side with DRF + Celery + django-celery-results (issue 9), one at a time.

Each round runs one session per system (which goes first alternates): gunicorn with the
same workers, then its Celery worker with the same concurrency, on its own fresh
PostgreSQL database and Redis queue; the other system is stopped meanwhile. Ratios are
medians of per-round ratios (bench/peer_report.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
import uuid
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from bench import peer_load as load
from bench import peer_report, support
from bench.peer_systems import (
    DESIGNS,
    OURS,
    Deployment,
    auth,
    cpu,
    deploy,
    quiesce,
    remove,
    web,
    worker,
)
from bench.steps import release_file

HELD_STEPS = 5  # progress reports of the order whose status GET is timed


def post_figure(port: int, dep: Deployment, args: argparse.Namespace, svc: Any) -> dict[str, Any]:
    """POSTs/s with the web alone: the tasks sent are deleted unrun, for both systems alike."""
    params = {"steps": args.steps}
    load.wrk_post(port, dep, params, args.warmup, args.connections)
    before = cpu(svc)
    result = load.wrk_post(port, dep, params, args.post_seconds, args.connections)
    web_cpu = cpu(svc) - before
    return asdict(result) | {"web_cpu_ms_per_request": 1000 * web_cpu / max(1, result.requests)}


def get_endpoints(
    port: int, dep: Deployment, held: dict[str, str]
) -> dict[str, tuple[str, dict[str, str], int]]:
    """The timed GETs: ``name -> (path, headers, expected status)``, answers checked."""
    token = auth(dep)
    constant = dep.design.constant_path
    endpoints = {
        "status-anon": (held["anonymous"], {}, 202),
        "constant-anon": (constant, {}, 200),
        "status-token": (held["token"], token, 202),
        "constant-token": (constant, token, 200),
    }
    if dep.design.etag:
        _, headers, _ = load.request(port, "GET", held["token"], token)
        etag = headers.get("ETag", "")
        endpoints["status-304"] = (held["token"], {**token, "If-None-Match": etag}, 304)
    for name, (path, headers, expected) in endpoints.items():
        code, _, body = load.request(port, "GET", path, headers)
        if code != expected:
            raise RuntimeError(f"{dep.design.name} {name}: {code}, not {expected}: {body[:300]!r}")
    return endpoints


def get_figures(
    port: int, dep: Deployment, args: argparse.Namespace, round_no: int, svc: Any
) -> dict[str, Any]:
    """wrk on the status GET of a running order (anonymous, token, 304) and the constant view."""
    tokens = {who: uuid.uuid4().hex for who in ("token", "anonymous")}
    files = [release_file(t) for t in tokens.values()]
    hold_max = 5 * (args.get_rounds * args.get_seconds + args.warmup) + 120
    held: dict[str, str] = {}
    try:
        for who, hold in tokens.items():
            anonymous = who == "anonymous" and dep.design.anonymous_place
            params = {"steps": HELD_STEPS, "hold": hold, "hold_max": hold_max}
            held[who] = load.place(port, dep, params, anonymous=anonymous)
        for who, path in held.items():
            headers = {} if who == "anonymous" else auth(dep)
            load.poll_until_step(port, dep, path, headers, HELD_STEPS, load.ORDER_TIMEOUT)
        endpoints = get_endpoints(port, dep, held)
        names = list(endpoints)
        for name in names:  # warm-up
            path, headers, _ = endpoints[name]
            url = f"http://{support.HOST}:{port}{path}"
            support.wrk(url, connections=args.connections, duration=args.warmup, headers=headers)
        # Short runs, the endpoints rotated in each: a burst of other work on the machine
        # then weighs on one pass of every endpoint rather than on one endpoint.
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for sub_round in range(args.get_rounds):
            shift = (round_no + sub_round) % len(names)
            for name in names[shift:] + names[:shift]:
                path, headers, _ = endpoints[name]
                url = f"http://{support.HOST}:{port}{path}"
                before = cpu(svc)
                run = support.wrk(
                    url, connections=args.connections, duration=args.get_seconds, headers=headers
                )
                used = cpu(svc) - before  # less swayed by other work on the machine than req/s
                per_request = 1000 * used / max(1, run.requests)
                results[name].append(asdict(run) | {"web_cpu_ms_per_request": per_request})
        sizes = {
            name: len(load.request(port, "GET", p, h)[2]) for name, (p, h, _) in endpoints.items()
        }
    finally:
        for release in files:
            release.touch()
    try:
        for who, path in held.items():  # the held orders end now: nothing is left running
            load.poll_until_done(port, path, {} if who == "anonymous" else auth(dep), 0.1)
    finally:
        for release in files:
            release.unlink(missing_ok=True)
    return {"wrk": results, "body_bytes": sizes}


def session(dep: Deployment, args: argparse.Namespace, log_dir: Path, round_no: int) -> Any:
    """Start one system, take every figure of it, stop it; the figures."""
    name = dep.design.name
    load_avg = os.getloadavg()[0]
    print(f"# round {round_no + 1}: {name} (load average {load_avg:.2f})", flush=True)
    port = support.free_port()
    figures: dict[str, Any] = {"load_average": load_avg}
    with web(dep, port, args.workers, log_dir) as http_svc:
        figures["post"] = post_figure(port, dep, args, http_svc)
        support.delete_queue(dep.queue)  # the POSTed tasks: never run, by either system
        with worker(dep, args.concurrency, log_dir) as celery_svc:
            try:
                warm = [load.place(port, dep, {"steps": args.steps}) for _ in range(3)]
                for path in warm:  # proof that the worker consumes
                    load.poll_until_done(port, path, auth(dep), 0.05)
            except (RuntimeError, TimeoutError):
                print(http_svc.tail(), celery_svc.tail(), sep="\n", flush=True)
                raise
            figures["quiesce_seconds"] = quiesce(http_svc, celery_svc)
            before = cpu(http_svc), cpu(celery_svc)
            e2e = load.end_to_end(
                port, dep, {"steps": args.steps}, args.clients, args.e2e_seconds, args.poll,
                args.max_orders,
            )  # fmt: skip
            web_cpu, worker_cpu = cpu(http_svc) - before[0], cpu(celery_svc) - before[1]
            figures["e2e"] = asdict(e2e) | {
                "web_cpu_ms_per_order": 1000 * web_cpu / e2e.orders,
                "worker_cpu_ms_per_order": 1000 * worker_cpu / e2e.orders,
            }
            seen = load.visibility(port, dep, args.events, args.event_interval)
            figures["visibility"] = asdict(seen)
            figures["get"] = get_figures(port, dep, args, round_no, http_svc)
            if "Traceback" in celery_svc.tail(400):
                print(f"# {name} worker log:\n{celery_svc.tail(40)}", flush=True)
    print(f"# round {round_no + 1}: {name}: {peer_report.one_line(figures)}", flush=True)
    return figures


QUICK = {
    "rounds": 1, "post_seconds": 3, "e2e_seconds": 4, "get_seconds": 1, "get_rounds": 2,
    "warmup": 1,
    "events": 40, "max_orders": 300,
}  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a ~2 minute smoke run")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--concurrency", type=int, default=2, help="celery worker processes")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--warmup", type=int, default=2, help="wrk seconds before each figure")
    parser.add_argument("--post-seconds", type=int, default=8)
    parser.add_argument("--get-seconds", type=int, default=2, help="wrk seconds per GET run")
    parser.add_argument("--get-rounds", type=int, default=3, help="GET runs per endpoint")
    parser.add_argument("--steps", type=int, default=10, help="progress reports per order")
    # Enough clients, polling often enough, that the servers and not the clients set the
    # rate: 6 clients polling every 0.1 s held both systems at ~55 orders/s (2026-12-04).
    parser.add_argument("--clients", type=int, default=24, help="closed-loop order clients")
    parser.add_argument("--e2e-seconds", type=float, default=12)
    parser.add_argument("--poll", type=float, default=0.05, help="s between a client's GETs")
    parser.add_argument("--max-orders", type=int, default=4000, help="per end-to-end run")
    parser.add_argument("--events", type=int, default=100, help="stamped reports per session")
    parser.add_argument("--event-interval", type=float, default=0.02, help="s between them")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw figures")
    parser.add_argument(
        "--ours-env",
        action="append",
        default=[],
        metavar="ASYNC_REST_NAME=VALUE",
        help="a setting of async-rest's processes (e.g. ASYNC_REST_PROGRESS_BATCH_WINDOW=0)",
    )
    args = parser.parse_args(argv)
    for item in args.ours_env:
        name, sep, _ = item.partition("=")
        if not sep or not name.startswith("ASYNC_REST_"):
            parser.error(f"--ours-env takes ASYNC_REST_NAME=VALUE, not {item!r}")
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    if not 1 <= args.rounds <= 20 or not 1 <= args.get_rounds <= 20:
        parser.error("rounds and get-rounds must be 1..20")
    if not 1 <= args.concurrency <= 8 or not 1 <= args.clients <= 64:
        parser.error("concurrency must be 1..8 and clients 1..64")
    if max(args.post_seconds, args.get_seconds, args.e2e_seconds) > 120:
        parser.error("each figure runs at most 120 s")
    if not 1 <= args.steps <= 1000 or not 1 <= args.events <= 1000:
        parser.error("steps and events must be 1..1000")
    if not 0 < args.event_interval <= 1 or not 0 <= args.poll <= 1:
        parser.error("event-interval must be in (0, 1] s and poll in [0, 1] s")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a Markdown report."""
    args = parse_args(argv)
    support.install_signal_handlers()
    support.header()
    started = time.monotonic()
    deployments: list[Deployment] = []
    rounds: list[dict[str, Any]] = []
    with support.temporary_directory() as var_dir:
        try:
            ours_env = dict(item.partition("=")[::2] for item in args.ours_env)
            for design in DESIGNS:
                if design is OURS and ours_env:
                    design = replace(design, env={**design.env, **ours_env})
                deployments.append(deploy(design, var_dir))
            for round_no in range(args.rounds):
                order = deployments if round_no % 2 == 0 else deployments[::-1]
                rounds.append(
                    {dep.design.name: session(dep, args, var_dir, round_no) for dep in order}
                )
        finally:
            for dep in deployments:
                with contextlib.suppress(Exception):
                    remove(dep)
            print(f"# removed {len(deployments)} databases and their queues", flush=True)
    print()
    print(peer_report.report(rounds, args, time.monotonic() - started))
    if args.json:
        raw = {"args": vars(args) | {"json": None}, "rounds": rounds}
        args.json.write_text(json.dumps(raw, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
