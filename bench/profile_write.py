"""Where the write path's time goes: cProfile of POSTs, status GETs and a task's events, in process.

Not a benchmark (cProfile slows everything): it shows the share of each part of a request,
to decide what to change and to check a change removed what it meant to (issue 9).
One process, ``bench.ours.settings`` on a fresh PostgreSQL database (event store and read
models in it), Celery publishing to a queue of its own on Redis that is deleted at the end::

    .venv/bin/python -m bench.profile_write                  # POST, GET, 304, task
    .venv/bin/python -m bench.profile_write --part post --top 40
    .venv/bin/python -m bench.profile_write --part post --cpu    # CPU only, no waits
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import support

PARTS = ("post", "get", "304", "task")
_sort = "cumulative"
_clock: Callable[[], float] = time.perf_counter


def setup(db: str, var_dir: Path, queue: str) -> None:
    os.environ.update(
        support.service_env(
            db,
            "bench.ours.settings",
            var_dir,
            {
                "ASYNC_REST_ALLOW_ANONYMOUS": "1",
                "ASYNC_REST_ORDER_RATE": "1000000/min",
                "BENCH_CELERY_QUEUE": queue,
            },
        )
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def token() -> str:
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    user = User.objects.create_user("bench-profile")
    return Token.objects.create(user=user).key


def profiled(label: str, count: int, run: Callable[[], Any], top: int) -> None:
    run()  # warm: first-request imports and prepared statements are not the steady state
    profile = cProfile.Profile(_clock)
    started = time.perf_counter()
    profile.enable()
    for _ in range(count):
        run()
    profile.disable()
    elapsed = time.perf_counter() - started
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out).strip_dirs()
    stats.sort_stats(_sort).print_stats(top)
    print(f"## {label}: {count} in {elapsed:.2f} s under cProfile ({elapsed / count * 1e3:.2f} ms)")
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=PARTS, action="append")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="cumulative", help="pstats key: cumulative, tottime")
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="time this process's CPU only (waits on I/O cost nothing)",
    )
    args = parser.parse_args()
    global _sort, _clock
    _sort = args.sort
    if args.cpu:
        _clock = time.process_time
    parts = args.part or list(PARTS)

    db = support.create_database("bench_profile")
    queue = f"bench-profile-{uuid.uuid4().hex[:8]}"
    try:
        with tempfile.TemporaryDirectory() as var:
            setup(db, Path(var), queue)
            run_parts(parts, args.count, args.top)
    finally:
        support.delete_queue(queue)
        support.drop_database(db)


def run_parts(parts: list[str], count: int, top: int) -> None:
    from django.test import Client

    from bench.ours.tasks import RESOURCE_NAME
    from orders.infrastructure.runtime import get_tracker

    key = token()
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    body = {"context": {"steps": 10, "interval": 0}}

    def post() -> Any:
        answer = client.post(
            f"/async/{RESOURCE_NAME}/order/", body, content_type="application/json"
        )
        assert answer.status_code == 302, answer.content
        return answer

    location = post()["Location"]
    etag = client.get(location)["ETag"]

    if "post" in parts:
        profiled("POST order (token)", count, post, top)
    if "get" in parts:
        profiled("status GET (token)", count * 5, lambda: client.get(location), top)
    if "304" in parts:
        profiled(
            "status GET If-None-Match (token)",
            count * 5,
            lambda: client.get(location, HTTP_IF_NONE_MATCH=etag),
            top,
        )
    if "task" in parts:
        tracker = get_tracker()

        def task() -> None:
            order_id = tracker.place(RESOURCE_NAME, body["context"], None)
            tracker.start(order_id, "bench:1")
            for step in range(1, 11):
                tracker.progress(order_id, step * 10, "working", current=step, total=10)
            tracker.complete(order_id, "/bench/constant/")

        profiled(
            "a task's 13 events, projected (place, start, 10 progress, complete)",
            count // 3,
            task,
            top,
        )


if __name__ == "__main__":
    main()
