"""Target 1: requests/s of the status GET against a one-row TaskResult view, under gunicorn."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import support

ENDPOINTS = ("constant", "taskresult", "status", "status-get", "status-raw", "status-304")
# What each endpoint is, for the report.
DESCRIPTIONS = {
    "constant": "DRF APIView returning a constant dict (no query)",
    "taskresult": "DRF APIView, TaskResult.objects.get(task_id=...) (unique index), 4-key dict",
    "status": "the project's GET /async/orders/<uuid>/ (api.views.OrderView), unchanged",
    "status-get": "bench copy of OrderView whose summary lookup uses .get(), not .first()",
    "status-raw": "bench copy of OrderView whose summary lookup is one fixed SQL via .raw()",
    "status-304": "the project's status view again, polled with If-None-Match: <its ETag>"
    " (answers 304 Not Modified, no body)",
}
VARIANTS = ("status-get", "status-raw")


def prepare(db: str, var_dir: Path, fill: int) -> dict[str, str]:
    """Create the user, token, measured order and baseline row, and ``fill`` rows in each table.

    Runs Django in this process (production settings), on the database the server will use.
    """
    os.environ.update(support.service_env(db, "bench.production", var_dir))
    import django

    django.setup()
    from datetime import UTC, datetime
    from uuid import uuid4

    from django.contrib.auth.models import User
    from django.db import connection, connections
    from rest_framework.authtoken.models import Token

    from bench.baseline.models import TaskResult
    from orders.infrastructure.runtime import get_tracker, set_tracker
    from projections.models import OrderSummary

    user = User.objects.create_user("bench", password=None)
    token = Token.objects.create(user=user)
    tracker = get_tracker()  # with the projections listener, as in the web and worker processes

    def running_order(owner: str | None) -> str:
        order_id = tracker.place("bench-status", {"n": 1, "label": "a small context"}, owner)
        tracker.start(order_id, "bench-worker:1")
        tracker.progress(order_id, 50, "Halfway there", current=500, total=1000)
        return str(order_id)

    owned = running_order(str(user.pk))
    anonymous = running_order(None)
    task_id = str(uuid4())
    TaskResult.objects.create(
        task_id=task_id,
        task_name="bench.noop",
        status="STARTED",
        result={"progress": 50, "message": "Halfway there", "current": 500, "total": 1000},
    )
    now = datetime.now(UTC)
    OrderSummary.objects.bulk_create(
        (
            OrderSummary(
                order_id=uuid4(), resource_name="bench-fill", status="completed", progress=100,
                context={}, owner=str(user.pk), created=now, updated=now, version=3,
            )
            for _ in range(fill)
        ),
        batch_size=2000,
    )  # fmt: skip
    TaskResult.objects.bulk_create(
        (
            TaskResult(task_id=str(uuid4()), task_name="bench.noop", status="SUCCESS", result=1)
            for _ in range(fill)
        ),
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    tracker.close()
    set_tracker(None)  # drop it now, not at interpreter exit
    gc.collect()
    connections.close_all()
    return {"token": token.key, "owned": owned, "anonymous": anonymous, "task_id": task_id}


def measure_mode(
    mode: str,
    db: str,
    var_dir: Path,
    fixture: dict[str, str],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Start gunicorn in ``mode`` and run the interleaved wrk rounds against it."""
    if mode == "production":
        settings_module, extra = "bench.production", {}
        headers = {"Authorization": f"Token {fixture['token']}"}
        order_id = fixture["owned"]
    else:
        settings_module, extra = "bench.settings", {"ASYNC_REST_ALLOW_ANONYMOUS": "y"}
        headers = {}
        order_id = fixture["anonymous"]
    port = support.free_port()
    base = f"http://{support.HOST}:{port}"
    urls = {
        "constant": f"{base}/bench/constant/",
        "taskresult": f"{base}/bench/taskresult/{fixture['task_id']}/",
        "status": f"{base}/async/orders/{order_id}/",
        "status-get": f"{base}/bench/status-get/{order_id}/",
        "status-raw": f"{base}/bench/status-raw/{order_id}/",
        "status-304": f"{base}/async/orders/{order_id}/",
    }
    env = support.service_env(db, settings_module, var_dir, extra)
    argv = support.gunicorn_argv(port, workers=args.workers)
    results: dict[str, list[support.WrkResult]] = {name: [] for name in ENDPOINTS}
    with support.service(f"gunicorn-{mode}", argv, env, var_dir) as web:
        try:
            support.wait_http(urls["constant"], headers=headers)
        except RuntimeError:
            print(web.tail(), file=sys.stderr)
            raise
        answers = {name: support.fetch(url, headers) for name, url in urls.items()}
        etag = answers["status"][1].get("ETag", "")
        extra_headers = {name: dict(headers) for name in ENDPOINTS}
        extra_headers["status-304"]["If-None-Match"] = etag
        answers["status-304"] = support.fetch(urls["status-304"], extra_headers["status-304"])
        codes = {name: answer[0] for name, answer in answers.items()}
        print(f"# {mode}: HTTP status per endpoint {codes}", flush=True)
        expected = {"constant": 200, "taskresult": 200, "status-304": 304}
        expected |= {name: 202 for name in ("status", *VARIANTS)}
        if codes != expected or not etag:
            print(web.tail(60), file=sys.stderr)
            raise RuntimeError(f"unexpected status codes {codes} (ETag {etag!r})")
        compared = ("ETag", "Retry-After", "Location", "Content-Type")
        reference = (
            json.loads(answers["status"][2]),
            {h: answers["status"][1].get(h) for h in compared},
        )
        for name in VARIANTS:
            _, variant_headers, body = answers[name]
            if (json.loads(body), {h: variant_headers.get(h) for h in compared}) != reference:
                raise RuntimeError(f"{name} does not answer what the status view does")
        for name in ENDPOINTS:  # warm-up: imports, connections, caches
            support.wrk(urls[name], connections=args.connections, duration=args.warmup,
                        threads=args.threads, headers=extra_headers[name])  # fmt: skip
        for round_no in range(args.rounds):
            shift = round_no % len(ENDPOINTS)
            for name in ENDPOINTS[shift:] + ENDPOINTS[:shift]:
                result = support.wrk(
                    urls[name], threads=args.threads, connections=args.connections,
                    duration=args.duration, headers=extra_headers[name],
                )  # fmt: skip
                results[name].append(result)
                print(
                    f"# {mode} round {round_no + 1} {name}: {result.requests_per_second:.1f} req/s"
                    f" (p50 {result.latency_p50_ms:.2f} ms, non-2xx {result.non_2xx_3xx},"
                    f" socket errors {result.socket_errors})",
                    flush=True,
                )
    rps = {name: [r.requests_per_second for r in rs] for name, rs in results.items()}
    ratios = {
        f"{a}/{b}": [rps[a][i] / rps[b][i] for i in range(args.rounds)]
        for a, b in [
            *((name, "constant") for name in ENDPOINTS[1:]),
            *((name, "taskresult") for name in ENDPOINTS[2:]),
            *((name, "status") for name in ENDPOINTS[3:]),
        ]
    }
    return {
        "mode": mode,
        "settings": settings_module,
        "auth": "token" if headers else "anonymous",
        "urls": urls,
        "rps": rps,
        "ratios": ratios,
        "wrk": {name: [asdict(r) for r in rs] for name, rs in results.items()},
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"### {result['mode']} ({result['settings']}, {result['auth']})",
        "",
        "| endpoint | median req/s | min..max | median p50 latency (ms) | ratio to constant |",
        "|---|---:|---|---:|---:|",
    ]
    const = support.median(result["rps"]["constant"])
    for name in ENDPOINTS:
        values = result["rps"][name]
        p50 = support.median([w["latency_p50_ms"] for w in result["wrk"][name]])
        ratio = (
            "1.00"
            if name == "constant"
            else f"{support.median(result['ratios'][f'{name}/constant']):.3f}"
        )
        lines.append(
            f"| {name} | {support.median(values):.1f} | {support.spread(values)} | {p50:.2f} |"
            f" {ratio} |"
        )
    head = support.median(result["ratios"]["status/taskresult"])
    per_round = ", ".join(f"{r:.3f}" for r in result["ratios"]["status/taskresult"])
    verdict = "MET" if head >= 1.0 else "NOT MET"
    lines += [
        "",
        f"status / taskresult, per round: {per_round}; median {head:.3f} -> target {verdict}"
        f" (median constant: {const:.1f} req/s)",
    ]
    for name in [f"{v}/{b}" for v in (*VARIANTS, "status-304") for b in ("taskresult", "status")]:
        values = result["ratios"][name]
        lines.append(
            f"{name.replace('/', ' / ')}, per round: {', '.join(f'{r:.3f}' for r in values)};"
            f" median {support.median(values):.3f}"
        )
    errors = sum(w["non_2xx_3xx"] + w["socket_errors"] for ws in result["wrk"].values() for w in ws)
    lines.append(f"non-2xx/3xx responses + socket errors over all runs: {errors}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of wrk per endpoint")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--fill", type=int, default=10_000, help="extra rows in each table")
    parser.add_argument(
        "--modes", default="production,anonymous", help="production (token) and/or anonymous"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 50 or not 1 <= args.duration <= 120:
        parser.error("rounds must be 1..50 and duration 1..120 s")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a Markdown report."""
    args = parse_args(argv)
    support.install_signal_handlers()
    support.header()
    results = []
    with (
        support.temporary_directory() as var_dir,
        support.temporary_database("bench_asyncrest_status") as db,
    ):
        support.migrate(support.service_env(db, "bench.production", var_dir))
        fixture = prepare(db, var_dir, args.fill)
        for mode in args.modes.split(","):
            results.append(measure_mode(mode.strip(), db, var_dir, fixture, args))
    print()
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, {args.rounds} rounds"
        f" (endpoint order rotated each round), gunicorn {args.workers} sync workers,"
        f" {args.fill} extra rows per table"
    )
    for name in ENDPOINTS:
        print(f"- {name}: {DESCRIPTIONS[name]}")
    for result in results:
        print()
        print(report(result))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
