"""Target 1, complement: CPU per status GET in the web process, through Django's WSGI handler."""

from __future__ import annotations

import argparse
import io
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bench import support
from bench.status_get import DESCRIPTIONS, ENDPOINTS, prepare

Answer = tuple[str, list[tuple[str, str]]]


def wsgi_caller(
    app: Callable[..., Iterable[bytes]], path: str, headers: dict[str, str]
) -> Callable[[], Answer]:
    """A function that runs one GET of ``path`` through ``app``: its status line and headers."""
    base = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": support.HOST,
        "SERVER_PORT": "8000",
        "HTTP_HOST": f"{support.HOST}:8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()},
    }

    def call() -> Answer:
        status: list[Answer] = []
        environ = dict(base, **{"wsgi.input": io.BytesIO(b"")})
        body = app(environ, lambda s, h, *exc: status.append((s, h)))
        b"".join(body)
        close = getattr(body, "close", None)
        if close is not None:
            close()  # runs request_finished, as a real server does
        return status[0]

    return call


def measure(fixture: dict[str, str], mode: str, args: argparse.Namespace) -> dict[str, Any]:
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    if mode == "anonymous":
        # The server would run config.settings with ASYNC_REST_ALLOW_ANONYMOUS=y; here only
        # the flag differs from production (it is read per request).
        settings.ASYNC_REST["ALLOW_ANONYMOUS"] = True
        headers: dict[str, str] = {}
        order_id = fixture["anonymous"]
    else:
        settings.ASYNC_REST["ALLOW_ANONYMOUS"] = False
        headers = {"Authorization": f"Token {fixture['token']}"}
        order_id = fixture["owned"]
    app = WSGIHandler()
    paths = {
        "constant": "/bench/constant/",
        "taskresult": f"/bench/taskresult/{fixture['task_id']}/",
        "status": f"/async/orders/{order_id}/",
        "status-get": f"/bench/status-get/{order_id}/",
        "status-raw": f"/bench/status-raw/{order_id}/",
        "status-304": f"/async/orders/{order_id}/",
    }
    _, status_headers = wsgi_caller(app, paths["status"], headers)()
    etag = dict(status_headers)["ETag"]
    calls = {
        name: wsgi_caller(
            app, path, {**headers, "If-None-Match": etag} if name == "status-304" else headers
        )
        for name, path in paths.items()
    }
    codes = {name: call()[0][:3] for name, call in calls.items()}
    if codes["status-304"] != "304" or codes["status"] != "202":
        raise RuntimeError(f"unexpected answers {codes}")
    cpu: dict[str, list[float]] = {name: [] for name in ENDPOINTS}
    for name in ENDPOINTS:  # warm-up
        for _ in range(50):
            calls[name]()
    for round_no in range(args.rounds):
        shift = round_no % len(ENDPOINTS)
        for name in ENDPOINTS[shift:] + ENDPOINTS[:shift]:
            call = calls[name]
            started = time.process_time()
            for _ in range(args.requests):
                call()
            cpu[name].append((time.process_time() - started) / args.requests * 1e6)
    return {"mode": mode, "codes": codes, "cpu_us": cpu}


def report(result: dict[str, Any], args: argparse.Namespace) -> str:
    cpu = result["cpu_us"]
    lines = [
        f"### {result['mode']}: CPU of this process per request (µs), {args.requests} requests"
        f" x {args.rounds} rounds",
        "",
        "| endpoint | median CPU µs/request | min..max | per-round ratio to taskresult (median) |",
        "|---|---:|---|---:|",
    ]
    for name in ENDPOINTS:
        ratio = support.median([a / b for a, b in zip(cpu[name], cpu["taskresult"], strict=True)])
        lines.append(
            f"| {name} | {support.median(cpu[name]):.0f} | {support.spread(cpu[name])} |"
            f" {ratio:.3f} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=300, help="requests per endpoint/round")
    parser.add_argument("--fill", type=int, default=10_000, help="extra rows in each table")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 100 or not 1 <= args.requests <= 100_000:
        parser.error("rounds must be 1..100 and requests 1..100000")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a Markdown report."""
    args = parse_args(argv)
    support.install_signal_handlers()
    support.header()
    results = []
    with (
        support.temporary_directory() as var_dir,
        support.temporary_database("bench_asyncrest_cpu") as db,
    ):
        support.migrate(support.service_env(db, "bench.production", var_dir))
        fixture = prepare(db, var_dir, args.fill)  # Django now runs here, production settings
        try:
            for mode in ("production", "anonymous"):
                results.append(measure(fixture, mode, args))
        finally:
            from django.db import connections

            connections.close_all()
    print()
    print("In process, no server: Django's WSGIHandler (all middleware) called directly;")
    print("CPU time of this process only (not PostgreSQL's), so other load matters less.")
    for name in ENDPOINTS:
        print(f"- {name}: {DESCRIPTIONS[name]}")
    for result in results:
        print()
        print(report(result, args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
